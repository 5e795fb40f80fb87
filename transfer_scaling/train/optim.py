"""AdamW with linear warm-up, cosine decay and gradient clipping.

The learning rate is applied outside the optax chain, so that each member of a
vmapped ensemble can carry its own peak learning rate in its TrainState.
"""
import dataclasses
import math

import jax
import jax.numpy as jnp
import optax


@dataclasses.dataclass(frozen=True)
class AdamW:
  """The optimizer's settings, defined here once: the study config and the engine's step take these."""
  b1: float = 0.9
  b2: float = 0.95
  eps: float = 1e-8
  weight_decay: float = 0.1
  clip_norm: float = 1.0


DEFAULTS = AdamW()


def schedule(step, peak_lr, warmup, total, min_ratio=0.1, decay_from=None):
  """Learning rate at `step`: linear warm-up to peak_lr, then cosine to min_ratio * peak_lr at `total`.

  The cosine starts at `decay_from` (None: at the end of the warm-up); between the two the rate is
  peak_lr, so a decay_from near `total` is a warmup-stable-decay schedule (Hagele et al. 2024).
  After `total` it stays at min_ratio * peak_lr, so a run continued past its first budget goes
  on at the rate it ended with. min_ratio = 1 is a constant rate after the warm-up.
  """
  step = jnp.asarray(step, jnp.float32)
  start = warmup if decay_from is None else jnp.maximum(decay_from, warmup)
  warm = (step + 1.0) / jnp.maximum(warmup, 1)
  progress = jnp.clip((step - start) / jnp.maximum(total - start, 1), 0.0, 1.0)
  cosine = min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + jnp.cos(math.pi * progress))
  return peak_lr * jnp.where(step < warmup, warm, cosine)


def _decays(x) -> bool:
  # Decay matrices only: biases, LayerNorm scales and offsets stay undecayed.
  return x.ndim >= 2


def flat(tree) -> dict:
  """A params-shaped tree as two vectors: its matrices (decayed) and the rest."""
  leaves = jax.tree.leaves(tree)
  def part(decayed):
    xs = [x.reshape(-1) for x in leaves if _decays(x) == decayed]
    return jnp.concatenate(xs) if xs else jnp.zeros((0,), jnp.float32)
  return {"matrices": part(True), "other": part(False)}


def unflat(vectors: dict, like):
  """The inverse of flat: the two vectors cut back into the leaves of `like`."""
  leaves, treedef = jax.tree.flatten(like)
  at, out = {"matrices": 0, "other": 0}, []
  for x in leaves:
    k = "matrices" if _decays(x) else "other"
    out.append(vectors[k][at[k]:at[k] + x.size].reshape(x.shape).astype(x.dtype))
    at[k] += x.size
  return jax.tree.unflatten(treedef, out)


def on_two_vectors(inner: optax.GradientTransformation) -> optax.GradientTransformation:
  """`inner` applied to flat(params) instead of leaf by leaf: the same arithmetic, but XLA
  compiles a few fused loops over two vectors rather than a few per leaf (docs/benchmarks.md)."""
  def init(params):
    return inner.init(flat(params))

  def update(grads, state, params=None):
    updates, state = inner.update(flat(grads), state, None if params is None else flat(params))
    return unflat(updates, grads), state

  return optax.GradientTransformation(init, update)


def adamw_direction(clip_norm: float, b1: float, b2: float, eps: float, weight_decay: float):
  """The AdamW chain up to (not including) the -lr scaling: updates are ascent directions.

  Its state is (clip, adam, decay) over the two vectors of flat(params).
  """
  return on_two_vectors(optax.chain(
      optax.clip_by_global_norm(clip_norm),
      optax.scale_by_adam(b1=b1, b2=b2, eps=eps),
      optax.add_decayed_weights(weight_decay, mask={"matrices": True, "other": False}),
  ))
