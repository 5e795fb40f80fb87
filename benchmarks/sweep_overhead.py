"""A whole sweep's wall time against the time its training takes once compiled.

  python -m benchmarks.sweep_overhead --config quickstart --workdir /tmp/qs_cold --cold
  python -m benchmarks.sweep_overhead --workdir /tmp/qs_cold   # a finished sweep: --wall-s W

Runs `transfer-scaling sweep` in a new process (with --cold, on an empty compilation cache in a
temporary directory) into a new workdir, times it, and reads every ensemble's timing.json. The
steady-state time of an ensemble is its time outside the first call of each compiled program,
scaled up to every member-step it computed (the first calls' chunks included): what the same
training would take with every program already compiled. Prints a markdown row for
docs/benchmarks.md. The corpora are prepared first (outside the timing) unless --with-corpora.
"""
import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.bench_joint import _cpu_name


def summarise(workdir: str) -> dict:
  rows, programs = [], set()
  for path in sorted(glob.glob(os.path.join(workdir, "groups", "*", "timing.json"))):
    with open(path) as f:
      rows.append(json.load(f))
    with open(os.path.join(os.path.dirname(path), "spec.json")) as f:
      step = json.dumps(json.load(f)["step"], sort_keys=True)
    programs |= {(step, tuple(s)) for s in rows[-1]["shapes"]}  # a model and batch, a width (and length)
  if not rows:
    raise SystemExit(f"no groups/*/timing.json under {workdir}; run a sweep into it first")
  inside = sum(t["wall_s"] for t in rows)
  first = sum(t["first_calls_s"] for t in rows)
  steady = sum(t["steady_s"] * t["member_steps_all"] / t["member_steps"] if t["member_steps"] else t["wall_s"]
               for t in rows)
  return {"ensembles": len(rows), "inside_s": inside, "first_calls_s": first, "steady_s": steady,
          "programs": len(programs)}


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--config", default="quickstart")
  p.add_argument("--workdir", required=True)
  p.add_argument("--cold", action="store_true", help="an empty compilation cache for this sweep")
  p.add_argument("--with-corpora", action="store_true", help="time corpus preparation as part of the sweep")
  p.add_argument("--wall-s", type=float, help="summarise a finished sweep that took this long")
  from transfer_scaling import config as config_lib
  overrides, rest = config_lib.split_config_args(sys.argv[1:] if argv is None else argv)
  a = p.parse_args(rest)  # --config.field=value overrides go to the sweep
  wall = a.wall_s
  if wall is None:
    if os.path.exists(a.workdir) and os.listdir(a.workdir):
      raise SystemExit(f"{a.workdir} is not empty; give a new workdir (the sweep would resume instead)")
    env = dict(os.environ)
    if a.cold:
      env["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="jax_cache_")
    cli = [sys.executable, "-c", "import sys; from transfer_scaling.cli import run; sys.argv[0] = 'transfer-scaling'; run()"]
    if not a.with_corpora:
      from transfer_scaling.study import corpora
      from transfer_scaling.study.config import StudyConfig
      cfg = StudyConfig.from_dict(config_lib.load_config(a.config, overrides))
      corpora.ensure_prepared((cfg.source,) + tuple(cfg.targets))
    t0 = time.time()
    subprocess.run(cli + ["sweep", "--config", a.config, "--workdir", a.workdir] + overrides, env=env, check=True)
    wall = time.time() - t0
  s = summarise(a.workdir)
  cache = "empty" if a.cold else "as found"
  print(f"\n{_cpu_name()}, {os.cpu_count()} cores, {datetime.date.today()}; compilation cache {cache}:")
  print("| sweep s | inside the ensembles s | first calls s | steady state s | wall / steady | ensembles | train and eval programs |")
  print("|---|---|---|---|---|---|---|")
  print(f"| {wall:.0f} | {s['inside_s']:.0f} | {s['first_calls_s']:.0f} | {s['steady_s']:.0f} | "
        f"{wall / s['steady_s']:.2f}x | {s['ensembles']} | {s['programs']} |")


if __name__ == "__main__":
  main()
