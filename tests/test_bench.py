"""`transfer-scaling bench train` and the PyTorch reference it is compared with."""
import json
import os
import sys

import pytest

from transfer_scaling import cli, ladder
from transfer_scaling.model import ModelConfig

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
TINY = ["--d-model", "32", "--n-layers", "1", "--batch", "2", "--seq-len", "16", "--steps", "2"]


@pytest.mark.parametrize("step", ["engine", pytest.param("minimal", marks=pytest.mark.slow)])
def test_bench_train_writes_json_with_the_keys(tmp_path, step):
  out = tmp_path / "bench.json"
  assert cli.main(["bench", "train", *TINY, "--members", "2", "--step", step, "--json", str(out)]) == 0
  r = json.loads(out.read_text())
  assert {"tokens_per_s", "step_ms", "n_params", "device"} <= set(r)
  assert r["n_params"] == ladder.n_params(ModelConfig(d_model=32, n_layers=1, n_heads=1, seq_len=16))
  assert r["tokens_per_s"] > 0 and r["step_ms"] > 0 and r["members"] == 2
  # tokens/s counts every member's tokens of one step.
  assert r["tokens_per_s"] == pytest.approx(2 * 2 * 16 / (r["step_ms"] / 1e3), rel=1e-6)
  assert 5.0 < r["loss"] < 6.0  # random bytes: about ln(256) = 5.55 nats


def test_bench_rejects_bad_input_with_exit_code_2(capsys):
  assert cli.main(["bench", "train", "--d-model", "30", "--n-layers", "1", "--n-heads", "4"]) == 2
  assert "does not divide" in capsys.readouterr().err
  assert cli.main(["bench", "train", "--d-model", "32", "--n-layers", "0"]) == 2
  assert "--n-layers must be at least 1" in capsys.readouterr().err
  assert cli.main(["bench", "infer"]) == 2
  assert "bench train" in capsys.readouterr().err


@pytest.mark.parametrize("d_model,n_layers,n_heads", [(32, 1, 1), (64, 2, 2), (96, 3, 6)])
def test_torch_reference_has_the_same_parameter_count(d_model, n_layers, n_heads):
  pytest.importorskip("torch")
  sys.path.insert(0, BENCHMARKS)
  import torch_reference
  cfg = ModelConfig(d_model=d_model, n_layers=n_layers, n_heads=n_heads)
  model = torch_reference.Transformer(d_model, n_layers, n_heads, cfg.seq_len)
  assert model.count_params() == ladder.n_params(cfg)
  assert model.count_params(non_embedding=False) == ladder.n_params(cfg, non_embedding=False)


@pytest.mark.parametrize("n,batch,cores,want", [(0, 8, 2, 2), (0, 9, 2, 1), (0, 12, 8, 6), (0, 0, 4, 4), (3, 8, 2, 3)])
def test_cpu_device_count_divides_the_batch(n, batch, cores, want):
  from transfer_scaling.train import mesh
  assert mesh.cpu_device_count(n, batch, cores) == want


@pytest.mark.slow
def test_bench_splits_the_batch_over_cpu_devices_with_the_same_loss(tmp_path):
  # A fresh process: the device count is fixed when JAX starts.
  import subprocess
  env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_NUM_CPU_DEVICES")}
  losses = {}
  for n in (1, 2):
    out = tmp_path / f"bench{n}.json"
    subprocess.run([sys.executable, "-m", "transfer_scaling.cli", "bench", "train", *TINY, "--cpu-devices", str(n),
                    "--json", str(out)], check=True, env=env, capture_output=True)
    r = json.loads(out.read_text())
    assert r["devices"] == n
    losses[n] = r["loss"]
  assert losses[2] == pytest.approx(losses[1], rel=1e-5)
