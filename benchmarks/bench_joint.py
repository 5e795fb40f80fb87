"""Speed of the joint fit with its bootstrap on a study's records (what `analyze` spends per target).

  python -m benchmarks.bench_joint --workdir results/quickstart [--bootstrap 1000] [--repeats 3]

The runs are chosen as the analysis chooses them (lr per cell on validation, failed and cut-off
runs out, fine-tuned from the last p); the fit is timed cold (first call: compiles, unless the
persistent compilation cache has it) and warm (median of --repeats), profiles excluded and
included. Prints a markdown block for docs/benchmarks.md.
"""
import argparse
import datetime
import json
import os
import platform
import time

import numpy as np


def _cpu_name():
  try:
    for line in open("/proc/cpuinfo"):
      if line.startswith("model name"):
        return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown CPU"


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--workdir", required=True)
  ap.add_argument("--bootstrap", type=int, default=1000)
  ap.add_argument("--repeats", type=int, default=3)
  args = ap.parse_args(argv)
  import jax
  from transfer_scaling.laws import joint
  from transfer_scaling.report import analysis
  from transfer_scaling.study import results, runner, selection, workdir as workdir_lib
  from transfer_scaling.study.config import StudyConfig
  runner.compilation_cache()
  meta = json.load(open(os.path.join(args.workdir, "study.json")))
  cfg = StudyConfig.from_dict(meta["config"])
  df = results.frame(workdir_lib.read_records(args.workdir).values())
  chosen, _ = selection.choose(df[df["target"] == cfg.targets[0]])
  ok = chosen[(chosen["status"] == "done") & chosen["loss"].notna()]
  sc = analysis._runs_for_fit(ok[ok["stage"] == "scratch"], "D")
  ft_runs = ok[ok["stage"] == "finetune"]
  ft = analysis._runs_for_fit(ft_runs[ft_runs["p"] == cfg.pretrain.steps], "D_F")
  kw = dict(scratch_law=cfg.analysis.scratch_law, max_D_F=cfg.analysis.low_data_max_d_f or None, seed=0)

  def timed(**more):
    t0, c0 = time.perf_counter(), time.process_time()
    jf = joint.fit_joint(sc, ft, bootstrap=args.bootstrap, **kw, **more)
    return jf, time.perf_counter() - t0, time.process_time() - c0

  _, cold, cold_cpu = timed(profiles=())
  warm = [timed(profiles=()) for _ in range(args.repeats)]
  full = [timed() for _ in range(args.repeats)]
  jf = full[-1][0]
  print(f"""
Machine: {_cpu_name()}, {os.cpu_count()} cores visible; load average (1 min) {os.getloadavg()[0]:.1f}.
Date: {datetime.date.today().isoformat()}; jax {jax.__version__}, Python {platform.python_version()}.
Command: `python -m benchmarks.bench_joint --workdir {args.workdir} --bootstrap {args.bootstrap} \
--repeats {args.repeats}`
Records: {len(sc)} from-scratch and {len(ft)} fine-tuned runs of {cfg.study}; {jf.fit.resample} bootstrap,
{jf.fit.n_bootstrap_converged}/{jf.fit.n_bootstrap} refits converged.

| what | wall s | CPU s |
|---|---|---|
| joint fit + {args.bootstrap} bootstrap refits, first call | {cold:.1f} | {cold_cpu:.1f} |
| same, warm (median of {args.repeats}) | {np.median([w for _, w, _ in warm]):.1f} | \
{np.median([c for _, _, c in warm]):.1f} |
| same + profiles of k, alpha, beta, warm (median of {args.repeats}) | \
{np.median([w for _, w, _ in full]):.1f} | {np.median([c for _, _, c in full]):.1f} |
""")


if __name__ == "__main__":
  main()
