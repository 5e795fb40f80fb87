"""What to train: a study's runs grouped into ensembles, the bracketing rounds, the shards.

Runs of one shape (stage, size, target, model, batch, schedule, stopping, and for
fine-tuning the pre-training run) are vmapped together, at most `max_members` per
ensemble, split into equal parts; members differ in seed, data, learning rate, warm-up
and step budget. A group's id hashes its members' ids, and a shard owns the groups whose
id hashes to it, so two workers never train the same group.

The plan is a pure function of the config, the corpora and the records so far: the
learning-rate rounds (study/lr_grid.py) add a rate beyond the edge of a cell's grid once the
runs of its (stage, target, size, p) have records and its winner sits at the edge; the
bracketing (study/bracket.py) adds from-scratch runs once the fine-tuned and from-scratch
runs of a (target, size) have records (rounds included); every worker computes the same plan
from the same records.
"""
import dataclasses
import hashlib

import pandas as pd

from transfer_scaling.errors import UsageError
from transfer_scaling.study import arms, bracket, lr_grid, results, runs as runs_lib, selection
from transfer_scaling.study.config import StudyConfig

REF, TRANSFERRED = arms.REFERENCE.name, arms.TRANSFERRED.name


@dataclasses.dataclass(frozen=True)
class Group:
  id: str
  stage: str
  runs: tuple  # of runs_lib.Run, sorted by id

  @property
  def needs(self) -> tuple:
    """Ids of the pre-training runs whose checkpoints this group starts from."""
    return tuple(sorted({r.init_run for r in self.runs if r.init_run}))

  @property
  def ceiling(self) -> int:
    return max(r.ceiling for r in self.runs)


@dataclasses.dataclass
class Plan:
  runs: list          # every run the study has now
  groups: list        # their ensembles, in stage order
  settled: bool       # True: no record still to come can add runs
  brackets: dict      # (target, size) -> {"rounds": n, "added": [D...], "outside": {D_F: why}}
  lrs: dict = dataclasses.field(default_factory=dict)  # (stage, target, size, D_F, p) -> {"grid": [lr], "limit": why}


def _shape(run: runs_lib.Run) -> tuple:
  # Everything the members of one vmapped ensemble share; the rest is per member.
  d = dataclasses.asdict(run)
  # Each member starts from its own model (init_run), but the runs that continue another's training
  # share the step they start at, the ensemble's (arms.Arm.continues).
  for k in ("seed", "data_seed", "lr", "warmup", "budget", "d_f", "init_run") + (
      () if arms.get(run.stage).continues else ("init",)):
    d.pop(k)
  return (arms.ORDER[run.stage], repr(sorted(d.items())))


