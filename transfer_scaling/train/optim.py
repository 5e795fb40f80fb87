"""AdamW with linear warm-up, cosine decay and gradient clipping.

The learning rate is applied outside the optax chain, so that each member of a
vmapped ensemble can carry its own peak learning rate in its TrainState.
"""
import math

import jax
import jax.numpy as jnp
import optax


def schedule(step, peak_lr, warmup, total, min_ratio=0.1):
  """Learning rate at `step`: linear warm-up to peak_lr, then cosine to min_ratio * peak_lr at `total`.

  After `total` it stays at min_ratio * peak_lr, so a run continued past its first budget goes
  on at the rate it ended with. min_ratio = 1 is a constant rate after the warm-up.
  """
  step = jnp.asarray(step, jnp.float32)
  warm = (step + 1.0) / jnp.maximum(warmup, 1)
  progress = jnp.clip((step - warmup) / jnp.maximum(total - warmup, 1), 0.0, 1.0)
  cosine = min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + jnp.cos(math.pi * progress))
  return peak_lr * jnp.where(step < warmup, warm, cosine)


def _decay_mask(params):
  # Decay matrices only: biases, LayerNorm scales and offsets stay undecayed.
  return jax.tree.map(lambda p: p.ndim >= 2, params)


def adamw_direction(clip_norm: float, b1: float, b2: float, eps: float, weight_decay: float):
  """The AdamW chain up to (not including) the -lr scaling: updates are ascent directions."""
  return optax.chain(
      optax.clip_by_global_norm(clip_norm),
      optax.scale_by_adam(b1=b1, b2=b2, eps=eps),
      optax.add_decayed_weights(weight_decay, mask=_decay_mask),
  )
