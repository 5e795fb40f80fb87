"""Data parallelism and preemption in subprocesses: 8 simulated devices, two processes, SIGKILL + resume."""
import json
import os
import random
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from transfer_scaling import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--config.model.size=", "--config.model.d_model=16", "--config.model.seq_len=16",
        "--config.train.batch_size=8", "--config.train.eval_every=10", "--config.train.steps_per_call=5",
        "--config.train.tensorboard=False", "--config.train.log_every=1",
        "--config.seeds=(0,1)", "--config.lrs=(3e-3,1e-2)"]


def env(tmp_cache, devices=1):
  e = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu", JAX_COMPILATION_CACHE_DIR=str(tmp_cache))
  e["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
  return e


def train_cmd(workdir, *extra):
  return [sys.executable, "-m", "transfer_scaling.cli", "train", "--workdir", str(workdir), *TINY, *extra]


def losses(workdir, kind="train"):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    rows = [r for r in map(json.loads, f) if r["kind"] == kind]
  return np.array([r["step"] for r in rows]), np.array([r["loss"] for r in rows], dtype=float)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
  return tmp_path_factory.mktemp("jax_cache")


@pytest.mark.slow
def test_eight_devices_match_one(tmp_path, cache):
  """Two members on eight CPU devices: one member on each of two devices; a batch is never split."""
  steps = ["--config.train.max_steps=20", "--config.train.batch_size=12"]
  assert cli.main(["train", "--workdir", str(tmp_path / "one"), *TINY, *steps]) == 0
  run = subprocess.run(train_cmd(tmp_path / "eight", *steps), env=env(cache, 8), capture_output=True,
                       text=True, timeout=300)
  assert run.returncode == 0, run.stderr[-2000:]
  s1, l1 = losses(tmp_path / "one")
  s8, l8 = losses(tmp_path / "eight")
  assert list(s1) == list(s8) == list(range(1, 21))
  np.testing.assert_allclose(l8, l1, rtol=1e-5)
  np.testing.assert_allclose(losses(tmp_path / "eight", "eval")[1], losses(tmp_path / "one", "eval")[1], rtol=1e-5)


@pytest.mark.slow
def test_members_split_over_devices_match_one_device(tmp_path, cache):
  """Two members on two devices train member parallel: a batch of 5 (not divisible by 2) is fine."""
  steps = ["--config.train.max_steps=20", "--config.train.batch_size=5"]
  assert cli.main(["train", "--workdir", str(tmp_path / "one"), *TINY, *steps]) == 0
  cmd = train_cmd(tmp_path / "split", *steps)
  run = subprocess.run(cmd, env=env(cache, 2), capture_output=True, text=True, timeout=300)
  assert run.returncode == 0, run.stderr[-2000:]
  for kind in ("train", "eval"):
    s1, l1 = losses(tmp_path / "one", kind)
    s2, l2 = losses(tmp_path / "split", kind)
    assert list(s1) == list(s2)
    np.testing.assert_allclose(l2, l1, rtol=1e-5)
  results = (tmp_path / "split" / "results.json").read_text()
  again = subprocess.run(cmd, env=env(cache, 2), capture_output=True, text=True, timeout=300)  # restores, split
  assert again.returncode == 0, again.stderr[-2000:]
  assert json.loads((tmp_path / "split" / "results.json").read_text())[0]["valid_loss"] == \
      json.loads(results)[0]["valid_loss"]


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def run_two_processes(workdir, cache, *extra):
  port = free_port()
  procs = [subprocess.Popen(train_cmd(workdir, *extra, f"--coordinator=127.0.0.1:{port}",
                                      "--num-processes=2", f"--process-id={i}"),
                            env=env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for i in range(2)]
  outs = [p.communicate(timeout=400) for p in procs]
  assert [p.returncode for p in procs] == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
  return outs


# Three members do not divide over two processes (data parallel: batch split, gradients
# all-reduced); two do (member parallel: one member per process, and a batch of 5 is fine).
@pytest.mark.slow
@pytest.mark.parametrize("layout", [["--config.seeds=(0,1,2)", "--config.lrs=(3e-3,)"],
                                    ["--config.train.batch_size=5"]], ids=["data", "member"])
def test_two_processes_match_one(tmp_path, cache, layout):
  steps = ["--config.train.max_steps=20", "--config.train.ckpt_every=10", *layout]
  assert cli.main(["train", "--workdir", str(tmp_path / "one"), *TINY, *steps]) == 0
  outs = run_two_processes(tmp_path / "two", cache, *steps)
  assert "member1: valid_loss=" in outs[0][0] and "valid_loss" not in outs[1][0]  # only process 0 reports
  for kind in ("train", "eval"):
    np.testing.assert_allclose(losses(tmp_path / "two", kind)[1], losses(tmp_path / "one", kind)[1], rtol=1e-5)
  assert sorted(os.listdir(tmp_path / "two" / "ckpt")) == ["10", "20"]
  results = json.loads((tmp_path / "two" / "results.json").read_text())
  want = json.loads((tmp_path / "one" / "results.json").read_text())
  assert [r["valid_loss"] for r in results] == pytest.approx([r["valid_loss"] for r in want], rel=1e-5)
  run_two_processes(tmp_path / "two", cache, *steps)  # restores the finished run from its checkpoint
  assert json.loads((tmp_path / "two" / "results.json").read_text())[1]["valid_loss"] == results[1]["valid_loss"]


# Runs the CLI's training with a batch provider that SIGKILLs its own process when asked for
# the batch of step argv[2]; batches are built in a thread one chunk ahead, so the kill lands
# wherever the main thread is: inside a jitted chunk, logging, or an async checkpoint save.
KILLER = """
import os, signal, sys
from transfer_scaling.config import load_config
from transfer_scaling.commands import train as train_cmd
from transfer_scaling.train import engine
config = load_config("train", sys.argv[3:])
spec, loop = train_cmd.spec_from_config(config)
inner = train_cmd.batches_from_config(config, spec)
class Killing:
  def train_batch(self, step):
    if step == int(sys.argv[2]):
      os.kill(os.getpid(), signal.SIGKILL)
    return inner.train_batch(step)
  def valid_batches(self):
    return inner.valid_batches()
  def test_batches(self):
    return inner.test_batches()
  def identity(self):
    return inner.identity()
engine.train_ensemble(spec, Killing(), sys.argv[1], loop=loop)
"""


def test_sigkill_at_random_step_then_resume_is_exact(tmp_path, cache):
  steps = ["--config.train.max_steps=60", "--config.train.ckpt_every=10"]
  assert cli.main(["train", "--workdir", str(tmp_path / "full"), *TINY, *steps]) == 0
  # From step 25 on, the save of step 10 has been waited for (orbax waits before the next save).
  kill_at = random.Random(os.getpid()).randint(26, 58)
  cut = tmp_path / "cut"
  killed = subprocess.run([sys.executable, "-c", KILLER, str(cut), str(kill_at), *TINY, *steps],
                          env=env(cache), capture_output=True, text=True, timeout=300)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  assert len(losses(cut)[0]) < 60
  resumed = subprocess.run(train_cmd(cut, *steps, "--resume"), env=env(cache), capture_output=True,
                           text=True, timeout=300)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  s_full, l_full = losses(tmp_path / "full")
  s_cut, l_cut = losses(cut)
  assert list(s_cut) == list(s_full) == list(range(1, 61))
  np.testing.assert_array_equal(l_cut, l_full)
  np.testing.assert_array_equal(losses(cut, "eval")[1], losses(tmp_path / "full", "eval")[1])