def group_runs(runs, max_members: int) -> list:
  """Runs -> ensembles, in stage order; deterministic in the set of runs."""
  by_shape = {}
  for r in runs:
    by_shape.setdefault(_shape(r), []).append(r)
  groups = []
  for shape in sorted(by_shape):
    members = sorted(by_shape[shape], key=lambda r: (r.budget, r.d_f or 0, r.id))
    n = -(-len(members) // max_members)
    size = -(-len(members) // n)  # equal parts: one compiled shape where possible ...
    if n > 1 and size % 2 and size < max_members:
      size += 1  # ... of an even width, which splits over two devices member-parallel
    groups += [make_group(members[i:i + size]) for i in range(0, len(members), size)]
  return sorted(groups, key=lambda g: (arms.ORDER[g.stage], g.id))


def make_group(runs) -> Group:
  """The ensemble of exactly these runs (of one shape); its id hashes their ids."""
  runs = tuple(sorted(runs, key=lambda r: r.id))
  gid = hashlib.sha256(",".join(r.id for r in runs).encode()).hexdigest()[:12]
  return Group(id=gid, stage=runs[0].stage, runs=runs)


def make_plan(cfg: StudyConfig, hashes: dict, train_bytes: dict, records: dict) -> Plan:
  """The study's runs and ensembles given the records so far (id -> record)."""
  base = runs_lib.build_runs(cfg, hashes)
  all_runs, groups = list(base), group_runs(base, cfg.max_members)
  settled, brackets, lrs = True, {}, {}

  def extend_lrs(runs):
    nonlocal settled
    out = []
    for unit in _units(runs):
      more, done = _lr_rounds(cfg, unit, records, lrs)
      out += more
      settled = settled and done
    return out

  for more in extend_lrs(base):
    all_runs += more
    groups += group_runs(more, cfg.max_members)
  for target in cfg.targets:
    grid = runs_lib.scratch_grid(cfg, train_bytes[target])
    for size in cfg.sizes:
      info = brackets.setdefault((target, size), {"rounds": 0, "added": [], "outside": {}})
      mine = [r for r in all_runs if r.corpus == target and r.size == size and
              (r.stage == REF or (r.stage == TRANSFERRED and r.p == cfg.pretrain.steps))]
      for round_ in range(cfg.bracket.rounds + 1):
        if not all(r.id in records for r in mine):
          settled = False
          break
        cells = _cells(results.frame(records[r.id] for r in mine))
        info["outside"] = bracket.outside(cells[REF], cells[TRANSFERRED], cfg.bracket.max_gap)
        new = bracket.new_points(cells[REF], cells[TRANSFERRED], grid, cfg.bracket.max_gap)
        if not new or round_ == cfg.bracket.rounds:
          break
        added = [r for d in new for r in runs_lib.target_runs(cfg, hashes, REF, target, size, d)]
        info["rounds"], info["added"] = round_ + 1, info["added"] + new
        all_runs += added
        groups += group_runs(added, cfg.max_members)
        mine += added
        for more in extend_lrs(added):
          all_runs += more
          groups += group_runs(more, cfg.max_members)
          mine += more
  return Plan(runs=all_runs, groups=groups, settled=settled, brackets=brackets, lrs=lrs)


def record(p: Plan) -> dict:
  """Plan.brackets and Plan.lrs as plan.json holds them (JSON: lists of rows, D_F keys as strings), for the report."""
  return {
      "brackets": [{"target": t, "size": s, "rounds": int(b["rounds"]), "added": [int(d) for d in b["added"]],
                    "outside": {str(d): why for d, why in b["outside"].items()}}
                   for (t, s), b in sorted(p.brackets.items())],
      "lrs": [{"stage": k[0], "target": k[1], "size": k[2], "D_F": int(k[3]), "p": k[4],
               "grid": [float(x) for x in v["grid"]], "limit": v["limit"]}
              for k, v in sorted(p.lrs.items(), key=lambda kv: repr(kv[0]))]}


def _units(runs) -> list:
  """Trained runs -> lists of one (stage, target, size, p): the cells whose rate rounds are decided together."""
  by = {}
  for r in runs:
    if r.stage in arms.TUNED:
      by.setdefault((r.stage, r.corpus, r.size, r.init), []).append(r)
  return [by[k] for k in sorted(by)]


def _lr_rounds(cfg: StudyConfig, unit: list, records: dict, lrs: dict) -> tuple:
  """([runs added by each round of the unit, one list per round], whether no record still to come can add more).

  A round waits for every run of the unit so far; each of its cells whose chosen rate is at the
  edge of its grid gets the next rate beyond it (lr_grid.next_rate), every tuning seed and warm-up.
  Once no cell extends, the seeds that do not tune follow at their cell's chosen setting (the last
  list). lrs (cell -> grid and limit) is filled in as the rounds are decided.
  """
  st = arms.settings(cfg, unit[0].stage)
  cur, rounds = list(unit), []
  for round_ in range(st.lr_rounds + 1):
    if not all(r.id in records for r in cur):
      return rounds, False
    _, choices = selection.choose(results.frame(records[r.id] for r in cur))
    new = []
    for _, c in choices.iterrows():
      cell = [r for r in cur if r.d_f == int(c["D_F"])]
      grid = sorted({r.lr for r in cell})
      lr, why = lr_grid.next_rate(st, grid, float(c["lr"]), round_)
      lrs[(c["stage"], c["target"], c["size"], int(c["D_F"]), None if pd.isna(c["p"]) else int(c["p"]))] = {
          "grid": grid, "limit": why}
      if lr is not None:
        new += [dataclasses.replace(r, lr=lr) for r in cell if r.lr == float(c["lr"])]
    if not new:
      rest = _followers(cfg, cur, choices)
      return rounds + ([rest] if rest else []), all(r.id in records for r in rest)
    rounds.append(new)
    cur += new
  return rounds, True


def _followers(cfg: StudyConfig, runs: list, choices) -> list:
  """The runs of the seeds that do not tune, each at its cell's chosen setting (Run.follows = "chosen")."""
  tuning = runs_lib.tuning_seeds(cfg, runs[0].stage)
  rest = [s for s in cfg.seeds if s not in tuning]
  out = []
  for _, c in choices.iterrows():
    cell = [r for r in runs if r.d_f == int(c["D_F"]) and r.lr == float(c["lr"]) and r.warmup == int(c["warmup"])]
    # A fine-tuned follower starts from its own pre-trained model; a from-scratch one from any tuning run's
    # setting (keying those by pre-training seed too broke studies with more pre-training seeds than tuners).
    model = (lambda seed, r: runs_lib.pretrain_seed(cfg, seed) if r.init_run else None)
    by_model = {model(r.seed, r): r for r in cell}
    for s in rest:
      r = by_model[model(s, cell[0])]
      out.append(dataclasses.replace(r, seed=s, follows="chosen"))
  return out


def _cells(df) -> dict:
  """{reference arm: {D: mean validation loss}, transferred arm: {D_F: ...}} of the chosen settings."""
  chosen, _ = selection.choose(df)
  out = {REF: {}, TRANSFERRED: {}}
  for stage in out:
    part = chosen[chosen["stage"] == stage]
    for d, g in part.groupby("D_F"):
      out[stage][int(d)] = float(g["valid_loss"].mean())
  return out


def parse_shard(text) -> tuple:
  """'i/n' -> (i, n)."""
  try:
    i, n = (int(x) for x in str(text).split("/"))
  except ValueError:
    raise UsageError(f"--shard {text!r} must look like i/n, e.g. 0/4") from None
  return check_shard((i, n))


def check_shard(shard) -> tuple:
  ok = isinstance(shard, tuple) and len(shard) == 2 and all(isinstance(x, int) and not isinstance(x, bool)
                                                           for x in shard)
  if not ok or not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
    raise UsageError(f"shard {shard!r} must be (i, n) with integers 0 <= i < n, e.g. (0, 4) or --shard 0/4")
  return shard


def shard_of(group: Group, n: int) -> int:
  return int(group.id, 16) % n


def owned(groups, shard: tuple) -> list:
  i, n = shard
  return [g for g in groups if shard_of(g, n) == i]


def summary(groups) -> str:
  lines = []
  for stage in arms.STAGES:
    gs = [g for g in groups if g.stage == stage]
    if gs:
      n = sum(len(g.runs) for g in gs)
      lines.append(f"{stage}: {n} runs in {len(gs)} ensembles (largest {max(len(g.runs) for g in gs)})")
  return "\n".join(lines)
