"""Ctrl-C and SIGTERM: a request is never lost, training saves before it stops, a resume is exact."""
import os
import signal
import sys

import numpy as np
import pytest

from transfer_scaling import cli, interrupt

import test_train_engine as te


def test_a_request_lost_in_a_finalizer_still_stops_at_the_next_safe_point(monkeypatch):
  lost = []
  monkeypatch.setattr(sys, "unraisablehook", lost.append)

  class Finalized:
    def __del__(self):
      os.kill(os.getpid(), signal.SIGINT)  # lands inside __del__, where a raise would be "ignored"
      for _ in range(1000):
        pass

  before = signal.getsignal(signal.SIGINT)  # a process started in the background may inherit SIG_IGN
  with interrupt.handled():
    Finalized()
    assert lost == []  # not raised where Python would print its traceback and drop it ...
    with pytest.raises(KeyboardInterrupt):  # ... but acted on at the next safe point
      interrupt.check()
    interrupt.check()  # acted on: once
  assert signal.getsignal(signal.SIGINT) is before  # the handler it found is back


class Preempted:
  """Batches that send this process SIGTERM when the batch of step `at` is asked for (from a thread)."""

  def __init__(self, inner, at):
    self.inner, self.at = inner, at

  def train_batch(self, step):
    if step == self.at:
      os.kill(os.getpid(), signal.SIGTERM)
    return self.inner.train_batch(step)

  def __getattr__(self, name):
    return getattr(self.inner, name)


def test_sigterm_saves_the_step_in_flight_and_a_resume_is_exact(tmp_path):
  spec = te.make_spec(te.members((0, 3e-3), (1, 1e-2)), max_steps=30)
  full = te.train(spec, te.batches_for(spec), str(tmp_path / "full"))
  cut = str(tmp_path / "cut")
  with interrupt.handled(), pytest.raises(interrupt.Terminated):
    te.train(spec, Preempted(te.batches_for(spec), 12), cut)
  saved = sorted(os.listdir(os.path.join(cut, "ckpt")))
  assert saved and not [d for d in saved if "tmp" in d], saved  # a finished save, no half-written one
  assert int(saved[-1]) < 30
  again = te.train(spec, te.batches_for(spec), cut)
  assert [(r.valid_loss, r.test_loss, r.best_step) for r in again] == \
      [(r.valid_loss, r.test_loss, r.best_step) for r in full]
  np.testing.assert_array_equal(te.train_losses(cut), te.train_losses(str(tmp_path / "full")))


def test_the_command_line_says_sigterm_in_one_line_and_exits_143(monkeypatch, capsys):
  def preempted(argv):
    os.kill(os.getpid(), signal.SIGTERM)
    return 0

  monkeypatch.setattr("transfer_scaling.commands.results.main", preempted)
  assert cli.main(["results"]) == 143
  assert capsys.readouterr().err == "terminated (SIGTERM); finished work is saved and a rerun resumes\n"
