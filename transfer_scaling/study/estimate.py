"""How long runs take: seconds per run from a throughput by model, before and during a sweep.

A run is planned as its first step budget (min(budget, ceiling) steps of batch_size x seq_len
tokens); it may stop earlier (early stopping) or go on (the budget doubles while it improves),
so `estimate` is of the plan, not of the outcome. `Estimate.expected` scales it, per stage, by how runs
went against their first budgets and by how much the later learning-rate and bracketing rounds added
(`History`: the workdir's own finished ensembles, else the stored studies of the same protocol). Zero-shot
runs only evaluate: no training time.

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
  """The tokens a run's plan trains: its first step budget (no training for zero-shot runs; a cool-down trains
  from the step it branches at, not from 0)."""
  if run.stage == "zeroshot":
    return 0
  steps = min(run.budget, run.ceiling or run.budget) - ((run.p or 0) if run.stage == "cooldown" else 0)
  return max(steps, 0) * run.batch_size * run.model_config().seq_len


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
class History:
  """Per stage, measured seconds per estimated second (`overrun`) and the final plan's estimated seconds per
  first-round second (`rounds`)."""
  overrun: dict
  rounds: dict
  source: str


# How the runs of the stored studies went against their first-round plan, per stage, as medians over the
# studies (2-core AMD EPYC, 2026-12-07; docs/benchmarks.md, "Time estimates"). `overrun`: the ensembles'
# measured wall seconds per second estimated from their runs' first budgets (from-scratch runs stop early;
# fine-tuned ones at the decision scale go on past their first budget; its pre-training runs at a larger batch
# than the timed ensembles). `rounds`: the estimated seconds of the runs planned in the end per second of the
# first round's (a bracketing round adds runs on more data, so it costs more than its count). Studies that
# tune learning rates in rounds (`lr_rounds`, the decision scale: results/*_decision, decision_python*, 12
# studies) add far more than those that do not (the CPU scale: results/*_cpu, quickstart*, synthetic_distance,
# 12 studies). A workdir with finished ensembles of a stage moves them toward its own (`history`).
DECISION = History({"pretrain": 0.49, "cooldown": 0.56, "scratch": 0.53, "finetune": 1.76},
                   {"scratch": 9.0, "finetune": 2.2}, "the stored decision-scale studies")
CPU = History({"pretrain": 0.98, "cooldown": 0.58, "scratch": 0.62, "finetune": 0.81},
              {"scratch": 3.1, "finetune": 1.0}, "the stored CPU-scale studies")


PRIOR_S = 600.0  # estimated seconds of ensembles the stored factor counts as, beside a workdir's own


def default(cfg) -> History:
  """The stored studies' factors for a study of cfg's protocol: with learning-rate rounds or without."""
  return DECISION if cfg.scratch.lr_rounds or cfg.finetune.lr_rounds else CPU


def history(runs, records: dict, rates: dict, first=None, base: History = DECISION,
            prior_s: float = PRIOR_S) -> History:
  """How this workdir's finished ensembles went: `runs` the current plan's (first budgets), `records` by id
  (a record's wall_s is its ensemble's), `first` the runs of the study's first round (the plan made without
  records) for the rounds, given once the plan is settled (else its rounds are not over). A stage with nothing
  finished keeps `base`'s factors (default(cfg): the stored studies of its protocol); prior_s: how many
  estimated seconds of ensembles `base` counts as beside the workdir's (0: the workdir's alone)."""
  groups = {}
  for r in runs:
    rec = records.get(r.id)
    if rec and rec.get("group") and isinstance(rec.get("wall_s"), (int, float)) and rec["wall_s"] > 0:
      groups.setdefault(rec["group"], (rec["wall_s"], []))[1].append(r)
  wall, est = {}, {}
  for w, rs in groups.values():
    e = estimate(rs, rates).seconds
    if e > 0:
      wall[rs[0].stage] = wall.get(rs[0].stage, 0.0) + w
      est[rs[0].stage] = est.get(rs[0].stage, 0.0) + e
  # The ratio of sums (what a total takes), drawn toward the stored factor by PRIOR_S of estimated seconds at
  # it: a few ensembles, one of them slowed by another sweep on the machine, do not set the factor alone.
  overrun = {**base.overrun, **{s: (wall[s] + prior_s * base.overrun.get(s, 1.0)) / (est[s] + prior_s)
                                for s in est}}
  rounds = dict(base.rounds)
  if first is not None:
    now, then = estimate(runs, rates).by_stage, estimate(first, rates).by_stage
    rounds.update({s: now[s] / then[s] for s in rounds if then.get(s) and s in est})
  own = "this workdir's finished ensembles" if est else ""
  return History(overrun, rounds, f"{own}, {base.source} for the rest" if own else base.source)


@dataclasses.dataclass(frozen=True)
class Estimate:
  seconds: float      # at the runs' first step budgets
  runs: int
  measured_runs: int  # of them, timed from this workdir's own throughput (the rest from the table)
  by_stage: dict = dataclasses.field(default_factory=dict)  # seconds at first budgets per stage

  @property
  def source(self) -> str:
    if self.measured_runs == self.runs:
      return "this workdir's measured throughput"
    if not self.measured_runs:
      return "the throughput table of 2 CPU cores (study/estimate.py)"
    return f"this workdir's measured throughput for {self.measured_runs} of them, the 2-CPU-core table for the rest"

  def expected(self, hist: History, rounds: bool = True) -> float:
    """Seconds the runs should take as the study's runs went: stopped early or continued (overrun), and with
    the runs later learning-rate and bracketing rounds add (rounds: False where they have been planned)."""
    return sum(s * hist.overrun.get(k, 1.0) * (hist.rounds.get(k, 1.0) if rounds else 1.0)
               for k, s in self.by_stage.items())


def estimate(runs, rates: dict) -> Estimate:
  """Seconds to train `runs` at their first budgets, at `rates` ({model key: tokens/s}, from measured()) or the
  table."""
  seconds, timed, by_stage = 0.0, 0, {}
  for r in runs:
    rate = rates.get(_model_key(dataclasses.asdict(r.model_config())))
    timed += rate is not None
    tokens = run_tokens(r)
    s = tokens / (rate or table_rate(r)) if tokens else 0.0
    seconds += s
    by_stage[r.stage] = by_stage.get(r.stage, 0.0) + s
  return Estimate(seconds=seconds, runs=len(runs), measured_runs=timed, by_stage=by_stage)


def duration(seconds: float) -> str:
  """'45 s', '7 min', '2.5 h', '3.1 days': as a person says a wait."""
  if seconds < 90:
    return f"{max(seconds, 0):.0f} s"
  if seconds < 90 * 60:
    return f"{seconds / 60:.0f} min"
  if seconds < 48 * 3600:
    return f"{seconds / 3600:.1f} h"
  return f"{seconds / 86400:.1f} days"
