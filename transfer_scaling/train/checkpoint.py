"""Checkpoints with orbax: the whole TrainState plus a JSON meta (spec, global step, wall time).

Saves are asynchronous: training continues while the files are written. The data
position is the global step in meta, because a batch is a pure function of the step.
"""
import contextlib
import errno

import jax
import orbax.checkpoint as ocp

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError


class Unreadable(UsageError):
  """A checkpoint that is missing or damaged; `problem` says which, the message adds the fix for a resume."""

  def __init__(self, directory, problem: str):
    self.directory, self.problem = directory, problem
    super().__init__(f"{problem}; delete {directory} to train this ensemble again from the start")


class Checkpointer:
  """Thin wrapper around ocp.CheckpointManager for one run directory."""

  def __init__(self, directory, max_to_keep=2):
    # max_to_keep None: every checkpoint is kept
    self.directory = fileio.path(directory)  # local or remote (gs://...): orbax takes either
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=True,
                                           create=True)
    self._mgr = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self):
    return self._mgr.latest_step()

  @contextlib.contextmanager
  def _io(self):
    """Orbax reports a full disk as ValueError('RESOURCE_EXHAUSTED ... No space left on device'):
    an OSError here, so the command says it in one line like any other full disk."""
    try:
      yield
    except ValueError as e:
      if "No space left on device" in str(e) or "os_error_code='28'" in str(e):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.directory)) from None
      raise

  @contextlib.contextmanager
  def _reading(self, step: int):
    """A checkpoint that cannot be read back (truncated by a full disk, partly deleted) is an Unreadable
    naming the folder, not orbax's traceback: orbax raises bare Exceptions with pages of TensorStore spec."""
    try:
      yield
    except UsageError:
      raise
    except Exception as e:  # noqa: BLE001 (orbax and TensorStore raise Exception itself)
      first = (str(e).strip().splitlines() or [""])[0].split(" See full")[0][:160]
      raise Unreadable(self.directory, f"the checkpoint at step {step} in {self.directory} cannot be read "
                       f"({type(e).__name__}: {first})") from None

  def save(self, step: int, state, meta: dict) -> None:
    with self._io():
      self._mgr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                   meta=ocp.args.JsonSave(meta)))

  def restore(self, step: int, state_like, sharding):
    """Restores onto `sharding`; state_like gives the tree structure, shapes and dtypes."""
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), state_like)
    with self._reading(step):
      out = self._mgr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract),
                                                            meta=ocp.args.JsonRestore()))
    return out.state, out.meta

  def restore_saved(self, step: int) -> dict:
    """The state saved at `step` as nested dicts of host arrays, without a target tree (for reading, not resuming)."""
    if step not in self._mgr.all_steps():
      raise Unreadable(self.directory, f"there is no checkpoint at step {step} in {self.directory} "
                       f"(it has {sorted(self._mgr.all_steps()) or 'none'})")
    with self._reading(step):
      return self._mgr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore())).state

  def read_meta(self, step: int) -> dict:
    with self._reading(step):
      return self._mgr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta

  def wait(self) -> None:
    with self._io():
      self._mgr.wait_until_finished()

  def close(self) -> None:
    with self._io():
      self._mgr.close()


def has_checkpoint(directory) -> bool:
  """True if `directory` holds at least one finished checkpoint (without creating anything).

  On a local disk a step folder appears by rename once its save is complete; on an object store
  (gs://) orbax writes into the step folder itself and marks it finished last, so a save cut short
  by a kill leaves a step folder that is not a checkpoint. Orbax's own test tells the two apart.
  """
  d = fileio.path(directory)
  if not d.is_dir():
    return False
  return ocp.path.step.any_checkpoint_step(d) is not None
