"""Pre-trained parameters out of the engine's checkpoints, and zero-shot evaluation of them."""
import functools

import jax
import numpy as np

from transfer_scaling.train import checkpoint as ckpt_lib
from transfer_scaling.train import step as step_lib


@functools.lru_cache(maxsize=4)
def _saved_params(ckpt_dir: str, step: int):
  ckpt = ckpt_lib.Checkpointer(ckpt_dir)
  try:
    return jax.tree.map(np.asarray, ckpt.restore_saved(step)["params"])
  finally:
    ckpt.close()


def state_at(ckpt_dir: str, step: int, member: int) -> dict:
  """Member `member`'s params, optimizer state and rng at step `step`: what continuing its run needs."""
  ckpt = ckpt_lib.Checkpointer(ckpt_dir)
  try:
    saved = ckpt.restore_saved(int(step))
  finally:
    ckpt.close()
  return {k: jax.tree.map(lambda x: np.asarray(x)[member], saved[k]) for k in ("params", "opt_state", "rng")}


def params_at(ckpt_dir: str, step: int, member: int):
  """Member `member`'s parameters at training step `step` (numpy pytree without the member axis).

  The checkpoint is read once for all members and all fine-tuning runs that start from it.
  """
  return jax.tree.map(lambda x: x[member], _saved_params(str(ckpt_dir), int(step)))


@functools.partial(jax.jit, static_argnums=0)
def _losses_K(cfg, params_K, batches_NxBxT1):
  return step_lib.ensemble_losses(params_K, batches_NxBxT1, cfg=cfg)


def eval_losses(cfg, params_list, batches_NxBxT1) -> list:
  """Loss (nats/byte) of each parameter set on the given batches, in one vmapped call."""
  params_K = jax.tree.map(lambda *xs: np.stack(xs), *params_list)
  return [float(x) for x in np.asarray(_losses_K(cfg, params_K, np.asarray(batches_NxBxT1, np.int32)))]
