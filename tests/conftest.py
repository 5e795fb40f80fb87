"""Every test process runs JAX on one CPU device, whatever the machine's core count.

The command-line entry points split batches over one CPU device per core by default
(`--cpu-devices`); tests that call them in-process compare against subprocesses given
an explicit device count, so this process's count is fixed here, before any test runs.
"""
import os

import jax
import pytest

jax.devices()  # initialises the backends: later requests for more CPU devices change nothing


@pytest.fixture(scope="module")
def toy_env(tmp_path_factory):
  """The two toy corpora in a private data dir, and a private compilation cache (reruns compile once).

  Module-scoped: each test module that sweeps gets its own, and the environment is restored after it.
  """
  from transfer_scaling.study import toy
  root = tmp_path_factory.mktemp("toy")
  old = {k: os.environ.get(k) for k in ("TRANSFER_SCALING_DATA", "JAX_COMPILATION_CACHE_DIR")}
  os.environ["TRANSFER_SCALING_DATA"] = str(root / "data")
  os.environ["JAX_COMPILATION_CACHE_DIR"] = str(root / "jax_cache")
  toy.write_corpora(str(root / "files"))
  yield root
  for k, v in old.items():
    if v is None:
      os.environ.pop(k, None)
    else:
      os.environ[k] = v
