"""Before any training: validate a study, group its runs into ensembles, assign groups to shards.

Runs of one shape (stage, size, target, batch, schedule, step budget) are
vmapped together, at most `ensemble.max_members` per group; step budgets are
rounded to eval_every * 2^j (runs_lib.step_budget), so members have similar needs.
A group's id hashes its members' ids, and a shard owns the groups whose id
hashes to it, so two workers never train the same group.
"""
import dataclasses
import hashlib

from transfer_scaling import ladder
from transfer_scaling.errors import UsageError
from transfer_scaling.study import runs as runs_lib


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
  def max_steps(self) -> int:
    return max(r.max_steps for r in self.runs)


def validate(config, corpus_bytes: dict) -> None:
  """Raises UsageError naming the field to change; corpus_bytes: corpus -> train bytes available."""
  for field, sizes in (("sizes", config.sizes), ("gap.sizes", config.gap.sizes)):
    for s in sizes:
      if s not in ladder.LADDER:
        raise UsageError(f"config.{field} has {s!r}, which is not on the ladder; "
                         f"use names from transfer_scaling/ladder.py: {', '.join(ladder.LADDER)}")
  missing = [s for s in config.gap.sizes if s not in config.sizes]
  if missing:
    raise UsageError(f"config.gap.sizes has {missing} which are not in config.sizes; add them to config.sizes "
                     "(they must be pre-trained) or remove them from config.gap.sizes")
  if not config.seeds:
    raise UsageError("config.seeds is empty; give at least one seed, e.g. --config.seeds=(0,)")
  if not 0 < config.d_f.min <= config.d_f.max or config.d_f.num < 1:
    raise UsageError(f"config.d_f must satisfy 0 < min <= max and num >= 1 (got min={config.d_f.min}, "
                     f"max={config.d_f.max}, num={config.d_f.num})")
  pt = config.pretrain
  if not 0 < pt.first_kept_step <= pt.steps or pt.steps % pt.first_kept_step:
    raise UsageError(f"config.pretrain.first_kept_step={pt.first_kept_step} must divide pretrain.steps="
                     f"{pt.steps} (checkpoints are taken every first_kept_step steps); change either")
  for name in (config.source,) + runs_lib.targets(config):
    if name not in corpus_bytes:
      raise UsageError(f"corpus {name!r} is unknown; choose one of: {', '.join(sorted(corpus_bytes))}")
  tokens = config.batch_size * (config.seq_len + 1)
  for target in runs_lib.targets(config):
    want = max(list(runs_lib.d_f_grid(config)) + [int(x) for x in config.d_f_large]
               + ([config.gap.d_f_max] if config.gap.sizes else []))
    have = corpus_bytes[target]
    if want > have:
      raise UsageError(f"the study asks for {want:,} bytes of {target!r} but its training split has {have:,}; "
                       f"lower config.d_f.max / config.d_f_large / config.gap.d_f_max to <= {have:,} "
                       "or prepare a larger corpus")
    if config.d_f.min < tokens:
      raise UsageError(f"config.d_f.min={config.d_f.min} bytes is less than one batch "
                       f"(batch_size * (seq_len + 1) = {tokens}); raise d_f.min or lower batch_size / seq_len")
  if corpus_bytes[config.source] < tokens:
    raise UsageError(f"source corpus {config.source!r} has fewer bytes than one batch; prepare a larger corpus")


def _shape(run: runs_lib.Run) -> tuple:
  # Everything the members of one vmapped ensemble must share.
  return (runs_lib.STAGES.index(run.stage), run.stage, run.size, run.corpus, run.batch_size, run.seq_len, run.dtype,
          run.schedule, run.warmup, run.eval_every, run.patience, run.keep_steps, run.init_run, run.max_steps)


def group_runs(runs, max_members: int) -> list:
  """Runs -> ensembles, in stage order; deterministic in the set of runs."""
  by_shape = {}
  for r in runs:
    by_shape.setdefault(_shape(r), []).append(r)
  groups = []
  for shape in sorted(by_shape, key=repr):
    members = sorted(by_shape[shape], key=lambda r: (r.max_steps, r.id))
    chunk = []
    for r in members:
      if len(chunk) >= max_members:
        groups.append(make_group(chunk))
        chunk = []
      chunk.append(r)
    if chunk:
      groups.append(make_group(chunk))
  return sorted(groups, key=lambda g: (runs_lib.STAGES.index(g.stage), g.id))


def make_group(runs) -> Group:
  """The ensemble of exactly these runs (of one shape); its id hashes their ids."""
  runs = tuple(sorted(runs, key=lambda r: r.id))
  gid = hashlib.sha256(",".join(r.id for r in runs).encode()).hexdigest()[:12]
  return Group(id=gid, stage=runs[0].stage, runs=runs)


def parse_shard(text: str) -> tuple:
  """'i/n' -> (i, n)."""
  try:
    i, n = (int(x) for x in text.split("/"))
  except ValueError:
    raise UsageError(f"--shard {text!r} must look like i/n, e.g. 0/4") from None
  if not (n >= 1 and 0 <= i < n):
    raise UsageError(f"--shard {text!r} needs 0 <= i < n, e.g. 0/{max(n, 1)}")
  return i, n


def shard_of(group: Group, n: int) -> int:
  return int(group.id, 16) % n


def owned(groups, shard: tuple) -> list:
  i, n = shard
  return [g for g in groups if shard_of(g, n) == i]


def summary(groups) -> str:
  lines = []
  for stage in runs_lib.STAGES:
    gs = [g for g in groups if g.stage == stage]
    if gs:
      n = sum(len(g.runs) for g in gs)
      lines.append(f"{stage}: {n} runs in {len(gs)} ensembles (largest {max(len(g.runs) for g in gs)})")
  return "\n".join(lines)
