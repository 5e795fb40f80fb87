"""Reading pre-trained parameters out of the engine's orbax checkpoints, and zero-shot evaluation."""
import functools
import os

import jax
import numpy as np
import orbax.checkpoint as ocp

from transfer_scaling.train import step as step_lib


def params_at(ckpt_dir: str, step: int, member: int):
  """Member `member`'s parameters at training step `step` (numpy pytree without the member axis)."""
  # orbax wants absolute local paths; remote ones (gs://...) pass through.
  mgr = ocp.CheckpointManager(ckpt_dir if "://" in ckpt_dir else os.path.abspath(ckpt_dir))
  try:
    if step not in mgr.all_steps():
      raise FileNotFoundError(f"no checkpoint at step {step} in {ckpt_dir} (have {sorted(mgr.all_steps())})")
    # No target tree: orbax restores the saved structure as nested dicts of arrays.
    state = mgr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore())).state
  finally:
    mgr.close()
  return jax.tree.map(lambda x: np.asarray(x)[member], state["params"])


@functools.partial(jax.jit, static_argnums=0)
def _eval_K(cfg, params_K, eval_NxBxT1):
  return jax.vmap(step_lib.eval_loss, in_axes=(0, None, None))(params_K, eval_NxBxT1, cfg)


def eval_losses(cfg, params_list, eval_NxBxT1) -> list:
  """Test loss (nats/byte) of each parameter set on the given batches, in one vmapped call."""
  params_K = jax.tree.map(lambda *xs: np.stack(xs), *params_list)
  return [float(x) for x in np.asarray(_eval_K(cfg, params_K, np.asarray(eval_NxBxT1, np.int32)))]
