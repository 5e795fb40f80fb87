"""A decoder-only, pre-LayerNorm transformer over bytes (vocabulary 256).

Shape suffixes: B batch, L sequence length, D d_model, H heads, K head dim,
F feed-forward width, V vocabulary. Token and position embeddings are the only
"embedding" parameters; the output projection is tied to the token embedding.
"""
import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from transfer_scaling.model_config import VOCAB, ModelConfig  # noqa: F401 (the model's config, re-exported)


class Projection(nn.Module):
  """The kernel and bias of nn.DenseGeneral (same names, shapes and initialisation), for einsums."""
  in_shape: tuple
  out_shape: tuple

  @nn.compact
  def __call__(self):
    n_in, n_out = math.prod(self.in_shape), math.prod(self.out_shape)
    kernel = self.param("kernel", lambda k: nn.initializers.lecun_normal()(k, (n_in, n_out)).reshape(
        self.in_shape + self.out_shape))
    bias = self.param("bias", nn.initializers.zeros_init(), self.out_shape)
    return kernel, bias


# Causal attention in query blocks: block i attends only to keys up to its own end,
# so the all-masked upper-right part of the score matrix is never computed (with
# 2 blocks, a quarter of attention's products and softmax); docs/performance.md has
# the measurements, and why 4 blocks is not the default.
QUERY_BLOCKS = 2


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def causal_softmax(logits_BxHxQxS, q_offset: int, scale: float):
  """softmax(scale * logits) over the keys, with the keys after each query (at q_offset...) masked.

  Same arithmetic as dot_product_attention's XLA path (float32, masked with a large
  negative number), differentiated by the rule y' = scale * y * (dx - sum(y * dx)).
  Autodiff of jax.nn.softmax (unless the global flag jax_softmax_custom_jvp is set,
  off in jax 0.10-0.11) goes through exp, the division and the mask's select, keeping
  and reading more score-sized tensors; masked entries have y = 0, so the rule needs
  neither. 2-5% of a CPU step at d_model 256 (docs/performance.md).
  """
  Q, S = logits_BxHxQxS.shape[-2:]
  causal_QxS = (q_offset + jnp.arange(Q))[:, None] >= jnp.arange(S)[None, :]
  logits_BxHxQxS = jnp.where(causal_QxS, scale * logits_BxHxQxS, -0.7 * jnp.finfo(jnp.float32).max)
  unnormalized_BxHxQxS = jnp.exp(logits_BxHxQxS - jnp.max(logits_BxHxQxS, axis=-1, keepdims=True))
  return unnormalized_BxHxQxS / jnp.sum(unnormalized_BxHxQxS, axis=-1, keepdims=True)


@causal_softmax.defjvp
def _causal_softmax_jvp(q_offset, scale, primals, tangents):
  (logits,), (dlogits,) = primals, tangents
  probs = causal_softmax(logits, q_offset, scale)
  return probs, scale * probs * (dlogits - jnp.sum(probs * dlogits, axis=-1, keepdims=True))


def _attend(q_BxHxQxK, k_BxHxSxK, v_BxHxSxK, q_offset: int):
  """Softmax attention of Q queries (positions q_offset...) over the first S keys, causally masked."""
  logits_BxHxQxS = jnp.einsum("bhqk,bhsk->bhqs", q_BxHxQxK, k_BxHxSxK, preferred_element_type=jnp.float32)
  probs_BxHxQxS = causal_softmax(logits_BxHxQxS, q_offset, q_BxHxQxK.shape[3] ** -0.5)
  return jnp.einsum("bhqs,bhsk->bhqk", probs_BxHxQxS.astype(q_BxHxQxK.dtype), v_BxHxSxK)


def causal_attention(q_BxHxLxK, k_BxHxLxK, v_BxHxLxK, n_blocks: int = QUERY_BLOCKS):
  """dot_product_attention(is_causal=True)'s XLA arithmetic, in n_blocks query blocks (1 if L does not split)."""
  L = q_BxHxLxK.shape[2]
  Lb = L // n_blocks if L % n_blocks == 0 else L
  o_blocks = [_attend(q_BxHxLxK[:, :, i:i + Lb], k_BxHxLxK[:, :, :i + Lb], v_BxHxLxK[:, :, :i + Lb], i)
              for i in range(0, L, Lb)]
  return o_blocks[0] if len(o_blocks) == 1 else jnp.concatenate(o_blocks, axis=2)


