"""Does advise's probability mean one? Simulated studies with known answers (docs/advise.md).

  python -m experiments.advise_calibration --studies 100 --bootstrap 200 --out advise_calibration.csv
  python -m experiments.advise_calibration --design decision --studies 100 --bootstrap 100 --out decision.csv

The truth is the (N, D_F, p) model fitted to a study's runs (fits/python.json, key `decision`): the quickstart's
(--design quickstart) or decision_python's (--design decision), with gamma (how the transferred data grows with
pre-training), and in the quickstart's last scenario alpha, set so that at the user's point (56k; 4,642 or 2,785
bytes; 2,000 steps) doubling the fine-tuning data is better, doubling pre-training is better, or both buy the
same loss (a tie); D_T at that point is kept at the fitted value. At the decision scale the fitted model itself
is the pre-training-better scenario. Runs are drawn on the design's grid with the noise its runs show (the GLS
fit's variance components: seed-by-D, seed, cell, per-arm run and, at the decision scale, the pre-trained
models'), each study is fitted exactly as `analyze` fits one (laws/pretrain.fit_pretrain: GLS, parametric
bootstrap) and advised as `advise` advises. Fits only, no training. The table: per scenario the true loss
difference (data minus pre-training, nats/byte), the noise of a study's predicted losses (the sd over studies of
the estimated difference and of the predicted loss), and how often advise named the right option, the wrong
one, or "not determined". The CSV gains a row per study as it goes (rerun to resume; --scenario splits the
scenarios among processes).
"""
import argparse
import json
import math
import pathlib
import time

import numpy as np
import pandas as pd

from transfer_scaling.errors import UsageError
from transfer_scaling.laws import mixed, pretrain
from transfer_scaling.laws.registry import get_law
from transfer_scaling.report import advice

# The quickstart's grid: sizes 13k, 25k, 56k; from scratch 1-22 kB; D_F 1-4.6 kB; pre-training varied at 13k
# (10, 60, 340, 2,000 steps; the earlier ones at the gap grid's D_F 1,000 and 4,642); 3 seeds.
GRID = pretrain.Grid(sizes=(12768, 25472, 56640), scratch_d=(1000, 2154, 4642, 10000, 21544), d_f=(1000, 2155, 4642),
                     p=((10, 60, 340, 2000), (2000,), (2000,)), seeds=3, gap_d_f=(1000, 4642))
POINT = dict(N=56640.0, d_f=4642.0)
P0 = 2000.0
# The decision scale's grid (results/decision_python): from scratch 600 B - 278 kB as its bracketing left it, D_F
# 600 B - 12.9 kB, pre-training varied at 13k (100, 300, 700, 2,000 steps at 600, 2,785 and 12,927 B), 8 seeds
# from 4 pre-trained models per (size, p); the user's point at 56k and 2,785 bytes.
DESIGNS = {
    "quickstart": (GRID, POINT, "results/quickstart"),
    "decision": (pretrain.Grid(sizes=(12768, 25472, 56640),
                               scratch_d=(600, 1293, 2785, 6000, 12927, 27850, 60000, 129266, 278495),
                               d_f=(600, 1293, 2785, 6000, 12927), p=((100, 300, 700, 2000), (2000,), (2000,)),
                               seeds=8, gap_d_f=(600, 2785, 12927), pretrain_seeds=4),
                 dict(N=56640.0, d_f=2785.0), "results/decision_python"),
}


def truth_at(fitted: dict, gamma: float, point: dict, alpha: float = None) -> dict:
  """The fitted parameters with gamma (and alpha) replaced, D_T at the point and P0 unchanged."""
  alpha = fitted["alpha"] if alpha is None else alpha
  k = fitted["k"] * P0 ** (fitted["gamma"] - gamma) * point["d_f"] ** (fitted["alpha"] - alpha)
  return {**fitted, "gamma": gamma, "alpha": alpha, "k": k}


def difference(law, params, point: dict) -> float:
  """True loss with 2x D_F minus loss with 2x pre-training at the point (negative: data better)."""
  f = law.functions["finetuned_loss"]
  at = lambda d, p: float(np.ravel(f(params, N=point["N"], D_F=d, p=p))[0])
  return at(2 * point["d_f"], P0) - at(point["d_f"], 2 * P0)


def tie_gamma(law, fitted, point: dict, alpha: float = None) -> float:
  lo, hi = 0.0, 6.0  # the difference rises with gamma: pre-training gains more
  for _ in range(60):
    mid = 0.5 * (lo + hi)
    lo, hi = (mid, hi) if difference(law, truth_at(fitted, mid, point, alpha), point) < 0 else (lo, mid)
  return 0.5 * (lo + hi)


def truth_of(workdir: str) -> tuple:
  """(fits, its decision model) of the study's target python: the stored fits, or analysed afresh where the stored
  ones predate the (N, D_F, p) model (nothing is written)."""
  fits = json.loads((pathlib.Path(workdir) / "fits" / "python.json").read_text())
  if not fits.get("decision"):
    from transfer_scaling.report import workdir_report
    fits["decision"] = workdir_report.load(workdir).targets["python"].decision.to_json()
  return fits, fits["decision"]


