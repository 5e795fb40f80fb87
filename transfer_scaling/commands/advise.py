"""`transfer-scaling advise --workdir W [--target T] --d-f D_F --size N [--cost-ratio C] [--extra-steps S] [--json]`.

Pre-train more or collect more fine-tuning data? From the model `analyze` fitted to the study in W
(fits/T.json: the fine-tuned loss in N, D_F and the pre-training amount p, fitted to every
fine-tuned run), both options at the user's N: the predicted loss now, with 2x D_F and with 2x
pre-training (or S more steps), the break-even cost ratio C_f/C_p below which more data is the
better buy, with --cost-ratio the same-budget comparison, which is better with the share of
bootstrap replicates that favour it (or "not determined" below the threshold), and a warning for
every value outside what was measured (docs/advise.md). W is a study's workdir
or one that `analyze --runs` wrote; --target may be left out when there is one target; D_F is
in the units of the runs (bytes for a study). --size takes a measured size's name or any ladder name (100k) or a
number of non-embedding parameters (85M, 85e6); --cost-ratio is the number of pre-training steps that cost
as much as one unit of fine-tuning data.
"""
import argparse
import json
import math

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError


SUFFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9}


def _number(text: str, what: str, hint: str = "") -> float:
  """A number, optionally with a suffix k, M or B (85M = 85e6)."""
  t = text.strip()
  scale = SUFFIX.get(t[-1:], 1.0) if t else 1.0
  try:
    v = float(t[:-1] if scale != 1.0 else t) * scale
  except ValueError:
    raise UsageError(f"{what} {text!r} is not a number{hint}") from None
  return v


def _size(text: str, fits: dict) -> float:
  """N of --size: a size of the study, any ladder name, or a number of non-embedding parameters."""
  from transfer_scaling import ladder
  from transfer_scaling.study.config import model_config
  if text in fits["sizes"]:
    return float(fits["sizes"][text])
  if text in ladder.LADDER:
    return float(ladder.n_params(model_config(text, {})))
  hint = f"; give a ladder name ({', '.join(ladder.LADDER)}) or a number of non-embedding parameters, e.g. 85M or 85e6"
  N = _number(text, "--size", hint)
  if not (math.isfinite(N) and N >= 1):
    raise UsageError(f"--size {text} must be a positive number of parameters{hint}")
  return N


def main(argv) -> int:
  p = argparse.ArgumentParser(prog="transfer-scaling advise", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True)
  p.add_argument("--target", help="the target (may be left out when there is one)")
  p.add_argument("--d-f", required=True, help="fine-tuning data you have, in the units of the runs (bytes for a study)")
  p.add_argument("--size", required=True, help="model size: a ladder name (e.g. 100k) or N (non-embedding parameters)")
  p.add_argument("--cost-ratio", help="pre-training steps that cost as much as one unit of fine-tuning data")
  p.add_argument("--extra-steps", help="the pre-training option: this many more steps (default: double them)")
  p.add_argument("--json", action="store_true", help="print the advice as JSON (keys better, probability, "
                                                      "break_even_cost_ratio, multiplier, ...)")
  args = p.parse_args(argv)
  fileio.check_given(args.workdir, "--workdir")
  from transfer_scaling.report import advice
  d_f = _number(args.d_f, "--d-f", "; give an amount of fine-tuning data, e.g. 5000, 5k or 5e3")
  if not (math.isfinite(d_f) and d_f > 0):
    raise UsageError(f"--d-f must be a positive number (fine-tuning data in the runs' units, bytes for a study), "
                     f"got {args.d_f}")
  cost = None
  if args.cost_ratio is not None:
    cost = _number(args.cost_ratio, "--cost-ratio")
    if not (math.isfinite(cost) and cost > 0):
      raise UsageError(f"--cost-ratio must be a positive finite number, got {args.cost_ratio}")
  extra = None
  if args.extra_steps is not None:
    extra = _number(args.extra_steps, "--extra-steps", "; give a number of pre-training steps, e.g. 2000 or 2k")
    if not (math.isfinite(extra) and extra > 0):
      raise UsageError(f"--extra-steps must be a positive finite number of pre-training steps, got {args.extra_steps}")
  fits = advice.load(args.workdir, args.target)
  N = _size(args.size, fits)
  a = advice.advise(fits, d_f, N, cost, extra, workdir=args.workdir)
  print(json.dumps(a.to_json(), indent=2) if args.json else a.text())
  return 0
