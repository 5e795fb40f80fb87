"""Data parallelism with jax.sharding: one 'data' axis over every device of every process.

State is replicated; batches are split along their batch axis B. The same code
runs on one device, on simulated CPU devices and across hosts after
jax.distributed.initialize: every process computes the same global batch (a
batch is a pure function of the step) and hands over only the rows its devices hold.
"""
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from transfer_scaling.errors import UsageError


def make_mesh() -> Mesh:
  """A 1-D mesh named 'data' over jax.devices() (all processes)."""
  devices = np.asarray(jax.devices())
  return Mesh(devices, ("data",), axis_types=(jax.sharding.AxisType.Auto,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh, ndim: int, batch_axis: int) -> NamedSharding:
  """Splits axis `batch_axis` of an ndim array over 'data'."""
  spec = [None] * ndim
  spec[batch_axis] = "data"
  return NamedSharding(mesh, P(*spec))


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
  """Host copy of a replicated global array (works when other processes hold parts too)."""
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    return np.asarray(x.addressable_data(0))
  return np.asarray(x)
