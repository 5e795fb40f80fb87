"""Seconds this process has spent compiling: tracing, lowering, and XLA compilation or loading
a compiled program from the persistent cache (JAX reports each through jax.monitoring).

What a warm cache or a longer run amortises; an ensemble's wall time less its share of this is
its steady state, the time it would take with every program already compiled.
"""
import threading

import jax

_EVENTS = frozenset(("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                     "/jax/core/compile/backend_compile_duration"))
_lock = threading.Lock()
_total = [0.0]
_listening = [False]


def _record(event, duration, **_):
  if event in _EVENTS:
    with _lock:
      _total[0] += duration


def seconds() -> float:
  """Compilation seconds so far in this process (it starts counting at the first call)."""
  with _lock:
    if not _listening[0]:
      jax.monitoring.register_event_duration_secs_listener(_record)
      _listening[0] = True
    return _total[0]
