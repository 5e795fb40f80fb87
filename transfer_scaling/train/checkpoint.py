"""Checkpoints with orbax: the whole TrainState plus a JSON meta (spec, global step, wall time).

Saves are asynchronous: training continues while the files are written. The data
position is the global step in meta, because a batch is a pure function of the step.
"""
import jax
import orbax.checkpoint as ocp

from transfer_scaling import fileio


class Checkpointer:
  """Thin wrapper around ocp.CheckpointManager for one run directory."""

  def __init__(self, directory, max_to_keep: int = 2):
    self.directory = fileio.path(directory)  # local or remote (gs://...): orbax takes either
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=True,
                                           create=True)
    self._mgr = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self):
    return self._mgr.latest_step()

  def save(self, step: int, state, meta: dict) -> None:
    self._mgr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                 meta=ocp.args.JsonSave(meta)))

  def restore(self, step: int, state_like, sharding):
    """Restores onto `sharding`; state_like gives the tree structure, shapes and dtypes."""
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), state_like)
    out = self._mgr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract),
                                                          meta=ocp.args.JsonRestore()))
    return out.state, out.meta

  def read_meta(self, step: int) -> dict:
    return self._mgr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta

  def wait(self) -> None:
    self._mgr.wait_until_finished()

  def close(self) -> None:
    self._mgr.close()


def has_checkpoint(directory) -> bool:
  """True if `directory` holds at least one finished checkpoint (without creating anything)."""
  d = fileio.path(directory)
  if not d.is_dir():
    return False
  return any(p.name.isdigit() for p in d.iterdir())
