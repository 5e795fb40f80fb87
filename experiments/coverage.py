"""Coverage of the joint fit's 95% intervals on simulated studies with known laws (docs/coverage.md).

  python -m experiments.coverage --workdir results/quickstart --design quickstart --studies 200 --out cov_quick.csv
  python -m experiments.coverage --workdir results/quickstart --truth-form chinchilla --design larger --out cov.csv

The truth is the joint fit of a stored study (its k, alpha, beta and scratch law), or with
--truth-form chinchilla a chinchilla-form joint fit of its runs (a from-scratch curve the
kaplan-form estimator does not assume); the noise is the variance components its runs show
(seed-by-D, seed and per-arm run variances: laws/mixed.estimate), heteroscedastic and correlated as
measured, so the simulated studies look like the project's own. Each is fitted exactly as `analyze`
fits a study (GLS under the seed-structured noise model, its parametric bootstrap, the seeds fitted
alone; profiles with --profiles); the table counts how often the intervals hold the truth.
"""
import argparse
import json
import pathlib
import sys
import time

import numpy as np
import pandas as pd
import tqdm

from transfer_scaling.laws import coverage, joint, registry
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
    # The decision scale (study_config.decision_scale): the quickstart's sizes, 8 seeds, D_F 600 B - 12.9 kB on
    # 5 points (1.33 decades), from scratch 600 B - 50 kB at 3 per decade, fine-tuning seed i from pre-training
    # seed i % 2.
    "decision": dict(sizes=(12768, 25472, 56640), scratch_d=(600, 1293, 2785, 6000, 12927, 27850, 50000),
                     d_f=(600, 1293, 2785, 6000, 12927), seeds=8, reference=(56640, 2785), pretrain_seeds=4),
    # The synthetic family's decision scale (configs/synthetic_distance.py:decision): two sizes, D_F 600 B - 6 kB.
    "synthetic_decision": dict(sizes=(12768, 25472), scratch_d=(600, 1293, 2785, 6000, 12927, 27850),
                               d_f=(600, 1293, 2785, 6000), seeds=8, reference=(25472, 2785), pretrain_seeds=4),
}


def runs_of(workdir: str, target: str = None):
  """(fits, from-scratch runs, fine-tuned runs) of a finished study: its stored joint fit (fits/TARGET.json, the
  first target's by default) and the runs the analysis chose (the learning rate picked on validation, failed and
  cut-off runs left out)."""
  from transfer_scaling.study import selection
  wd = pathlib.Path(workdir)
  paths = sorted((wd / "fits").glob("*.json" if target is None else f"{target}.json"))
  if not paths or not (wd / "results.csv").exists():
    sys.exit(f"{workdir}: no fits/*.json and results.csv to take the truth from; run `transfer-scaling analyze` there")
  fits = json.loads(paths[0].read_text())
  table = pd.read_csv(wd / "results.csv")
  chosen, _ = selection.choose(table[(table["target"] == fits["target"]) | (table["stage"] == "pretrain")])
  usable = chosen[(chosen["status"] == "done") & chosen["loss"].notna()]
  def frame(g, d):
    out = pd.DataFrame({"N": g["N"].astype(float), d: g["D_F"].astype(float), "loss": g["loss"].astype(float),
                        "seed": g["seed"].astype(int)})
    if "pretrain_seed" in g and g["pretrain_seed"].notna().any():
      out["pretrain_seed"] = g["pretrain_seed"].to_numpy()
    return out.reset_index(drop=True)
  sc = frame(usable[usable["stage"] == "scratch"], "D")
  ft_all = usable[usable["stage"] == "finetune"]
  steps = fits.get("pretrain_steps") or ft_all["p"].max()
  return fits, sc, frame(ft_all[ft_all["p"] == steps], "D_F")


