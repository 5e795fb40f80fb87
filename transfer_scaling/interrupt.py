"""Ctrl-C and SIGTERM (a scheduler's preemption): stop at a safe point, save, say so in one line.

An exception raised wherever the main thread happens to be (inside a jitted call, an orbax
save, a garbage-collection callback) can be lost: Python prints "Exception ignored" and goes
on. So a stop request is also remembered, is not raised inside a finalizer at all, and
`check()` raises it at the points where stopping is safe (between ensembles, before training
starts, when the command returns). Inside `deferred()` the first
request only sets the flag, which the training loop reads after every chunk: it checkpoints,
then calls `check()`. A second request interrupts at once, for a user who really means it.

SIGINT raises KeyboardInterrupt, SIGTERM `Terminated` (a KeyboardInterrupt, so every cleanup
that runs for Ctrl-C runs for it: claims released, saves awaited). The command line exits 130
and 143 for them (128 + the signal number, as a shell reports a process killed by it).
"""
import contextlib
import gc
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
  """The process was asked to stop by SIGTERM."""


_state = {"pending": None, "deferring": False}


def _exception(signum) -> KeyboardInterrupt:
  return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _in_finalizer(frame) -> bool:
  """Whether the main thread is inside a garbage-collection callback or a __del__, where Python would
  print a raised exception as "Exception ignored" with its traceback, and drop it."""
  callbacks = {getattr(cb, "__code__", None) for cb in gc.callbacks}
  while frame is not None:
    if frame.f_code in callbacks or frame.f_code.co_name == "__del__":
      return True
    frame = frame.f_back
  return False


def _handler(signum, frame):
  first = _state["pending"] is None
  _state["pending"] = signum
  if (_state["deferring"] and first) or _in_finalizer(frame):
    return  # acted on at the next safe point (check(), or the training loop's look at the flag)
  raise _exception(signum)


def requested() -> bool:
  return _state["pending"] is not None


def check() -> None:
  """Raises the stop request that arrived and was not yet acted on, if one did (delivered or lost)."""
  signum, _state["pending"] = _state["pending"], None
  if signum is not None:
    raise _exception(signum)


def _install():
  if threading.current_thread() is not threading.main_thread():
    return None
  return {s: signal.signal(s, _handler) for s in SIGNALS}


def _restore(previous):
  for s, h in (previous or {}).items():
    signal.signal(s, h)


@contextlib.contextmanager
def handled():
  """The command line's scope: SIGINT and SIGTERM become requests (see the module docstring)."""
  previous = _install()
  _state["pending"] = None
  try:
    yield
  finally:
    _restore(previous)
    _state["pending"] = None


@contextlib.contextmanager
def deferred():
  """Yields a flag whose `requested` turns true at the first SIGINT or SIGTERM (main thread only)."""
  check()
  previous = _install()
  if previous is None:
    yield _Flag()
    return
  _state["deferring"] = True
  try:
    yield _Flag()
  except KeyboardInterrupt:
    _state["pending"] = None  # delivered
    raise
  finally:
    _state["deferring"] = False
    _restore(previous)
  check()  # a request after the loop's last look (say, during the final save): still stop


class _Flag:
  @property
  def requested(self) -> bool:
    return requested()
