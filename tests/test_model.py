"""The model: exact parameter counts, causality, dtypes, config validation."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from transfer_scaling import ladder
from transfer_scaling.errors import UsageError
from transfer_scaling import model as model_lib
from transfer_scaling.model import ModelConfig, Transformer, count_params, init_params
from transfer_scaling.study.config import model_config


def _closed_form_n_params(cfg, non_embedding=True):
  D, F, L = cfg.d_model, cfg.d_ff, cfg.n_layers
  per_layer = (3 * D * D + 3 * D) + (D * D + D) + 2 * D + 2 * D + (D * F + F) + (F * D + D)
  n = L * per_layer + 2 * D  # + final LayerNorm
  return n if non_embedding else n + cfg.vocab * D + cfg.seq_len * D


@pytest.mark.parametrize("name", list(ladder.LADDER))
def test_n_params_from_the_parameter_shapes_matches_the_closed_form_for_every_ladder_entry(name):
  cfg = model_config(name, {})
  assert ladder.n_params(cfg) == _closed_form_n_params(cfg)
  assert ladder.n_params(cfg, non_embedding=False) == _closed_form_n_params(cfg, non_embedding=False)
  assert count_params(jax.eval_shape(lambda k: init_params(cfg, k), jax.random.key(0))) == ladder.n_params(cfg)


def test_ladder_names_are_rounded_counts():
  for name in ladder.LADDER:
    n = ladder.n_params(model_config(name, {}))
    value = float(name[:-1]) * {"k": 1e3, "M": 1e6}[name[-1]]
    assert abs(n - value) / value < 0.05, (name, n)


def test_changing_a_future_byte_never_changes_earlier_logits():
  cfg = ModelConfig(d_model=32, n_layers=2, n_heads=2, seq_len=16)
  params = init_params(cfg, jax.random.key(0))
  tokens = jax.random.randint(jax.random.key(1), (2, 16), 0, 256)
  apply = jax.jit(lambda t: Transformer(cfg).apply({"params": params}, t))
  logits = apply(tokens)
  for t in (0, 7, 15):
    changed = tokens.at[:, t].set((tokens[:, t] + 1) % 256)
    new = apply(changed)
    np.testing.assert_array_equal(np.asarray(new[:, :t]), np.asarray(logits[:, :t]))
    assert not np.allclose(np.asarray(new[:, t]), np.asarray(logits[:, t]))


def test_bfloat16_compute_keeps_float32_params_and_float32_logits():
  cfg = ModelConfig(d_model=32, n_layers=1, n_heads=2, seq_len=8, dtype="bfloat16")
  params = init_params(cfg, jax.random.key(0))
  assert {x.dtype for x in jax.tree.leaves(params)} == {jnp.dtype(jnp.float32)}
  logits = Transformer(cfg).apply({"params": params}, jnp.zeros((1, 8), jnp.int32))
  assert logits.dtype == jnp.float32
  ref = Transformer(ModelConfig(d_model=32, n_layers=1, n_heads=2, seq_len=8)).apply(
      {"params": params}, jnp.zeros((1, 8), jnp.int32))
  np.testing.assert_allclose(np.asarray(logits), np.asarray(ref), atol=0.05)


def test_heads_not_dividing_d_model_is_rejected_with_the_fix():
  with pytest.raises(ValueError, match=r"n_heads=5 does not divide d_model=64.*choose n_heads from"):
    ModelConfig(d_model=64, n_layers=1, n_heads=5)


def test_unknown_ladder_name_is_a_usage_error():
  with pytest.raises(UsageError, match="not on the ladder"):
    model_config("7B", {})


def test_flops_per_token_is_at_least_six_n():
  for name in ladder.LADDER:
    cfg = model_config(name, {})
    assert 6 * ladder.n_params(cfg) < ladder.flops_per_token(cfg) < 12 * ladder.n_params(cfg) + 1e6


# bfloat16 is also covered by test_bfloat16_compute_keeps_float32_params_and_float32_logits; its
# copies of the exactness checks run with make test-slow, to keep make test under 10 minutes.
@pytest.mark.parametrize("dtype", ["float32", pytest.param("bfloat16", marks=pytest.mark.slow)])
def test_attention_equals_dense_layers_around_dot_product_attention(dtype):
  """The head-major einsum attention has DenseGeneral's parameters and jax.nn.dot_product_attention's output."""
  import flax.linen as nn

  class Reference(nn.Module):
    cfg: ModelConfig

    @nn.compact
    def __call__(self, x):
      c = self.cfg
      qkv = nn.DenseGeneral((3, c.n_heads, c.head_dim), dtype=jnp.dtype(c.dtype), name="qkv")(x)
      o = jax.nn.dot_product_attention(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2], is_causal=True)
      return nn.DenseGeneral(c.d_model, axis=(-2, -1), dtype=jnp.dtype(c.dtype), name="out")(o)

  cfg = ModelConfig(d_model=64, n_layers=1, n_heads=4, dtype=dtype)
  x_BxLxD = jax.random.normal(jax.random.key(1), (2, 16, 64))
  params = model_lib.Attention(cfg).init(jax.random.key(0), x_BxLxD)
  reference_params = Reference(cfg).init(jax.random.key(0), x_BxLxD)
  assert jax.tree.all(jax.tree.map(lambda a, b: a.shape == b.shape and bool((a == b).all()), params, reference_params))
  got = model_lib.Attention(cfg).apply(params, x_BxLxD).astype(jnp.float32)
  want = Reference(cfg).apply(params, x_BxLxD).astype(jnp.float32)
  np.testing.assert_allclose(got, want, atol=1e-5 if dtype == "float32" else 2e-2)


@pytest.mark.parametrize("L", [pytest.param(16, marks=pytest.mark.slow), 15])
def test_query_blocks_change_neither_outputs_nor_gradients(L):
  """Query blocks and the softmax's own derivative rule are optimisations only: outputs and gradients
  equal jax.nn.dot_product_attention's for 1, 2 and 4 query blocks (and odd L falls back to one)."""
  q, k, v = jax.random.normal(jax.random.key(2), (3, 2, 4, L, 8))

  def reference(q, k, v):
    o = jax.nn.dot_product_attention(*(a.transpose(0, 2, 1, 3) for a in (q, k, v)), is_causal=True)
    return o.transpose(0, 2, 1, 3)

  def loss(attention, q, k, v):
    return (attention(q, k, v) * jnp.cos(jnp.arange(q.size).reshape(q.shape))).sum()

  want_grads = jax.grad(loss, argnums=(1, 2, 3))(reference, q, k, v)
  for n_blocks in (1, 2, 4):
    attention = functools.partial(model_lib.causal_attention, n_blocks=n_blocks)
    np.testing.assert_allclose(attention(q, k, v), reference(q, k, v), atol=1e-5)
    for g, want in zip(jax.grad(loss, argnums=(1, 2, 3))(attention, q, k, v), want_grads):
      np.testing.assert_allclose(g, want, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", pytest.param("bfloat16", marks=pytest.mark.slow)])
def test_dense_has_nn_dense_parameters_outputs_and_gradients(dtype):
  """fc1's Dense only reorders the weight gradient's product: parameters, outputs and all gradients
  equal flax's nn.Dense's (a widening layer, so a transposed kernel gradient would not even fit)."""
  import flax.linen as nn
  x_BxLxD = jax.random.normal(jax.random.key(1), (2, 16, 24))
  ours, reference = model_lib.Dense(40, jnp.dtype(dtype)), nn.Dense(40, dtype=jnp.dtype(dtype))
  params = ours.init(jax.random.key(0), x_BxLxD)
  reference_params = reference.init(jax.random.key(0), x_BxLxD)
  assert jax.tree.all(jax.tree.map(lambda a, b: a.shape == b.shape and bool((a == b).all()), params, reference_params))

  def loss(module, params, x):
    y = module.apply(params, x).astype(jnp.float32)
    return (y * jnp.cos(jnp.arange(y.size).reshape(y.shape))).sum()

  tol = 1e-5 if dtype == "float32" else 5e-2
  np.testing.assert_allclose(ours.apply(params, x_BxLxD).astype(jnp.float32),
                             reference.apply(params, x_BxLxD).astype(jnp.float32), atol=tol)
  got = jax.grad(loss, argnums=(1, 2))(ours, params, x_BxLxD)
  want = jax.grad(loss, argnums=(1, 2))(reference, params, x_BxLxD)
  for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
    assert g.shape == w.shape and g.dtype == w.dtype
    np.testing.assert_allclose(g, w, atol=tol, rtol=tol)
