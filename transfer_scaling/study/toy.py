"""Two tiny text corpora and a tiny study, for tests and for trying the pipeline in seconds.

`toy-prose` is sentences over a small English vocabulary; `toy-code` is Python-like
lines that reuse the same words as identifiers, so pre-training on prose helps a
little on code. Both are registered through the data pipeline's user-corpus path
(what `transfer-scaling corpora add` does), under $TRANSFER_SCALING_DATA.
"""
import os

import ml_collections
import numpy as np

WORDS = ("the of and to in is that for it as with was on be by this are from at or have an not which but all "
         "data model loss value list name file line text word number result error count index table").split()


def _prose(rng, n_chars: int) -> str:
  out, n = [], 0
  while n < n_chars:
    words = rng.choice(WORDS, size=rng.integers(4, 12))
    s = " ".join(words).capitalize() + rng.choice([".", ".", "?", "!"]) + " "
    out.append(s)
    n += len(s)
  return "".join(out)


def _code(rng, n_chars: int) -> str:
  out, n, indent = [], 0, 0
  while n < n_chars:
    a, b, c = rng.choice(WORDS[20:], size=3)
    kind = rng.integers(5)
    line = [f"{a} = {b}({c})", f"for {a} in {b}:", f"if {a} > {rng.integers(10)}:", f"return {a} + {b}",
            f"def {a}_{b}({c}):"][kind]
    s = "    " * indent + line + "\n"
    indent = min(indent + 1, 3) if line.endswith(":") else max(indent - int(rng.integers(2)), 0)
    out.append(s)
    n += len(s)
  return "".join(out)


def write_corpora(root: str, n_docs: int = 40, doc_chars: int = 4000) -> tuple:
  """Writes and prepares `toy-prose` and `toy-code` (data dir: $TRANSFER_SCALING_DATA); returns their names."""
  from transfer_scaling import fileio
  from transfer_scaling.data import build, catalog, prepared
  names = []
  for name, make in (("toy-prose", _prose), ("toy-code", _code)):
    rng = np.random.default_rng(len(name))
    files = os.path.join(root, name)
    for i in range(n_docs):
      fileio.write_text_atomic(os.path.join(files, f"doc{i:03d}.txt"), make(rng, doc_chars))
    fileio.write_json_atomic(catalog.user_spec_path(name), {"name": name, "files": os.path.join(files, "*.txt")})
    if not prepared.is_prepared(name):
      build.prepare(name)
    names.append(name)
  return tuple(names)


def config() -> ml_collections.ConfigDict:
  """A study that trains in well under a minute on 2 CPU cores: 13k models, few steps, one seed."""
  from transfer_scaling.study import config as study_config
  c = study_config.defaults()
  c.study = "toy"
  c.source, c.targets = "toy-prose", ("toy-code",)
  c.sizes = ("13k",)
  c.model.seq_len, c.model.dtype = 32, "float32"
  c.batch_size = 4
  c.seeds = (0,)
  c.valid_bytes = c.test_bytes = 1024
  c.d_f.min, c.d_f.max, c.d_f.num = 1000, 8000, 3
  c.scratch_d_max = 20_000
  c.eval_every, c.patience, c.ckpt_every = 10, 2, 20
  c.evals_per_epoch = 0  # every run at eval_every: the toy's tests train in seconds
  c.pretrain.update(steps=40, lr=3e-3, schedule="cosine", warmup=5, eval_every=20, seeds=(0,), first_kept_step=20,
                    num_kept=2)
  # lr_rounds=0: tests that widen a grid see the grid they set (test_study_protocol.py turns the rounds on).
  stage = dict(warmups=(5,), schedule="constant", max_epochs=3.0, min_steps=20, ceiling=640, lr_rounds=0)
  c.scratch.update(stage, lrs=(1e-2,))
  c.finetune.update(stage, lrs=(3e-3,))
  c.bracket.rounds = 1
  c.gap.sizes = ()
  c.gap.d_f.min, c.gap.d_f.max, c.gap.d_f.num = 1000, 8000, 2
  c.max_members = 8
  c.analysis.update(bootstrap=20, example_size="13k", example_d_f=2000, cost_ratio=1.0)
  return c
