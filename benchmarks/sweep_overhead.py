"""A whole sweep's wall time against the time its training takes once compiled.

  python -m benchmarks.sweep_overhead --config quickstart --workdir runs/qs_cold --cold
  python -m benchmarks.sweep_overhead --workdir runs/qs_cold   # a finished sweep: --wall-s W

Runs `transfer-scaling sweep` in a new process (with --cold, on an empty compilation cache in a
temporary directory) into a new workdir, times it, and reads every ensemble's timing.json. An
ensemble's steady state is its whole call (initialisation, training, test losses, results) less
the time it spent compiling (tracing, lowering, XLA or loading from the persistent cache, as JAX
reports them): what the same ensemble would take with every program already compiled. The gap
between the sweep and the sum of those is compilation plus everything outside the ensembles
(start-up, planning, zero-shot evaluations, loading pre-trained parameters, records). The last
ratio is the older, stricter measure: the training loops alone outside the first call of each
program, scaled to all their member-steps. Prints a markdown row for docs/benchmarks.md. The
corpora are prepared first (outside the timing) unless --with-corpora.
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
  if any("ensemble_s" not in t for t in rows):
    raise SystemExit(f"{workdir} was swept by an engine that did not time whole ensembles; sweep a new workdir")
  return {"ensembles": len(rows), "programs": len(programs),
          "ensemble_s": sum(t["ensemble_s"] for t in rows), "compile_s": sum(t["compile_s"] for t in rows),
          "steady_s": sum(t["ensemble_steady_s"] for t in rows),
          # The training loops alone, outside the first call of each program, scaled to all their member-steps.
          "loop_steady_s": sum(t["steady_s"] * t["member_steps_all"] / t["member_steps"] if t["member_steps"]
                               else t["wall_s"] for t in rows)}


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
    cli = [sys.executable, "-c",
           "import sys; from transfer_scaling.cli import run; sys.argv[0] = 'transfer-scaling'; run()"]
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
  print("| sweep s | ensembles s | their compilation s | ensembles without it s | outside the ensembles s "
        "| wall / ensembles without compilation | wall / loops outside first calls "
        "| ensembles | train and eval programs |")
  print("|---|---|---|---|---|---|---|---|---|")
  print(f"| {wall:.0f} | {s['ensemble_s']:.0f} | {s['compile_s']:.0f} | {s['steady_s']:.0f} | "
        f"{wall - s['ensemble_s']:.0f} | "
        f"{wall / s['steady_s']:.2f}x | {wall / s['loop_steady_s']:.2f}x | {s['ensembles']} | {s['programs']} |")

if __name__ == "__main__":
  main()
