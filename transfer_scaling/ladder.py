"""The model-size ladder: about 1e4 to 1e8 non-embedding parameters.

Shapes keep d_model / n_layers between ~16 and ~64 and head dim 16-64, the
aspect ratios of Kaplan et al. (2020) where loss depends weakly on shape.
Names are the rounded non-embedding parameter count.
"""
from transfer_scaling.errors import UsageError
from transfer_scaling.model import ModelConfig, VOCAB

# name: (n_layers, d_model, n_heads)
LADDER = {
    "13k": (1, 32, 2),
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


def model_config(name: str, seq_len: int = 128, dtype: str = "float32") -> ModelConfig:
  if name not in LADDER:
    raise UsageError(f"model size {name!r} is not on the ladder; choose one of: {', '.join(LADDER)}")
  n_layers, d_model, n_heads = LADDER[name]
  return ModelConfig(d_model=d_model, n_layers=n_layers, n_heads=n_heads, seq_len=seq_len, dtype=dtype)


def n_params(cfg: ModelConfig, non_embedding: bool = True) -> int:
  """Exact parameter count of model.Transformer (tested against the real tree)."""
  D, F, L = cfg.d_model, cfg.d_ff, cfg.n_layers
  per_layer = (3 * D * D + 3 * D) + (D * D + D) + 2 * D + 2 * D + (D * F + F) + (F * D + D)
  n = L * per_layer + 2 * D  # + final LayerNorm
  if not non_embedding:
    n += cfg.vocab * D + cfg.seq_len * D
  return n


def flops_per_token(cfg: ModelConfig) -> float:
  """Training (forward + backward) FLOPs per token: 6N + attention + unembedding.

  Attention scores and mixing cost 2 * n_layers * seq_len * d_model forward per token
  (Kaplan et al. 2020, Table 1), so 6x that for training; the tied unembedding adds
  6 * d_model * vocab.
  """
  N = n_params(cfg)
  return 6.0 * N + 6.0 * cfg.n_layers * cfg.seq_len * cfg.d_model + 6.0 * cfg.d_model * VOCAB
