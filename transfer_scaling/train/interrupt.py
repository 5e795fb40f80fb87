"""Ctrl-C during training: finish the step in flight, save, then stop, in that order.

A KeyboardInterrupt raised wherever the main thread happens to be (inside a jitted call,
an orbax save, the batch prefetch) can be lost in a callback or leave a save half done.
Inside `deferred()` the first SIGINT only sets a flag, which the training loop reads after
every chunk: it checkpoints and raises KeyboardInterrupt itself. A second SIGINT interrupts
at once, for a user who really means it.
"""
import contextlib
import signal
import threading


class _Flag:
  requested = False


@contextlib.contextmanager
def deferred():
  """Yields a flag whose `requested` turns true at the first SIGINT (main thread only; else never)."""
  flag = _Flag()
  if threading.current_thread() is not threading.main_thread():
    yield flag
    return
  previous = signal.getsignal(signal.SIGINT)

  def handler(signum, frame):
    if flag.requested:  # the second one: no more waiting
      signal.signal(signal.SIGINT, previous)
      raise KeyboardInterrupt
    flag.requested = True

  signal.signal(signal.SIGINT, handler)
  try:
    yield flag
  finally:
    signal.signal(signal.SIGINT, previous)
  if flag.requested:  # it came after the loop's last look (say, during the final save): still stop
    raise KeyboardInterrupt
