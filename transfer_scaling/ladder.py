"""The model-size ladder: about 1e4 to 1e8 non-embedding parameters.

Shapes keep d_model / n_layers between ~16 and ~64 and head dim 16-64, the
aspect ratios of Kaplan et al. (2020) where loss depends weakly on shape.
Names are the rounded non-embedding parameter count.
"""
import functools

import numpy as np

from transfer_scaling.errors import UsageError
from transfer_scaling.model_config import ModelConfig

# The model (Flax) is imported where a parameter count is read off its shapes, so that the
# names and shapes can be read (configs, the analysis) without it.

# name: (n_layers, d_model, n_heads)
LADDER = {
    "13k": (1, 32, 2),
    "25k": (2, 32, 2),
    "56k": (2, 48, 3),
    "100k": (2, 64, 4),
    "335k": (3, 96, 6),
    "793k": (4, 128, 8),
    "1.8M": (4, 192, 6),
    "4.7M": (6, 256, 8),
    "14M": (8, 384, 6),
    "25M": (8, 512, 8),
    "85M": (12, 768, 12),
}


def shape(name: str) -> dict:
  """The ladder's d_model, n_layers and n_heads of size `name` (ModelConfig's shape fields)."""
  if name not in LADDER:
    raise UsageError(f"model size {name!r} is not on the ladder; choose one of: {', '.join(LADDER)}")
  n_layers, d_model, n_heads = LADDER[name]
  return dict(d_model=d_model, n_layers=n_layers, n_heads=n_heads)


@functools.lru_cache(maxsize=256)
def n_params(cfg: ModelConfig, non_embedding: bool = True) -> int:
  """Parameter count of model.Transformer, read off its parameter shapes (no arrays are made)."""
  import jax
  from transfer_scaling.model import EMBEDDING_PARAMS, init_params
  shapes = jax.eval_shape(lambda k: init_params(cfg, k), jax.random.key(0))
  return int(sum(np.prod(x.shape) for k, sub in shapes.items()
                 if not (non_embedding and k in EMBEDDING_PARAMS) for x in jax.tree.leaves(sub)))


def flops_per_token(cfg: ModelConfig) -> float:
  """Training (forward + backward) FLOPs per token: 6N + attention + unembedding.

  Attention scores and mixing cost 2 * n_layers * seq_len * d_model forward per token
  (Kaplan et al. 2020, Table 1), so 6x that for training; the tied unembedding adds
  6 * d_model * vocab.
  """
  N = n_params(cfg)
  return 6.0 * N + 6.0 * cfg.n_layers * cfg.seq_len * cfg.d_model + 6.0 * cfg.d_model * cfg.vocab
