"""Metrics sinks: a JSON-lines log and TensorBoard event files, written by process 0 only."""
import json
import os

import jax


class MetricsWriter:
  """Appends one JSON object per line to metrics.jsonl and mirrors scalars to TensorBoard."""

  def __init__(self, workdir: str, keep_until: int = -1, tensorboard: bool = True):
    self.enabled = jax.process_index() == 0
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._tb = None
    if not self.enabled:
      return
    self._truncate_after(keep_until)
    if tensorboard:
      from tensorboardX import SummaryWriter  # imported lazily: slow to import
      self._tb = SummaryWriter(os.path.join(workdir, "tb"))
    self._f = open(self.path, "a")

  def _truncate_after(self, step: int) -> None:
    # Lines logged after the checkpoint we resume from are re-run (all of them, for a fresh
    # start): drop them so the log holds one curve.
    if not os.path.exists(self.path):
      return
    from transfer_scaling.fileio import write_text_atomic
    keep = []
    with open(self.path) as f:
      for line in f:
        try:
          rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
          continue
        if rec.get("step", 0) <= step:
          keep.append(json.dumps(rec) + "\n")
    write_text_atomic(self.path, "".join(keep))

  def write(self, kind: str, step: int, values: dict) -> None:
    """values: name -> list over members (or a scalar)."""
    if not self.enabled:
      return
    self._f.write(json.dumps({"kind": kind, "step": step, **values}) + "\n")
    if self._tb is None:
      return
    for name, v in values.items():
      vs = v if isinstance(v, (list, tuple)) else [v]
      for k, x in enumerate(vs):
        if isinstance(x, (int, float)) and not isinstance(x, bool):
          self._tb.add_scalar(f"{kind}/{name}/member{k}", x, step)

  def flush(self) -> None:
    if self.enabled:
      self._f.flush()
      if self._tb is not None:
        self._tb.flush()

  def close(self) -> None:
    if self.enabled:
      self._f.close()
      if self._tb is not None:
        self._tb.close()
