"""Train a small byte-level model, or a vmapped ensemble, on the learnable toy stream.

Command:
  transfer-scaling train --config configs/train.py --workdir runs/train
  # on a prepared corpus, each member on its own nested subset of 1e5 bytes:
  transfer-scaling train --config configs/train.py --workdir runs/py \
      --config.data.source=python --config.data.subset_bytes='(100000,)'
  # an ensemble of 4 learning rates in one jitted step:
  transfer-scaling train --config configs/train.py --workdir runs/train4 \
      --config.seeds='(0,1,2,3)' --config.lrs='(1e-3,3e-3,1e-2,3e-2)'

Runtime: about 40 s on a busy 2-core CPU (load 8), most of it start-up and compilation.
Expected: the held-out loss falls from ln(256) = 5.55 towards the stream's
floor ln(4) = 1.39 nats/byte (it reached 1.44 in 600 steps here);
results.json, metrics.jsonl, tb/ and best/member_K.msgpack appear in the workdir,
and rerunning the command resumes (or, when finished, just reports).
"""
import ml_collections


def get_config():
  c = ml_collections.ConfigDict()
  c.seeds = (0,)
  c.lrs = (3e-3,)            # one lr for all members, or one per seed
  c.model = ml_collections.ConfigDict(dict(
      size="13k",            # a ladder name; "" to use the explicit shape below
      d_model=32, n_layers=1, n_heads=2, seq_len=64, dtype="float32"))
  c.train = ml_collections.ConfigDict(dict(
      batch_size=16, max_steps=600, warmup=50, eval_every=100, patience=3, min_delta=0.0,
      weight_decay=0.1, clip_norm=1.0, min_lr_ratio=0.1, steps_per_call=20, ckpt_every=200,
      log_every=10, tensorboard=True))
  c.data = ml_collections.ConfigDict(dict(
      source="toy",          # "toy", or a prepared corpus (`transfer-scaling corpora list`)
      seed=0, subset_bytes=(), n_eval_batches=4))
  return c
