"""How long runs take: seconds per run from a throughput by model, before and during a sweep.

A run is planned as its first step budget (min(budget, ceiling) steps of batch_size x seq_len
tokens); it may stop earlier (early stopping) or go on (the budget doubles while it improves),
so an estimate is of the plan, not of the outcome. Zero-shot runs only evaluate: no training time.

Throughput comes from the workdir's own groups/*/throughput.json where it has timed an ensemble
of the same model (tokens over the ensemble's whole wall time: compilation, evaluation and
checkpoints included), else from CPU_TOKENS_PER_S. That table is the same measure over every
ensemble of the stored CPU-scale studies (results/*/groups/*/throughput.json: 266 ensembles,
2 CPU devices on 2-core AMD EPYC machines, 2026-12-02) at context 64, float32.
A size the table lacks runs at the model FLOP/s of the largest size it has; on other hardware
the table is a guess until the sweep's first ensemble of a model has been timed.
"""
import dataclasses

from transfer_scaling import fileio, ladder
from transfer_scaling.study.config import model_config

CPU_TOKENS_PER_S = {"13k": 137_600, "25k": 84_300, "56k": 51_300}
CPU_SEQ_LEN = 64


def run_tokens(run) -> int:
  """The tokens a run's plan trains: its first step budget (no training for zero-shot runs)."""
  if run.stage == "zeroshot":
    return 0
  return min(run.budget, run.ceiling or run.budget) * run.batch_size * run.model_config().seq_len


def _model_key(model: dict) -> tuple:
  return tuple(sorted(model.items()))


def measured(workdir) -> dict:
  """{model key: tokens/s} from the workdir's timed ensembles (groups/*/throughput.json); {} if none."""
  gdir = fileio.path(workdir) / "groups"
  totals = {}
  for t in sorted(gdir.glob("*/throughput.json")) if gdir.exists() else []:
    try:
      d = fileio.read_json(t)
      key, tokens, wall = _model_key(d["model"]), float(d["tokens"]), float(d["wall_s"])
    except (OSError, ValueError, KeyError, TypeError):
      continue  # a damaged timing only loses its own sample; the analysis names it
    if tokens > 0 and wall > 0:
      a = totals.setdefault(key, [0.0, 0.0])
      a[0], a[1] = a[0] + tokens, a[1] + wall
  return {k: tokens / wall for k, (tokens, wall) in totals.items()}


def table_rate(run) -> float:
  """tokens/s of the run's model on 2 CPU cores, from CPU_TOKENS_PER_S (through FLOPs per token)."""
  model = run.model_config()
  ref = run.size if run.size in CPU_TOKENS_PER_S else max(
      CPU_TOKENS_PER_S, key=lambda s: ladder.flops_per_token(model_config(s, {"seq_len": CPU_SEQ_LEN})))
  flops_per_s = CPU_TOKENS_PER_S[ref] * ladder.flops_per_token(model_config(ref, {"seq_len": CPU_SEQ_LEN}))
  return flops_per_s / ladder.flops_per_token(model)


@dataclasses.dataclass(frozen=True)
class Estimate:
  seconds: float
  runs: int
  measured_runs: int  # of them, timed from this workdir's own throughput (the rest from the table)

  @property
  def source(self) -> str:
    if self.measured_runs == self.runs:
      return "this workdir's measured throughput"
    if not self.measured_runs:
      return "the throughput table of 2 CPU cores (study/estimate.py)"
    return f"this workdir's measured throughput for {self.measured_runs} of them, the 2-CPU-core table for the rest"


def estimate(runs, rates: dict) -> Estimate:
  """Seconds to train `runs` at `rates` ({model key: tokens/s}, from measured()) or the table."""
  seconds, timed = 0.0, 0
  for r in runs:
    rate = rates.get(_model_key(dataclasses.asdict(r.model_config())))
    timed += rate is not None
    tokens = run_tokens(r)
    seconds += tokens / (rate or table_rate(r)) if tokens else 0.0
  return Estimate(seconds=seconds, runs=len(runs), measured_runs=timed)


def duration(seconds: float) -> str:
  """'45 s', '7 min', '2.5 h', '3.1 days': as a person says a wait."""
  if seconds < 90:
    return f"{max(seconds, 0):.0f} s"
  if seconds < 90 * 60:
    return f"{seconds / 60:.0f} min"
  if seconds < 48 * 3600:
    return f"{seconds / 3600:.1f} h"
  return f"{seconds / 86400:.1f} days"
