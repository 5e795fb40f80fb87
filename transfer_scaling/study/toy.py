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
  """A study that trains in well under a minute on 2 CPU cores: 13k models, few steps."""
  c = ml_collections.ConfigDict()
  c.study = "toy"
  c.source, c.target, c.targets = "toy-prose", "toy-code", ()
  c.sizes = ("13k",)
  c.seq_len, c.batch_size, c.dtype = 32, 4, "float32"
  c.seeds = (0,)
  c.data_seed = 0
  c.eval_bytes = 1024
  c.d_f = ml_collections.ConfigDict(dict(min=1000, max=8000, num=3))
  c.d_f_large = (20_000,)
  c.eval_every, c.patience, c.ckpt_every = 10, 2, 20
  c.pretrain = ml_collections.ConfigDict(dict(steps=40, lr=3e-3, schedule="cosine", warmup=5, eval_every=20,
                                              seed=0, first_kept_step=20, num_kept=2))
  stage = dict(schedule="constant", warmup=5, max_epochs=3.0, min_steps=60, max_steps=60)
  c.scratch = ml_collections.ConfigDict(dict(stage, lr=3e-3))
  c.finetune = ml_collections.ConfigDict(dict(stage, lr=1e-3))
  c.gap = ml_collections.ConfigDict(dict(sizes=(), d_f_min=1000, d_f_max=8000, d_f_num=2))
  c.ensemble = ml_collections.ConfigDict(dict(max_members=8))
  c.analysis = ml_collections.ConfigDict(dict(bootstrap=20, example_size="13k", example_d_f=2000,
                                              cost_ratio=1.0))
  return c