class Attention(nn.Module):
  """Causal multi-head self-attention, computed in the head-major layout [B, H, L, K].

  The projections write q, k, v straight into that layout and read the output from
  it, so no transposes surround the attention products (dense layers followed by
  jax.nn.dot_product_attention needed them: ~10% of a CPU step at d_model 64,
  docs/performance.md). The arithmetic is that of dot_product_attention's XLA
  path: logits and softmax in float32, masked with a large negative number,
  computed in QUERY_BLOCKS query blocks.
  """
  cfg: ModelConfig

  @nn.compact
  def __call__(self, x_BxLxD):
    c = self.cfg
    dtype = jnp.dtype(c.dtype)
    H, K = c.n_heads, c.head_dim
    w_Dx3xHxK, b_3xHxK = Projection((c.d_model,), (3, H, K), name="qkv")()
    w_Dx3xHxK, b_3xHxK, x_BxLxD = (a.astype(dtype) for a in (w_Dx3xHxK, b_3xHxK, x_BxLxD))
    qkv_3xBxHxLxK = jnp.einsum("bld,dthk->tbhlk", x_BxLxD, w_Dx3xHxK) + b_3xHxK[:, None, :, None, :]
    q_BxHxLxK, k_BxHxLxK, v_BxHxLxK = qkv_3xBxHxLxK
    o_BxHxLxK = causal_attention(q_BxHxLxK, k_BxHxLxK, v_BxHxLxK)
    w_HxKxD, b_D = Projection((H, K), (c.d_model,), name="out")()
    return jnp.einsum("bhlk,hkd->bld", o_BxHxLxK, w_HxKxD.astype(dtype)) + b_D.astype(dtype)


@jax.custom_vjp
def matmul_xt_dy(x_TxD, w_DxF):
  """x @ w, with the weight gradient computed as dot(x, dy) over the tokens (see Dense)."""
  return x_TxD @ w_DxF


def _matmul_xt_dy_fwd(x_TxD, w_DxF):
  return x_TxD @ w_DxF, (x_TxD, w_DxF)


def _matmul_xt_dy_bwd(res, dy_TxF):
  x_TxD, w_DxF = res
  dw_DxF = jax.lax.dot_general(x_TxD, dy_TxF, (((0,), (0,)), ((), ())))
  return dy_TxF @ w_DxF.T, dw_DxF


matmul_xt_dy.defvjp(_matmul_xt_dy_fwd, _matmul_xt_dy_bwd)


class Dense(nn.Module):
  """nn.Dense over the last axis (same parameters and forward), for layers that widen: D -> F > D.

  Autodiff computes the kernel gradient as dot(dy, x) over the tokens, whose result is
  the kernel's transpose; XLA:CPU then copies the wide dy [T, F] into a transposed
  layout for its matrix-product library. dot(x, dy) yields the kernel's layout
  directly, runs as fast, and copies nothing (docs/performance.md measures it).
  Narrowing layers (fc2) gain nothing: there autodiff's order already transposes the
  narrow operand.
  """
  features: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x_BxLxD):
    D = x_BxLxD.shape[-1]
    w_DxF = self.param("kernel", nn.initializers.lecun_normal(), (D, self.features))
    b_F = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    y_TxF = matmul_xt_dy(x_BxLxD.reshape(-1, D), w_DxF.astype(self.dtype))
    return y_TxF.reshape(*x_BxLxD.shape[:-1], self.features) + b_F.astype(self.dtype)


class Block(nn.Module):
  cfg: ModelConfig

  @nn.compact
  def __call__(self, x_BxLxD):
    c = self.cfg
    dtype = jnp.dtype(c.dtype)
    x_BxLxD = x_BxLxD + Attention(c, name="attn")(nn.LayerNorm(dtype=dtype, name="ln1")(x_BxLxD))
    h_BxLxD = nn.LayerNorm(dtype=dtype, name="ln2")(x_BxLxD)
    h_BxLxF = nn.gelu(Dense(c.d_ff, dtype=dtype, name="fc1")(h_BxLxD))
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
