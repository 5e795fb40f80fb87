"""Coverage of the joint fit's 95% intervals on simulated studies with known laws (docs/coverage.md).

  python -m experiments.coverage --workdir results/quickstart --design quickstart --studies 200 --out cov_quick.csv
  python -m experiments.coverage --workdir results/quickstart --design larger --studies 200 --out cov_large.csv

The truth is the joint fit of a real study (its k, alpha, beta and scratch law), the noise
the spread measured between seeds in its runs (the pooled standard deviation of log loss
within each cell, separately from scratch and fine-tuned), so the simulated studies look like
the project's own. Each is fitted exactly as `analyze` fits a study (joint fit, cluster
bootstrap over seeds, profile likelihood); the table counts how often the intervals hold the truth.
"""
import argparse
import json
import sys
import time

import numpy as np
import pandas as pd
import tqdm

from transfer_scaling.laws import coverage
from transfer_scaling.study import runner

DESIGNS = {
    # The quickstart's grid (study_config.cpu_scale): sizes 13k, 25k, 56k; from scratch 1-22 kB at 3 per
    # decade; D_F 1-4.6 kB; 3 seeds.
    "quickstart": dict(sizes=(12768, 25472, 56640), scratch_d=(1000, 2154, 4642, 10000, 21544),
                       d_f=(1000, 2154, 4642), seeds=3, reference=(56640, 4642)),
    # A study a GPU affords: five sizes over 1.4 decades, from scratch to 1 MB, six D_F, five seeds.
    "larger": dict(sizes=(12768, 25472, 56640, 100096, 335616),
                   scratch_d=tuple(int(round(1000 * 10 ** (j / 3))) for j in range(10)),
                   d_f=(1000, 2154, 4642, 10000, 21544, 46416), seeds=5, reference=(56640, 4642)),
}


def measured(workdir: str):
  """(law, truth, sd, noise) from a finished study: its joint fit, its pooled within-cell spread of
  log loss per arm, and how a seed's deviations correlate across cells (coverage.Noise)."""
  from transfer_scaling.report import workdir_report
  result = workdir_report.load(workdir)
  t = next(iter(result.targets.values()))
  if t.joint is None:
    sys.exit(f"{workdir}: no joint fit to take the truth from")
  runs = t.runs[t.runs["stage"].isin(["scratch", "finetune"])]
  runs = runs[(runs["stage"] == "scratch") | (runs["p"] == result.config.pretrain.steps)]
  sd = {}
  for stage, g in runs.groupby("stage"):
    logs = np.log(g["loss"].to_numpy(float))
    cells = g.groupby(["N", "D_F"]).ngroup().to_numpy()
    resid = logs - pd.Series(logs).groupby(cells).transform("mean").to_numpy()
    n, k = len(logs), cells.max() + 1
    sd[stage] = float(np.sqrt(np.sum(resid ** 2) / max(n - k, 1)))
  return t.joint.fit.law, dict(t.joint.fit.params), sd, correlation(runs)


def correlation(runs: pd.DataFrame) -> coverage.Noise:
  """Mean correlation over pairs of cells of their seeds' deviations: at the same D (any size or arm),
  and at different D, whose ratio is the share of the shared part common across D."""
  runs = runs.assign(dev=np.log(runs["loss"].astype(float)))
  runs["dev"] -= runs.groupby(["stage", "N", "D_F"])["dev"].transform("mean")
  wide = runs.pivot_table(index="seed", columns=["stage", "N", "D_F"], values="dev").dropna(axis=1)
  r = np.corrcoef(wide.to_numpy().T)
  d = np.array([c[2] for c in wide.columns])
  i, j = np.triu_indices(len(d), 1)
  same, other = r[i, j][d[i] == d[j]].mean(), r[i, j][d[i] != d[j]].mean()
  same = float(np.clip(same, 0, 1))
  return coverage.Noise(same_d=same, across_d=float(np.clip(other / same, 0, 1)) if same > 0 else 0.0)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True, help="a finished study whose fit and seed spread set the truth")
  p.add_argument("--design", choices=sorted(DESIGNS), default="quickstart")
  p.add_argument("--studies", type=int, default=200)
  p.add_argument("--bootstrap", type=int, default=1000)
  p.add_argument("--resample", choices=("auto", "seeds", "cells", "parametric"), default="auto",
                 help="the bootstrap (auto: as analyze does, one wild weight per seed for every cell)")
  p.add_argument("--independent", action="store_true",
                 help="simulate independent runs (no noise shared by a seed's runs), as before the seeds were tied")
  p.add_argument("--out", required=True, help="CSV of every simulated study")
  a = p.parse_args(argv)
  runner.compilation_cache()
  law, truth, sd, noise = measured(a.workdir)
  noise = coverage.Noise() if a.independent else noise
  design = coverage.Design(**DESIGNS[a.design])
  sigma = lambda pretrained, N, D: sd["finetune" if pretrained else "scratch"]
  print(f"law {law}, truth {json.dumps({k: round(v, 5) for k, v in truth.items()})}, noise (sd of log loss) {sd}, "
        f"{noise}", file=sys.stderr)
  t0 = time.time()
  bar = tqdm.tqdm(total=a.studies, unit="study", file=sys.stderr)
  table = coverage.coverage(law, truth, design, sigma, n_studies=a.studies, bootstrap=a.bootstrap,
                            resample=a.resample, noise=noise, progress=lambda i: bar.update(1))
  bar.close()
  table.to_csv(a.out, index=False)
  summary = coverage.summary(table)
  print(f"design {a.design}: {a.studies} studies, {a.bootstrap} {a.resample} bootstrap replicates each, "
        f"{time.time() - t0:.0f} s; noise sd of log loss: scratch {sd['scratch']:.4f}, fine-tuned {sd['finetune']:.4f}; "
        f"a seed's runs correlate at {noise.same_d:.2f} at one D, {noise.same_d * noise.across_d:.2f} across D")
  cols = list(summary.columns)
  print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
  for _, r in summary.iterrows():
    print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r) + " |")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
