"""Reliability of real (tiny) sweeps: nothing wrong is counted, nothing stale reused, every failure one line.

Entries of docs/reliability.md that need training: blown-up runs, a failed sweep on a finished
workdir, stale records, two workers on one shard, Ctrl-C, a full disk, resuming on other data.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from transfer_scaling import cli
from transfer_scaling.study import results, runner, toy, workdir as workdir_lib

pytestmark = pytest.mark.xdist_group("study_sweep")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The toy study, smaller still: two D_F, from scratch to 8 kB, no bracketing rounds.
SMALL = """  c.d_f.num = 2
  c.scratch_d_max = 8000
  c.bracket.rounds = 0
"""
CONFIG = """
from transfer_scaling.study import toy

def get_config():
  c = toy.config()
""" + SMALL + """{extra}
  return c
"""


def _small(c):
  c.d_f.num, c.scratch_d_max, c.bracket.rounds = 2, 8000, 0
  return c


@pytest.fixture(scope="module")
def env(toy_env):
  return toy_env


@pytest.fixture(scope="module")
def finished(env):
  workdir = env / "finished"
  runner.sweep(_small(toy.config()), str(workdir))
  return workdir


def _config(root, extra="") -> str:
  path = os.path.join(root, f"cfg_{abs(hash(extra))}.py")
  with open(path, "w") as f:
    f.write(CONFIG.format(extra=extra))
  return path


def _cmd(*args):
  return [sys.executable, "-m", "transfer_scaling.cli", *args]


def _env():
  return {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.slow
def test_a_run_that_blows_up_to_finite_losses_is_a_failure_and_never_enters_a_fit(env, capsys):
  workdir = env / "blown"
  cfg = _config(env, "  c.scratch.lrs = (3.0,)")
  assert cli.main(["sweep", "--config", cfg, "--workdir", str(workdir), "--cpu-devices", "1"]) == 0
  df = results.table(str(workdir))
  scratch = df[df["stage"] == "scratch"]
  assert len(scratch) and scratch["status"].str.startswith("failed").all(), scratch["status"].tolist()
  assert scratch["status"].str.contains("times its best|never fell below|non-finite|NaN|inf").all()
  capsys.readouterr()
  assert cli.main(["analyze", "--workdir", str(workdir)]) == 0
  report = (workdir / "report.md").read_text()
  assert "## Left out" in report and "none were left out" not in report
  assert "no joint fit" in capsys.readouterr().out  # nothing to fit from scratch: said, not made up


def test_a_failed_sweep_leaves_the_study_as_it_was(env, finished, capsys):
  workdir = env / "copy"
  shutil.copytree(finished, workdir)
  before = (workdir / "study.json").read_bytes()
  code = cli.main(["sweep", "--config", _config(env), "--workdir", str(workdir), "--config.model.dtype=float7"])
  err = capsys.readouterr().err
  assert code == 2 and err.strip().startswith("error: config.model.dtype='float7'") and "Traceback" not in err
  assert (workdir / "study.json").read_bytes() == before
  assert cli.main(["analyze", "--workdir", str(workdir)]) == 0
  assert "delete" not in (workdir / "report.md").read_text()


def _truncate_checkpoint(step_dir):
  for root, _, files in os.walk(step_dir / "state"):
    for f in files:
      if os.path.basename(root) == "d":  # the array data; the metadata still says the step is complete
        path = os.path.join(root, f)
        with open(path, "r+b") as fh:
          fh.truncate(min(16, os.path.getsize(path)))


def _unfinish_scratch_group(finished, workdir):
  """A copy of the finished study whose first from-scratch ensemble has lost its records (its checkpoints kept)."""
  shutil.copytree(finished, workdir)
  records = workdir_lib.read_records(str(workdir))
  scratch = next(r["group"] for r in records.values() if r["stage"] == "scratch")
  for r in records.values():
    if r["group"] == scratch:
      os.remove(workdir_lib.record_path(str(workdir), r["id"]))
  return workdir, scratch


def test_a_damaged_or_missing_checkpoint_is_one_line_naming_the_folder_and_what_to_delete(env, finished, capsys):
  # Resuming an ensemble whose latest checkpoint was truncated (a full disk, a copy cut short).
  workdir, scratch = _unfinish_scratch_group(finished, env / "damaged_ckpt")
  ckpt = workdir / "groups" / scratch / "ckpt"
  _truncate_checkpoint(ckpt / max(os.listdir(ckpt), key=int))
  code = cli.main(["sweep", "--config", _config(env), "--workdir", str(workdir)])
  err = capsys.readouterr().err.strip().splitlines()[-1]
  assert code == 2 and err.startswith("error: the checkpoint at step") and f"in {ckpt} cannot be read" in err, err
  assert err.endswith(f"delete {ckpt} to train this ensemble again from the start")
  # A fine-tuning run whose pre-training checkpoint at p is gone: the pre-training must be redone.
  workdir = env / "missing_ckpt"
  shutil.copytree(finished, workdir)
  records = workdir_lib.read_records(str(workdir))
  pre = next(r for r in records.values() if r["stage"] == "pretrain")
  for r in records.values():
    if r["stage"] == "finetune":
      os.remove(workdir_lib.record_path(str(workdir), r["id"]))
  ckpt = workdir / "groups" / pre["group"] / "ckpt"
  shutil.rmtree(ckpt / max(os.listdir(ckpt), key=int))
  code = cli.main(["sweep", "--config", _config(env), "--workdir", str(workdir)])
  err = capsys.readouterr().err.strip().splitlines()[-1]
  assert code == 2 and "error: there is no checkpoint at step" in err and "error: :" not in err, err
  assert f"delete {workdir / 'groups' / pre['group']} and its records (runs/{pre['id']}.json)" in err


def test_a_checkpoint_save_cut_short_is_cleared_before_the_ensemble_resumes(env, finished):
  # kill -9 or SIGTERM during an orbax save leaves ckpt/N.orbax-checkpoint-tmp...: the rerun removes it.
  workdir, scratch = _unfinish_scratch_group(finished, env / "partial_ckpt")
  partial = workdir / "groups" / scratch / "ckpt" / "9999.orbax-checkpoint-tmp-1765051200"
  (partial / "state").mkdir(parents=True)
  (partial / "state" / "manifest.ocdbt").write_bytes(b"\0" * 10)
  assert cli.main(["sweep", "--config", _config(env), "--workdir", str(workdir)]) == 0
  assert not list(workdir.rglob("*orbax-checkpoint-tmp*"))
  assert set(workdir_lib.read_records(str(workdir))) == set(workdir_lib.read_records(str(finished)))


def test_what_changes_a_result_is_part_of_the_run_identity(env, finished):
  c = _small(toy.config())
  cfg, found = runner.prepare(c)
  assert all(r.id in workdir_lib.read_records(str(finished))
             for r in runner.current_plan(cfg, found, str(finished)).runs)
  c.valid_bytes = 2048
  cfg, found = runner.prepare(c)
  plan = runner.current_plan(cfg, found, str(finished))
  records = workdir_lib.read_records(str(finished))
  trained = [r for r in plan.runs if r.stage in ("scratch", "finetune", "zeroshot", "pretrain")]
  assert not any(r.id in records for r in trained)  # every loss would differ: nothing is reused


@pytest.mark.slow
def test_resuming_a_training_run_on_other_data_is_refused(env, tmp_path, capsys):
  workdir = str(tmp_path / "t")
  base = ["train", "--workdir", workdir, "--config.model.size=", "--config.model.d_model=16",
          "--config.model.seq_len=16", "--config.train.batch_size=4", "--config.train.max_steps=20",
          "--config.train.eval_every=10", "--config.train.tensorboard=False", "--cpu-devices", "1"]
  assert cli.main(base) == 0
  capsys.readouterr()
  code = cli.main(base + ["--config.data.source=toy-code"])
  err = capsys.readouterr().err
  assert code == 2 and "holds a run with a different spec or data (fields data)" in err


@pytest.mark.slow
def test_two_workers_on_the_same_shard_train_each_ensemble_once(env):
  workdir = env / "race"
  cfg = _config(env)
  procs = [subprocess.Popen(_cmd("sweep", "--config", cfg, "--workdir", str(workdir), "--poll", "0.2",
                                 "--cpu-devices", "1"), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
           for _ in range(2)]
  errs = []
  for p in procs:
    _, err = p.communicate(timeout=600)
    errs.append(err.decode())
    assert p.returncode == 0, err.decode()[-2000:]
  done = [json.loads(l.split("sweep done: ", 1)[1].split(" runs")[0].join(["[", "]"])) for e in errs
          for l in e.splitlines() if l.startswith("sweep done:")]
  cfg_typed, found = runner.prepare(_small(toy.config()))
  n_runs = len(runner.current_plan(cfg_typed, found, str(workdir)).runs)
  assert sum(d[0] for d in done) == n_runs  # every run trained by exactly one of the two
  assert len(list((workdir / "runs").glob("*.json"))) == n_runs
  assert not list(workdir.rglob("*orbax-checkpoint-tmp*")) and not list(workdir.rglob("claim.json"))


@pytest.fixture(scope="module")
def finished_default(env):
  """The small study swept in a subprocess on the default device layout (one CPU device per core)."""
  workdir = env / "finished_default"
  subprocess.run(_cmd("sweep", "--config", _config(env), "--workdir", str(workdir)), env=_env(), check=True,
                 capture_output=True)
  return workdir


@pytest.mark.slow
@pytest.mark.parametrize("sig, code, line", [
    (signal.SIGINT, 130, "interrupted; finished work is saved and a rerun resumes"),
    (signal.SIGTERM, 143, "terminated (SIGTERM); finished work is saved and a rerun resumes")])
def test_a_stop_signal_saves_says_one_line_releases_the_claim_and_a_rerun_resumes(env, finished_default, sig, code,
                                                                                 line):
  workdir = env / f"stopped_{sig}"
  cfg = _config(env)
  p = subprocess.Popen(_cmd("sweep", "--config", cfg, "--workdir", str(workdir)), env=_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
  deadline = time.time() + 300
  while time.time() < deadline and not list((workdir / "groups").glob("*/ckpt/*")):
    time.sleep(0.05)
  time.sleep(0.5)
  p.send_signal(sig)
  _, err = p.communicate(timeout=300)
  lines = [l for l in err.decode().splitlines() if l.strip() and not l.startswith(("pretrain:", "zeroshot:", "scratch:",
                                                                                   "finetune:", "shard ", "  "))]
  assert p.returncode == code, err.decode()[-2000:]
  assert lines[-1] == line and "Traceback" not in err.decode()
  # Nothing for a requeued worker to wait for or trip over.
  assert not list(workdir.rglob("claim.json")) and not list(workdir.rglob("*orbax-checkpoint-tmp*"))
  subprocess.run(_cmd("sweep", "--config", cfg, "--workdir", str(workdir)), env=_env(), check=True,
                 capture_output=True)
  cols = ["id", "loss", "valid_loss", "best_step", "status"]
  a = results.table(str(workdir))[cols].sort_values("id").reset_index(drop=True)
  b = results.table(str(finished_default))[cols].sort_values("id").reset_index(drop=True)
  assert a.equals(b)


def _small_disk(path, size):
  path.mkdir()
  if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True).returncode:
    pytest.skip("cannot mount a tmpfs here")


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
@pytest.mark.parametrize("command", ["sweep", "analyze"])
def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(env, finished, finished_default, tmp_path, command):
  """On the default device layout; once the disk has room again, the sweep resumes to the records of one
  that never ran out."""
  mnt = tmp_path / "small"
  _small_disk(mnt, "256k" if command == "sweep" else "96k")
  try:
    workdir = mnt / "w"
    if command == "analyze":  # the records fit, the figures do not
      workdir.mkdir()
      shutil.copy(finished / "study.json", workdir)
      shutil.copy(finished / "plan.json", workdir)
      shutil.copytree(finished / "runs", workdir / "runs")
      args = ["analyze", "--workdir", str(workdir)]
    else:
      args = ["sweep", "--config", _config(env), "--workdir", str(workdir)]
    r = subprocess.run(_cmd(*args), env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: no space left on the device"), r.stderr[-3000:]
    if command == "analyze":  # (orbax's background save threads print their own traces before the line)
      assert "Traceback" not in r.stderr
    assert not list(mnt.rglob(".tmp-*")) and not list(mnt.rglob("*.tmp"))
    assert not list(mnt.rglob("*orbax-checkpoint-tmp*"))  # a checkpoint save cut short by the full disk
    if command == "sweep":
      subprocess.run(["mount", "-o", "remount,size=256m", str(mnt)], check=True)
      subprocess.run(_cmd(*args), env=_env(), check=True, capture_output=True, timeout=600)
      cols = ["id", "loss", "valid_loss", "best_step", "status"]
      a = results.table(str(workdir))[cols].sort_values("id").reset_index(drop=True)
      b = results.table(str(finished_default))[cols].sort_values("id").reset_index(drop=True)
      assert a.equals(b)
  finally:
    subprocess.run(["umount", str(mnt)], capture_output=True)