def main():
  a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  a.add_argument("--design", choices=sorted(DESIGNS), default="quickstart",
                 help="the grid and the user's point; its study's (N, D_F, p) model is the truth")
  a.add_argument("--workdir", default="", help="another study whose model is the truth")
  a.add_argument("--studies", type=int, default=100)
  a.add_argument("--bootstrap", type=int, default=200)
  a.add_argument("--margin", type=float, default=1.0,
                 help="quickstart: gamma of the clear scenarios, the tie's -/+ this")
  a.add_argument("--alpha", type=float, default=0.3, help="quickstart: the data exponent of the last scenario")
  a.add_argument("--scenario", default="", help="run only the scenarios whose name starts with this")
  a.add_argument("--out", default="advise_calibration.csv")
  args = a.parse_args()
  grid, point, workdir = DESIGNS[args.design]
  fits, dec = truth_of(args.workdir or workdir)
  law = get_law(dec["law"])
  n = dec["noise"]
  noise = mixed.Components(seed_d=n["seed_d"], seed=n["seed"], run={0.0: n["run_scratch"], 1.0: n["run_finetuned"]},
                           cell=n.get("cell", 0.0), pretrain=n.get("pretrain", 0.0))
  g_fit, g_tie = dec["params"]["gamma"], tie_gamma(law, dec["params"], point)
  if args.design == "quickstart":
    a_tie = tie_gamma(law, dec["params"], point, args.alpha)
    # (label, the right answer, alpha, gamma); the third lies far beyond what the grid measures (see docs/advise.md)
    scenarios = [("data better", advice.DATA, None, g_tie - args.margin),
                 ("tie", advice.UNDECIDED, None, g_tie),
                 ("pre-training better, gamma beyond the grid's reach", advice.PRETRAIN, None, g_tie + args.margin),
                 (f"pre-training better, alpha {args.alpha:g}", advice.PRETRAIN, args.alpha, a_tie + 0.6 * args.margin)]
  else:  # the study's own model favours pre-training; the tie and its mirror image around it
    scenarios = [("pre-training better (the fitted model)", advice.PRETRAIN, None, g_fit),
                 ("tie", advice.UNDECIDED, None, g_tie),
                 ("data better (gamma mirrored about the tie)", advice.DATA, None, 2 * g_tie - g_fit)]
  # a scenario's draws depend on its place in the full list, so that a filtered run draws the same studies
  scenarios = [(j, x) for j, x in enumerate(scenarios) if x[0].startswith(args.scenario)]
  out = pathlib.Path(args.out)
  done = pd.read_csv(out) if out.exists() else pd.DataFrame(columns=["scenario", "study"])
  rows = done.to_dict("records")
  for j, (name, right, alpha, gamma) in scenarios:
    truth = truth_at(dec["params"], gamma, point, alpha)
    for i in range(args.studies):
      if ((done["scenario"] == name) & (done["study"] == i)).any():
        continue
      rng = np.random.default_rng([j, i])
      sc, ft = pretrain.simulate(law.name, truth, grid, noise, rng)
      t0 = time.time()
      try:
        pf = pretrain.fit_pretrain(sc, ft, scratch_law="kaplan", bootstrap=args.bootstrap, seed=i)
        f = {**fits, "decision": pf.to_json()}
        adv = advice.advise(f, d_f=point["d_f"], N=point["N"], plan=False)
        got, prob = adv.better, adv.probability
        est = adv.more_data.value - adv.more_pretraining.value
        loss = adv.loss_now.value
      except UsageError as e:
        got, prob, est, loss = f"failed: {e}", math.nan, math.nan, math.nan
      rows.append(dict(scenario=name, right=right, study=i, alpha=truth["alpha"], gamma=gamma,
                       true_difference=difference(law, truth, point), answer=got,
                       probability=prob, estimated_difference=est, predicted_loss=loss, seconds=time.time() - t0))
      pd.DataFrame(rows).to_csv(out, index=False)
  print(markdown(summary(pd.DataFrame(rows))))


def summary(t: pd.DataFrame) -> pd.DataFrame:
  out, named = [], [advice.DATA, advice.PRETRAIN]
  for name, g in t.groupby("scenario", sort=False):
    sd = float(g["estimated_difference"].std())
    right = g["right"].iloc[0]
    out.append({"scenario": name, "right answer": right, "alpha": round(float(g["alpha"].iloc[0]), 3),
                "gamma": round(float(g["gamma"].iloc[0]), 3), "studies": len(g),
                "true difference": round(float(g["true_difference"].iloc[0]), 4),
                "sd of estimated difference": round(sd, 4),
                "difference / sd": round(abs(float(g["true_difference"].iloc[0])) / sd, 1),
                "sd of predicted loss": round(float(g["predicted_loss"].std()), 4),
                "named right": f"{100 * np.mean(g['answer'] == right):.0f}%" if right != advice.UNDECIDED else "",
                "named wrong": f"{100 * np.mean(g['answer'].isin(named) & (g['answer'] != right)):.0f}%",
                "not determined": f"{100 * np.mean(g['answer'] == advice.UNDECIDED):.0f}%",
                "failed": int(g["answer"].str.startswith("failed").sum())})
  return pd.DataFrame(out)


def markdown(t: pd.DataFrame) -> str:
  lines = ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
  return "\n".join(lines + ["| " + " | ".join(str(v) for v in row) + " |" for row in t.itertuples(index=False)])


if __name__ == "__main__":
  main()
