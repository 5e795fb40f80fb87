r"""Does advise's "what to run next" narrow the decision by what it predicts? A study extended as advised.

  python -m experiments.advise_next_runs --workdir runs/decision_python --size 56k --d-f 2785
  python -m experiments.advise_next_runs --workdir /tmp/next_runs --toy     # a toy study swept first

1. (--toy) Sweeps a toy study (toy-prose -> toy-code, sizes 13k and 25k, 3 seeds, pre-training kept at 3 steps
   and varied at 13k) in the workdir. The study is analyzed where it has no fits yet.
2. Asks advise at --size, --d-f and the break-even cost ratio (where the two options buy the same loss for the
   same cost: undetermined by construction), and takes its recommendation (`--pick`, else the first): the
   command, and the predicted sd of the decision's difference before and after.
3. Runs that command as it is (`transfer-scaling sweep --config W/study.json --workdir W --config....`; the
   workdir must hold the study's checkpoints), analyzes again, and measures the sd of the same difference over
   the new bootstrap replicates.

Prints and writes (W/next_runs.json) the predicted and measured sd before and after and their ratios
(docs/advise.md: the check is that the measured sd after is within a factor 1.5 of the predicted one).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np

from transfer_scaling import fileio
from transfer_scaling.laws.registry import get_law
from transfer_scaling.report import advice
from transfer_scaling.study import toy

CONFIG = """
from transfer_scaling.study import toy

def get_config():
  c = toy.config()
  c.study = "next_runs"
  c.sizes, c.seeds = ("13k", "25k"), (0, 1, 2)
  c.d_f.min, c.d_f.max, c.d_f.num = 1000, 8000, 3
  c.scratch_d_max = 20_000
  c.pretrain.update(steps=80, first_kept_step=20, num_kept=3)
  c.gap.sizes = ("13k",)
  c.gap.d_f.min, c.gap.d_f.max, c.gap.d_f.num = 1000, 8000, 2
  c.analysis.bootstrap = 400
  c.analysis.example_size, c.analysis.example_d_f = "25k", 2828
  return c
"""


def _sd(fits: dict, N: float, d_f: float, p0: float, p_alt: float) -> float:
  """The sd over the bootstrap replicates of loss(2 d_f, p0) - loss(d_f, p_alt), the decision's difference."""
  dec = fits["decision"]
  loss = get_law(dec["law"]).functions["finetuned_loss"]
  reps = {k: np.asarray(v) for k, v in dec["bootstrap"].items()}
  at = lambda D, p: np.ravel(loss(reps, N=np.array([N]), D_F=np.array([D]), p=np.array([p])))
  d = at(2 * d_f, p0) - at(d_f, p_alt)
  return float(np.std(d[np.isfinite(d)], ddof=1))


def _run(*argv) -> None:
  # A process of its own, as the user runs it: the CLI chooses the device layout before JAX starts.
  code = subprocess.call([sys.executable, "-m", "transfer_scaling.cli", *argv])
  if code:
    raise SystemExit(f"`transfer-scaling {' '.join(argv)}` exited with {code}")


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True, help="a finished study's workdir (with its checkpoints)")
  p.add_argument("--toy", action="store_true", help="sweep the toy study into WORKDIR/study first")
  p.add_argument("--size", default="25k", help="the size advise is asked about (a size of the study)")
  p.add_argument("--d-f", type=float, default=2828.0, help="the D_F advise is asked about")
  p.add_argument("--pick", default="", help="the recommendation to run (its `what`); default: the first")
  args = p.parse_args()
  study = args.workdir
  t0 = time.time()
  if args.toy:
    os.environ.setdefault("TRANSFER_SCALING_DATA", os.path.join(args.workdir, "data"))
    toy.write_corpora(os.path.join(args.workdir, "files"))
    config = os.path.join(args.workdir, "next_runs.py")
    fileio.write_text_atomic(config, CONFIG)
    study = os.path.join(args.workdir, "study")
    _run("sweep", "--config", config, "--workdir", study)
  if args.toy or not (fileio.path(study) / "fits").exists():
    _run("analyze", "--workdir", study)
  fits = advice.load(study)
  N, d_f = float(fits["sizes"][args.size]), float(args.d_f)
  probe = advice.advise(fits, d_f, N, plan=False)
  ratio = probe.break_even_cost_ratio.value
  a = advice.advise(fits, d_f, N, cost_ratio=ratio, workdir=study)
  print(f"study ready: {time.time() - t0:.0f} s; at the break-even ratio {ratio:.3g}: {a.better} "
        f"({100 * a.probability:.0f}% favour {a.favours})")
  if not a.next_runs:
    raise SystemExit("advise recommended nothing (decided, or no design in the fits)")
  p0, p_alt = a.pretrain_steps, a.pretrain_steps + ratio * d_f
  every = advice.next_runs(fits, N, d_f, p0, p_alt, top=10, workdir=study)
  rec = next((r for r in every if r["what"] == args.pick), None) if args.pick else a.next_runs[0]
  if rec is None:
    raise SystemExit(f"no recommendation {args.pick!r}; advise weighed: {', '.join(r['what'] for r in every)}")
  before = _sd(fits, N, d_f, p0, p_alt)
  print(f"recommendation: {rec['what']} ({rec['runs']} runs); predicted sd {rec['sd_now']:.4g} -> "
        f"{rec['sd_after']:.4g}\n  {rec['command']}")
  t1 = time.time()
  argv = shlex.split(rec["command"])
  _run(*argv[1:])
  _run("analyze", "--workdir", study)
  after = _sd(advice.load(study), N, d_f, p0, p_alt)
  out = {"break_even_ratio": ratio, "what": rec["what"], "runs": rec["runs"], "predicted_seconds": rec["seconds"],
         "measured_seconds": time.time() - t1, "predicted_sd_before": rec["sd_now"],
         "predicted_sd_after": rec["sd_after"], "measured_sd_before": before, "measured_sd_after": after,
         "predicted_narrowing": rec["sd_after"] / rec["sd_now"], "measured_narrowing": after / before,
         "measured_after_over_predicted_after": after / rec["sd_after"]}
  print(json.dumps(out, indent=2))
  fileio.write_json_atomic(os.path.join(study, "next_runs.json"), out)


if __name__ == "__main__":
  main()
