"""`transfer-scaling train --config configs/train.py --workdir W [--resume] [--config.x=y ...]`."""
import argparse
import dataclasses
import os

from transfer_scaling.config import load_config, split_config_args
from transfer_scaling.errors import UsageError
from transfer_scaling.model_config import ModelConfig
from transfer_scaling.study.config import SHAPE_FIELDS, model_config, typed
from transfer_scaling.train import mesh, optim


@dataclasses.dataclass(frozen=True)
class Train:
  batch_size: int = 16
  max_steps: int = 600
  warmup: int = 50
  eval_every: int = 100
  patience: int = 3
  min_delta: float = 0.0
  weight_decay: float = optim.DEFAULTS.weight_decay  # the optimizer's defaults are defined once, in optim.AdamW
  clip_norm: float = optim.DEFAULTS.clip_norm
  min_lr_ratio: float = 0.1
  steps_per_call: int = 20
  ckpt_every: int = 200
  log_every: int = 10
  tensorboard: bool = True


@dataclasses.dataclass(frozen=True)
class Data:
  source: str = "toy"          # "toy", or a prepared corpus name
  seed: int = 0
  subset_bytes: tuple = ()     # one size for every member, or one per member; () the whole training split
  n_eval_batches: int = 4


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """The typed schema of configs/train.py, built as StudyConfig is (study.config.typed)."""
  seeds: tuple = (0,)
  lrs: tuple = (3e-3,)         # one lr for all members, or one per seed
  model: dict = dataclasses.field(default_factory=lambda: {"size": "13k"})  # `size` and ModelConfig options
  train: Train = Train()
  data: Data = Data()

  @staticmethod
  def from_dict(c) -> "TrainConfig":
    """The typed config of a ConfigDict or dict; its model is built once here, so a bad option fails first."""
    cfg = typed(TrainConfig, c)
    cfg.model_config()
    return cfg

  def model_config(self) -> ModelConfig:
    """The study's builder: `size` (a ladder name) sets the shape, every other field flows through; with size "" the
    shape is d_model, n_layers and n_heads."""
    opts = dict(self.model)
    size = opts.pop("size", "")
    if size:
      opts = {k: v for k, v in opts.items() if k not in SHAPE_FIELDS}
    return model_config(size, opts)


def _typed(config) -> TrainConfig:
  return config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)


def spec_from_config(config):
  """(EnsembleSpec, LoopOptions) from a configs/train.py-style ConfigDict (or its TrainConfig)."""
  from transfer_scaling.train import engine
  config = _typed(config)
  seeds, lrs = config.seeds, config.lrs
  if len(lrs) == 1:
    lrs = lrs * len(seeds)
  if len(lrs) != len(seeds):
    raise UsageError(f"{len(seeds)} seeds but {len(lrs)} lrs; give one lr, or one per seed")
  t = config.train
  members = tuple(engine.MemberSpec(seed=int(s), lr=float(lr), warmup=t.warmup) for s, lr in zip(seeds, lrs))
  step = engine.StepConfig(model=config.model_config(), batch_size=t.batch_size,
                           weight_decay=t.weight_decay, clip_norm=t.clip_norm)
  spec = engine.EnsembleSpec(step=step, members=members, ceiling=t.max_steps, eval_every=t.eval_every,
                             patience=t.patience, min_delta=t.min_delta, min_lr_ratio=t.min_lr_ratio,
                             extend=False)
  loop = engine.LoopOptions(steps_per_call=t.steps_per_call, ckpt_every=t.ckpt_every, log_every=t.log_every,
                            tensorboard=t.tensorboard)
  return spec, loop


def batches_from_config(config, spec):
  """The batch provider named by config.data.source: 'toy' or a prepared corpus name."""
  d = _typed(config).data
  subset = tuple(d.subset_bytes) or None
  if subset is not None and len(subset) == 1:
    subset = subset * len(spec.members)
  if subset is not None and len(subset) != len(spec.members):
    raise UsageError(f"data.subset_bytes has {len(subset)} entries for {len(spec.members)} members; "
                     "give one size for all members or one per member")
  if d.source == "toy":
    from transfer_scaling.data import markov
    return markov.MarkovBatches([m.seed for m in spec.members], spec.step.batch_size, spec.step.model.seq_len,
                               subset_bytes=subset, n_eval_batches=d.n_eval_batches, data_seed=d.seed)
  from transfer_scaling import data
  if subset is None:
    # The whole training split: the largest subset is every byte of the seed's document order.
    _, offsets = data.load_documents(d.source, "train")
    subset = (int(offsets[-1]),) * len(spec.members)
  B, T = spec.step.batch_size, spec.step.model.seq_len
  return data.PackedBatches.from_corpus(d.source, list(subset), B, T, [m.seed for m in spec.members],
                                        subset_seed=d.seed, valid_bytes=d.n_eval_batches * B * T + 1,
                                        test_bytes=d.n_eval_batches * B * T + 1)


def _initialize_distributed(args) -> None:
  import jax
  if not 0 <= args.process_id < args.num_processes:
    raise UsageError(f"--process-id={args.process_id} must lie in [0, --num-processes={args.num_processes})")
  # CPU processes need a collectives backend to talk to each other (GPUs use NCCL).
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=args.coordinator, num_processes=args.num_processes,
                             process_id=args.process_id)


def main(argv) -> int:
  overrides, rest = split_config_args(argv)
  parser = argparse.ArgumentParser(prog="transfer-scaling train", description=__doc__)
  parser.add_argument("--config", default="train", help="config file (default: configs/train.py)")
  parser.add_argument("--workdir", required=True, help="run directory: checkpoints, metrics, best params")
  parser.add_argument("--resume", action="store_true", help="insist on resuming the run in --workdir")
  group = parser.add_argument_group("multi-process (one process per host; all share --workdir)")
  group.add_argument("--coordinator", help="host:port of process 0, for jax.distributed.initialize")
  group.add_argument("--num-processes", type=int, default=1)
  group.add_argument("--process-id", type=int, default=0)
  mesh.add_cpu_devices_flag(parser)
  args = parser.parse_args(rest)
  from transfer_scaling import fileio
  fileio.check_given(args.workdir, "--workdir")
  config = TrainConfig.from_dict(load_config(args.config, overrides))
  # Several CPU processes are a test of multi-host code: keep one device each unless asked.
  mesh.use_cpu_cores(args.cpu_devices or (1 if args.coordinator else 0), config.train.batch_size)
  if args.coordinator:
    _initialize_distributed(args)
  spec, loop = spec_from_config(config)
  batches = batches_from_config(config, spec)
  from transfer_scaling.train import engine
  results = engine.train_ensemble(spec, batches, args.workdir, resume="require" if args.resume else "auto", loop=loop)
  import jax
  if jax.process_index():
    return 0
  for r in results:
    print(f"{r.name}: valid_loss={r.valid_loss:.4f} test_loss={r.test_loss:.4f} nats/byte at step {r.best_step}, "
          f"{r.steps} steps, {r.tokens:.3g} tokens, status={r.status}")
  print(f"results: {os.path.join(args.workdir, 'results.json')}")
  return 0
