"""Run identity across device layouts, on 2 CPU devices: an odd ensemble trains, a layout is kept.

This process has one CPU device (conftest.py); the 2-device runs are subprocesses.
"""
import dataclasses
import os
import subprocess
import sys

import pytest

from transfer_scaling import cli
from transfer_scaling.errors import UsageError
from transfer_scaling.study import runner, workdir as workdir_lib

import test_train_engine as te

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Three members with a checkpoint at step 10 of 20: on 2 devices, blocks of two, the last one
# padded with an empty slot.
TRAIN = """
import dataclasses, sys
import test_train_engine as te
spec = te.make_spec(te.members((0, 3e-3), (1, 1e-2), (2, 3e-3)), max_steps=20)
loop = dataclasses.replace(te.LOOP, ckpt_every=10)
for r in te.train(spec, te.batches_for(spec), sys.argv[1], loop=loop):
  print(r.valid_loss, r.test_loss, r.best_step, r.status)
"""


def _train(workdir, devices: int):
  env = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, HERE, os.environ.get("PYTHONPATH", "")]),
         "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}
  return subprocess.run([sys.executable, "-c", TRAIN, str(workdir)], env=env, capture_output=True, text=True,
                        timeout=600)


def test_an_odd_ensemble_trains_on_two_devices_and_its_checkpoint_keeps_its_layout(tmp_path):
  first = _train(tmp_path / "w", 2)
  assert first.returncode == 0, first.stderr[-3000:]
  assert len(first.stdout.split("\n")) == 4  # three results
  again = _train(tmp_path / "w", 2)  # restores the finished run on the layout that trained it
  assert again.returncode == 0 and again.stdout == first.stdout, again.stderr[-3000:]
  # The same workdir in this one-device process: refused in one line, nothing retrained.
  spec = te.make_spec(te.members((0, 3e-3), (1, 1e-2), (2, 3e-3)), max_steps=20)
  with pytest.raises(UsageError, match="checkpointed on the device layout cpu, 2 devices, one member per device, "
                                       "this process has cpu, 1 device, one member per device; resume it on"):
    te.train(spec, te.batches_for(spec), str(tmp_path / "w"), loop=dataclasses.replace(te.LOOP, ckpt_every=10))


def test_a_study_keeps_the_device_count_it_started_on(tmp_path, capsys):
  w = str(tmp_path / "w")
  workdir_lib.pin_devices(w, {"backend": "cpu", "devices": 2})
  assert workdir_lib.cpu_devices(w, 0) == 2 and workdir_lib.cpu_devices(w, 2) == 2
  with pytest.raises(UsageError, match=r"was started on 2 CPU devices .* drop --cpu-devices 1"):
    workdir_lib.cpu_devices(w, 1)
  # This process has one device: the runner refuses before it writes anything.
  with pytest.raises(UsageError, match=r"was started on 2 cpu device\(s\), this process has 1 cpu device\(s\).*"
                                       r"resume it with --cpu-devices 2"):
    workdir_lib.pin_devices(w, runner.devices())
  assert sorted(os.listdir(w)) == ["devices.json"]
  cfg = tmp_path / "cfg.py"
  cfg.write_text("from transfer_scaling.study import toy\n\ndef get_config():\n  return toy.config()\n")
  code = cli.main(["sweep", "--config", str(cfg), "--workdir", w, "--cpu-devices", "1", "--dry-run"])
  err = capsys.readouterr().err.strip().splitlines()
  assert code == 2 and len(err) == 1 and "drop --cpu-devices 1 (or give 2), or use a new workdir" in err[0]
  (tmp_path / "w" / "devices.json").write_text("{\"backend\": ")
  with pytest.raises(UsageError, match="devices.json is damaged"):
    workdir_lib.cpu_devices(w, 0)


def test_a_new_study_pins_this_process_layout(tmp_path):
  w = str(tmp_path / "w")
  workdir_lib.pin_devices(w, runner.devices())
  workdir_lib.pin_devices(w, runner.devices())  # the same layout resumes
  assert workdir_lib.pinned_devices(w) == {"backend": "cpu", "devices": 1}
