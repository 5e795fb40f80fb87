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


@pytest.fixture
def second_gap_law():
  """A second gap-law form, registered for one test: its transfer gap is C (Param.zero), its exponents a and b."""
  import jax.numpy as jnp

  from transfer_scaling import laws
  from transfer_scaling.laws.registry import Param, unregister
  law = laws.register(laws.Law(
      name="test_gap_form", doc="L(p, f) = E + (A p^-a + C) f^-b (a test's form)", params=("A", "C", "E", "a", "b"),
      log_params=("A", "C", "E"), covariates=("p", "f"), target="loss", roles=("gap",),
      log_predict=lambda q, lx: jnp.logaddexp(jnp.logaddexp(q["A"] - q["a"] * lx["p"], q["C"]) - q["b"] * lx["f"],
                                              q["E"]),
      grid={"A": [0.0, 2.0], "C": [-4.0, 0.0], "E": [0.0], "a": [0.3, 1.0], "b": [0.3, 1.0]},
      template="L = {E} + ({A} p^-{a} + {C}) f^-{b}",
      hints={"A": Param(log_scale=True, profile=False), "a": Param(),
             "C": Param(log_scale=True, headline=True, zero=True), "b": Param(),
             "E": Param(log_scale=True, profile=False)}))
  yield law
  unregister(law.name)
