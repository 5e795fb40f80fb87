"""A decoder-only, pre-LayerNorm transformer over bytes (vocabulary 256).

Shape suffixes: B batch, L sequence length, D d_model, H heads, K head dim,
F feed-forward width, V vocabulary. Token and position embeddings are the only
"embedding" parameters; the output projection is tied to the token embedding.
"""
import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

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


class Attention(nn.Module):
  cfg: ModelConfig

  @nn.compact
  def __call__(self, x_BxLxD):
    c = self.cfg
    dtype = jnp.dtype(c.dtype)
    qkv = nn.DenseGeneral((3, c.n_heads, c.head_dim), dtype=dtype, name="qkv")(x_BxLxD)
    q_BxLxHxK, k_BxLxHxK, v_BxLxHxK = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    o_BxLxHxK = jax.nn.dot_product_attention(q_BxLxHxK, k_BxLxHxK, v_BxLxHxK, is_causal=True)
    return nn.DenseGeneral(c.d_model, axis=(-2, -1), dtype=dtype, name="out")(o_BxLxHxK)


class Block(nn.Module):
  cfg: ModelConfig

  @nn.compact
  def __call__(self, x_BxLxD):
    c = self.cfg
    dtype = jnp.dtype(c.dtype)
    x_BxLxD = x_BxLxD + Attention(c, name="attn")(nn.LayerNorm(dtype=dtype, name="ln1")(x_BxLxD))
    h_BxLxD = nn.LayerNorm(dtype=dtype, name="ln2")(x_BxLxD)
    h_BxLxF = nn.gelu(nn.Dense(c.d_ff, dtype=dtype, name="fc1")(h_BxLxD))
    return x_BxLxD + nn.Dense(c.d_model, dtype=dtype, name="fc2")(h_BxLxF)


class Transformer(nn.Module):
  cfg: ModelConfig

  @nn.compact
  def __call__(self, tokens_BxL):
    c = self.cfg
    dtype = jnp.dtype(c.dtype)
    embed = nn.Embed(c.vocab, c.d_model, embedding_init=nn.initializers.normal(0.02), name="embed")
    pos_LxD = self.param("pos_embed", nn.initializers.normal(0.02), (c.seq_len, c.d_model))
    L = tokens_BxL.shape[1]
    x_BxLxD = (embed(tokens_BxL) + pos_LxD[:L]).astype(dtype)
    for i in range(c.n_layers):
      x_BxLxD = Block(c, name=f"block{i}")(x_BxLxD)
    x_BxLxD = nn.LayerNorm(dtype=dtype, name="ln_f")(x_BxLxD)
    # Logits in float32: the loss is a small difference of large numbers.
    return embed.attend(x_BxLxD.astype(jnp.float32))


EMBEDDING_PARAMS = ("embed", "pos_embed")


def init_params(cfg: ModelConfig, rng):
  return Transformer(cfg).init(rng, jnp.zeros((1, cfg.seq_len), jnp.int32))["params"]


def count_params(params, non_embedding: bool = True) -> int:
  return sum(int(x.size) for k, sub in params.items()
             if not (non_embedding and k in EMBEDDING_PARAMS)
             for x in jax.tree.leaves(sub))
