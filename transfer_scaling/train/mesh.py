"""Parallelism with jax.sharding: one 'data' axis over every device of every process.

Data parallel (an accelerator's default; engine.layout): state is replicated; batches are split along their
batch axis B. The same code runs on one device, on simulated CPU devices and
across hosts after jax.distributed.initialize: every process computes the same
global batch (a batch is a pure function of the step) and hands over only the
rows its devices hold.

Member parallel (split_members; a CPU's default, one member per device): when an ensemble's M
members divide evenly over the devices (of one process or of several), each device trains whole members
instead - the state and the batches are split along the member axis M, so no
gradients cross devices and each device runs full-size batches.
"""
import os

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from transfer_scaling.errors import UsageError


CPU_DEVICES_HELP = ("on CPU, train an ensemble's members on this many devices, one member each (default 0: the "
                    "most cores that divide the batch size; 1: one device using all cores); a study keeps "
                    "the count it started with")


def add_cpu_devices_flag(parser) -> None:
  parser.add_argument("--cpu-devices", type=int, default=0, help=CPU_DEVICES_HELP)


def cpu_device_count(n: int, batch_size: int, cores: int) -> int:
  """n if given, else the largest divisor of batch_size (any, if 0) that is at most `cores`."""
  return n or max(d for d in range(1, cores + 1) if not batch_size or batch_size % d == 0)


def use_cpu_cores(n: int, batch_size: int = 0) -> int:
  """Presents the CPU as n devices, so that an ensemble's members train side by side on the cores.

  n = 0 picks the largest divisor of batch_size that is at most the number of cores.
  XLA:CPU runs each device's program on its own thread, which small models use better than
  one device's intra-op threads (docs/performance.md).
  It only affects the CPU backend and must run before JAX first touches a device:
  later, or when the device count is already set from outside (XLA_FLAGS,
  JAX_NUM_CPU_DEVICES), it changes nothing. Returns the CPU device count asked for.
  """
  if n < 0:
    raise UsageError(f"--cpu-devices must be 0 (automatic) or more, got {n}")
  n = cpu_device_count(n, batch_size, os.cpu_count() or 1)
  preset = ("xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")
            or "JAX_NUM_CPU_DEVICES" in os.environ)
  if n > 1 and not preset:
    try:
      jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:  # backends already initialised (e.g. called from a test or a notebook)
      pass
  return n


def make_mesh(n: int = 0) -> Mesh:
  """A 1-D mesh named 'data' over the first n of jax.devices() (0: all of them, of all processes)."""
  devices = np.asarray(jax.devices()[:n or None])
  return Mesh(devices, ("data",), axis_types=(jax.sharding.AxisType.Auto,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh, ndim: int, batch_axis: int) -> NamedSharding:
  """Splits axis `batch_axis` of an ndim array over 'data'."""
  spec = [None] * ndim
  spec[batch_axis] = "data"
  return NamedSharding(mesh, P(*spec))


def split_members(members: int, mesh: Mesh) -> bool:
  """Whether an ensemble of `members` trains member parallel on this mesh (see the module docstring).

  No gradient crosses devices and every device runs full batches (docs/performance.md
  compares it with data parallel). Across processes each holds only its members' state,
  and `to_host` gathers the others' for the engine's bookkeeping.
  """
  n = mesh.devices.size
  return n > 1 and members % n == 0


def state_sharding(mesh: Mesh, split: bool) -> NamedSharding:
  """Every state leaf has the member axis first: split it over 'data', or replicate."""
  return NamedSharding(mesh, P("data")) if split else replicated(mesh)


def chunk_sharding(mesh: Mesh, split: bool) -> NamedSharding:
  """Chunks of train batches [S, M, B, L+1]: split M (member parallel) or B (data parallel)."""
  return batch_sharding(mesh, 4, 1 if split else 2)


def eval_sharding(mesh: Mesh, split: bool) -> NamedSharding:
  """Eval batches [N, B, L+1], shared by all members: whole on every device, or split along B."""
  return replicated(mesh) if split else batch_sharding(mesh, 3, 1)


def check_divisible(batch_size: int, mesh: Mesh, what: str = "batch_size") -> None:
  n = mesh.devices.size
  if batch_size % n:
    raise UsageError(f"{what}={batch_size} is not divisible by the {n} devices; "
                     f"use a multiple of {n} (e.g. {max(n, batch_size // n * n)})")


def put(x: np.ndarray, sharding: NamedSharding) -> jax.Array:
  """A global array from a host array every process holds in full."""
  x = np.asarray(x)
  if jax.process_count() == 1:
    return jax.device_put(x, sharding)
  return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def put_tree(tree, sharding: NamedSharding):
  return jax.tree.map(lambda x: put(x, sharding), tree)


def to_host(x: jax.Array) -> np.ndarray:
  """Host copy of a global array, also when other processes hold parts of it.

  An array split over processes (member parallel) is gathered: a collective, so every
  process must call this for the same arrays in the same order, as the engine's loop does.
  """
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    if x.is_fully_replicated:
      return np.asarray(x.addressable_data(0))
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
  return np.asarray(x)