def measured(workdir: str, form: str = "stored"):
  """(law, truth, components) from a finished study: its joint fit as the truth ('stored': the fit in
  fits/*.json; 'chinchilla': a chinchilla-form joint fit of its runs, a from-scratch curve the kaplan-form
  estimator does not assume), and the noise its runs show (mixed.estimate: seed-by-D, seed and per-arm run
  variances, read from the deviations from cell means, so heteroscedastic and correlated as measured)."""
  from transfer_scaling.laws import joint, mixed
  fits, sc, ft = runs_of(workdir)
  y = np.log(np.r_[sc["loss"], ft["loss"]])
  arm = np.r_[np.zeros(len(sc)), np.ones(len(ft))]
  D = np.r_[sc["D"], ft["D_F"]]
  cells = np.array([f"{a:g}|{n:g}|{d:g}" for a, n, d in zip(arm, np.r_[sc["N"], ft["N"]], D)])
  models = None  # a study with several pre-trained models per size measures their own variance too
  if "pretrain_seed" in ft:
    models = np.r_[np.full(len(sc), ""), [f"{n:g}|{p}" for n, p in zip(ft["N"], ft["pretrain_seed"])]].astype(object)
  comp = mixed.estimate(y, cells, np.r_[sc["seed"], ft["seed"]], D, arm, models=models)
  if form == "stored":
    return fits["joint"]["law"], dict(fits["joint"]["params"]), comp
  jf = joint.fit_joint(sc, ft, scratch_law=form, bootstrap=0, profiles=(), check=False,
                       max_D_F=float(fits["D_F_range"][1]))
  return jf.fit.law, dict(jf.fit.params), comp


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True, help="a finished study whose fit and seed spread set the truth")
  p.add_argument("--truth-form", choices=("stored", "chinchilla"), default="stored",
                 help="the truth: the study's stored joint fit, or a chinchilla-form joint fit of its runs "
                      "(a from-scratch curve the kaplan-form estimator does not assume)")
  p.add_argument("--fit-form", choices=registry.role_names("scratch"), default=registry.AVERAGE,
                 help="the estimator's scratch law (average: as analyze fits, over the forms the runs do not reject)")
  p.add_argument("--boundary", choices=("derived", "design"), default="derived",
                 help="the low-data boundary: derived from the from-scratch fit as analyze does, or the design's "
                      "largest D_F")
  p.add_argument("--shard", default="0/1", help="i/n: only studies j with j mod n = i (n processes, one CSV each)")
  p.add_argument("--design", choices=sorted(DESIGNS), default="quickstart")
  p.add_argument("--studies", type=int, default=200)
  p.add_argument("--bootstrap", type=int, default=1000)
  p.add_argument("--resample", choices=("auto", "gls", "seeds", "cells", "parametric"), default="auto",
                 help="the intervals (auto: as analyze does, GLS under the seed-structured noise model; seeds: the "
                      "wild seed-cluster bootstrap it replaced)")
  p.add_argument("--profiles", action="store_true", help="also profile k, alpha and beta (slower)")
  p.add_argument("--out", required=True, help="CSV of every simulated study (rewritten after each)")
  a = p.parse_args(argv)
  runner.compilation_cache()
  law, truth, comp = measured(a.workdir, a.truth_form)
  design = coverage.Design(**DESIGNS[a.design])
  print(f"law {law}, truth {json.dumps({k: round(v, 5) for k, v in truth.items()})}, noise {comp.text()}",
        file=sys.stderr)
  t0 = time.time()
  bar = tqdm.tqdm(total=a.studies, unit="study", file=sys.stderr)
  table = coverage.coverage(law, truth, design, None, n_studies=a.studies, bootstrap=a.bootstrap,
                            resample=a.resample, noise=comp, progress=lambda i: bar.update(1),
                            fit_law=f"transfer_{a.fit_form}", profiles=joint.TRANSFER_PARAMS if a.profiles else (),
                            out=a.out, max_D_F="derived" if a.boundary == "derived" else None,
                            shard=tuple(int(x) for x in a.shard.split("/")))
  bar.close()
  table.to_csv(a.out, index=False)
  summary = coverage.summary(table)
  print(f"truth {a.workdir} ({a.truth_form}), estimator {a.fit_form}, design {a.design}: {a.studies} studies, "
        f"{a.bootstrap} {a.resample} replicates each, {time.time() - t0:.0f} s; noise {comp.text()}")
  cols = list(summary.columns)
  print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
  for _, r in summary.iterrows():
    print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r) + " |")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
