"""A real (tiny) sweep: records, restart after SIGKILL, two shards, a diverging run, the results table."""
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from transfer_scaling.study import results, runner, workdir as workdir_lib, toy

# One worker runs this whole module (pytest -n 2 --dist loadgroup), so the reference sweep runs once.
pytestmark = pytest.mark.xdist_group("study_sweep")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = """
from transfer_scaling.study import toy

def get_config():
  c = toy.config()
{extra}
  return c
"""
COMPARE = ["id", "stage", "D_F", "init", "seed", "loss", "valid_loss", "best_step", "tokens", "status"]


@pytest.fixture(scope="module")
def env(toy_env):
  return toy_env


def _config_file(root, extra: str = "") -> str:
  path = os.path.join(root, f"cfg_{abs(hash(extra))}.py")
  with open(path, "w") as f:
    f.write(CONFIG.format(extra=extra))
  return path


def _sweep_cmd(config, workdir, *more, devices=("--cpu-devices", "1")):
  # One CPU device, as in this process (tests/conftest.py): the results are compared bit for bit.
  return [sys.executable, "-m", "transfer_scaling.cli", "sweep", "--config", config, "--workdir", str(workdir),
          "--poll", "0.2", *devices, *more]


def _env():
  return {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.fixture(scope="module")
def reference(env):
  """One uninterrupted sweep by one worker (in this process)."""
  workdir = env / "reference"
  log = io.StringIO()  # not a terminal: the sweep logs plain lines (test_sweep_log_without_a_terminal)
  with contextlib.redirect_stderr(log):
    runner.sweep(toy.config(), str(workdir))
  (env / "reference.log").write_text(log.getvalue())
  return results.table(str(workdir))


def _same(a, b):
  a = a[COMPARE].sort_values("id").reset_index(drop=True)
  b = b[COMPARE].sort_values("id").reset_index(drop=True)
  assert a.equals(b), f"\n{a}\n!=\n{b}"


def test_sweep_writes_one_record_per_run(reference, env):
  cfg, found = runner.prepare(toy.config())
  p = runner.current_plan(cfg, found, str(env / "reference"))
  assert p.settled and sorted(reference["id"]) == sorted(r.id for r in p.runs)
  assert (reference["status"].isin(["done", "cut_off"])).all()
  ft = reference[reference["stage"] == "finetune"].set_index("D_F")["loss"]
  sc = reference[reference["stage"] == "scratch"].set_index("D_F")["loss"]
  assert ft.notna().all() and sc.notna().all()
  # Each trained ensemble logs its throughput, also without its first (compiling) chunk.
  logs = [json.loads(p.read_text()) for p in (env / "reference" / "groups").glob("*/throughput.json")]
  assert logs and all(t["steady_tokens_per_s"] > 0 and t["tokens_per_s"] > 0 for t in logs)
  assert all(t["compile_s"] > 0 for t in logs)  # and its compilation, measured
  # A second sweep finds everything done and trains nothing.
  counts = runner.sweep(toy.config(), str(env / "reference"))
  assert counts["runs"] == 0


def test_sweep_log_without_a_terminal(reference, env):
  """A line per ensemble (stage, k of n, runs done of planned, elapsed, left), a notice when the plan grows."""
  log = (env / "reference.log").read_text()
  assert "\r" not in log  # no bar redrawn in a log file
  lines = log.splitlines()
  assert any(x.startswith("estimated time: about ") for x in lines)
  starts = [x for x in lines if x.startswith("ensemble ")]
  groups = sorted(set(reference["id"].map(lambda rid: workdir_lib.read_record(str(env / "reference"), rid)["group"])))
  assert len(starts) == len(groups)
  assert starts[0].startswith("ensemble 1 of ") and "pre-training" in starts[0] and "0 of " in starts[0]
  assert all(" runs done, " in x and " elapsed" in x for x in starts)
  assert starts[-1].startswith(f"ensemble {len(groups)} of {len(groups)}: ")
  grew = [x for x in lines if x.startswith("plan: ")]
  assert grew and all("from-scratch" in x and "bracketing round 1" in x for x in grew)


def test_dry_run_counts_new_runs_and_estimates_their_time(reference, env, tmp_path):
  from transfer_scaling.commands import sweep as sweep_cmd
  from transfer_scaling.study import estimate, plan
  from transfer_scaling.study.config import StudyConfig
  c = toy.config()
  c.seeds = (0, 1)
  cfg = StudyConfig.from_dict(c)
  text = sweep_cmd.dry_run(cfg, str(env / "reference"), (0, 1))
  cfg, found = runner.prepare(cfg)
  p = runner.current_plan(cfg, found, str(env / "reference"))
  new = [r for r in p.runs if r.id not in set(reference["id"])]
  assert new and f"{len(new)} new, {len(p.runs) - len(new)} with records" in text
  est = estimate.estimate(new, estimate.measured(str(env / "reference")))
  assert est.measured_runs == len(new)  # every model of the new runs was timed in this workdir
  first = plan.make_plan(cfg, found.hashes, found.train_bytes, {}).runs if p.settled else None
  hist = estimate.history(p.runs, runner.workdir_lib.read_records(str(env / "reference")),
                          estimate.measured(str(env / "reference")), first, estimate.default(cfg))
  assert hist.source.startswith("this workdir's finished ensembles")  # the reference sweep's runs, not the table
  assert (f"estimated time: about {estimate.duration(est.expected(hist, rounds=not p.settled))} for the {len(new)} "
          f"new runs") in text
  assert (f"({estimate.duration(est.seconds)} at their first step budgets, from this workdir's measured throughput; "
          f"scaled as the runs of {hist.source} went)") in text
  empty = tmp_path / "fresh"
  text = sweep_cmd.dry_run(toy.config(), str(empty), (0, 1))
  assert "from the throughput table of 2 CPU cores" in text and not empty.exists()  # a dry run writes nothing
  assert plan.summary(runner.current_plan(*runner.prepare(toy.config()), str(empty)).groups) in text


@pytest.mark.slow  # three sweeps in subprocesses: about two minutes on 2 busy cores
def test_sigkill_then_restart_loses_nothing_and_matches(env):
  """On the default device layout (one CPU device per core), against an uninterrupted sweep on it."""
  config = _config_file(env)
  subprocess.run(_sweep_cmd(config, env / "killed_reference", devices=()), env=_env(), check=True, capture_output=True)
  reference = results.table(str(env / "killed_reference"))
  workdir = env / "killed"
  proc = subprocess.Popen(_sweep_cmd(config, workdir, devices=()), env=_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  runs_dir = workdir / "runs"
  deadline = time.time() + 300
  while time.time() < deadline and proc.poll() is None:  # kill once some but not all runs are done
    if runs_dir.exists() and len(list(runs_dir.glob("*.json"))) >= 2:
      break
    time.sleep(0.05)
  time.sleep(random.uniform(0.0, 1.5))
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  before = {p.name: p.read_bytes() for p in runs_dir.glob("*.json")}
  assert 0 < len(before) < len(reference), "the kill should land mid-sweep"
  subprocess.run(_sweep_cmd(config, workdir, devices=()), env=_env(), check=True, capture_output=True)
  after = {p.name: p.read_bytes() for p in runs_dir.glob("*.json")}
  assert all(after[name] == data for name, data in before.items())  # finished runs untouched, not rerun
  _same(results.table(str(workdir)), reference)


@pytest.mark.slow
def test_two_shards_give_the_same_table(reference, env):
  workdir = env / "sharded"
  config = _config_file(env)
  procs = [subprocess.Popen(_sweep_cmd(config, workdir, "--shard", f"{i}/2"), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(2)]
  for p in procs:
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err.decode()[-2000:]
  groups = [json.loads(p.read_text())["group"] for p in (workdir / "runs").glob("*.json")]
  assert len(groups) == len(reference)
  _same(results.table(str(workdir)), reference)


def test_diverging_run_is_recorded_as_failed_and_the_sweep_goes_on(env):
  c = toy.config()
  c.scratch.lrs = (1e4,)  # every from-scratch run blows up; fine-tuning runs are untouched
  workdir = str(env / "diverged")
  counts = runner.sweep(c, workdir)
  df = results.table(workdir)
  bad = df[df["stage"] == "scratch"]
  assert counts["failed"] == len(bad) > 0
  diverged = bad["status"].str.match(r"failed: diverged: .*(NaN|inf|non-finite|times its best)")
  assert diverged.all(), bad["status"].tolist()
  assert bad["loss"].isna().all()
  good = df[df["stage"] == "finetune"]
  assert len(good) and good["status"].isin(["done", "cut_off"]).all()


@pytest.mark.slow
def test_adding_a_seed_trains_only_the_new_runs(reference, env):
  import shutil
  workdir = env / "extended"
  shutil.copytree(env / "reference", workdir)
  before = {p.name: p.read_bytes() for p in (workdir / "runs").glob("*.json")}
  c = toy.config()
  c.seeds = (0, 1)  # new scratch and fine-tuning runs that share a shape (so an ensemble) with finished ones
  counts = runner.sweep(c, str(workdir))
  after = {p.name: p.read_bytes() for p in (workdir / "runs").glob("*.json")}
  new = {name[:-len(".json")] for name in after} - {name[:-len(".json")] for name in before}
  assert new and counts["runs"] == len(new)  # the finished members of those ensembles were not trained again
  assert all(after[name] == data for name, data in before.items())
  for rid in new:
    rec = workdir_lib.read_record(str(workdir), rid)
    assert rec["status"] in ("done", "cut_off"), rec["status"]
    members = [json.loads(after[f"{other}.json"])["group"] for other in new].count(rec["group"])
    assert rec["member"] < members  # its ensemble holds new runs only
