"""The model's configuration, apart from the model (Flax): what configs, the ladder and the analysis read."""
import dataclasses

VOCAB = 256


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  d_model: int
  n_layers: int
  n_heads: int
  seq_len: int = 128
  ff_mult: int = 4
  vocab: int = VOCAB
  dtype: str = "float32"  # compute dtype; parameters stay float32

  def __post_init__(self):
    if self.d_model % self.n_heads:
      raise ValueError(f"n_heads={self.n_heads} does not divide d_model={self.d_model}; "
                       f"choose n_heads from {[h for h in range(1, self.d_model + 1) if self.d_model % h == 0]}")

  @property
  def d_ff(self) -> int:
    return self.ff_mult * self.d_model

  @property
  def head_dim(self) -> int:
    return self.d_model // self.n_heads
