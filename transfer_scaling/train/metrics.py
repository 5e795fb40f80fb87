"""Metrics sinks: a JSON-lines log and TensorBoard event files, written by process 0 only.

On a local disk metrics.jsonl is appended to; on an object store (gs://), where files
cannot be appended to, the whole log is rewritten at each flush. TensorBoard event files
are written for local workdirs only.
"""
import json
import sys

import jax

from transfer_scaling import fileio


class MetricsWriter:
  """Appends one JSON object per line to metrics.jsonl and mirrors scalars to TensorBoard."""

  def __init__(self, workdir, keep_until: int = -1, tensorboard: bool = True):
    self.enabled = jax.process_index() == 0
    self.path = fileio.path(workdir) / "metrics.jsonl"
    self.remote = fileio.is_remote(workdir)
    self._tb, self._lines, self._f = None, [], None
    if not self.enabled:
      return
    self._lines = self._kept_lines(keep_until)
    fileio.write_text_atomic(self.path, "".join(self._lines))
    if tensorboard and self.remote:
      print(f"note: no TensorBoard events for remote workdir {workdir} (metrics.jsonl has every value)",
            file=sys.stderr)
    elif tensorboard:
      from tensorboardX import SummaryWriter  # imported lazily: slow to import
      self._tb = SummaryWriter(str(fileio.path(workdir) / "tb"))
    if not self.remote:
      self._f = open(self.path, "a")

  def _kept_lines(self, step: int) -> list:
    # Lines logged after the checkpoint we resume from are re-run (all of them, for a fresh
    # start): drop them so the log holds one curve.
    if step < 0 or not self.path.exists():
      return []
    keep = []
    for line in self.path.read_text().splitlines():
      try:
        rec = json.loads(line)
      except json.JSONDecodeError:  # a line cut short by a kill
        continue
      if rec.get("step", 0) <= step:
        keep.append(json.dumps(rec) + "\n")
    return keep

  def write(self, kind: str, step: int, values: dict) -> None:
    """values: name -> list over members (or a scalar)."""
    if not self.enabled:
      return
    line = json.dumps({"kind": kind, "step": step, **values}) + "\n"
    if self._f is not None:
      self._f.write(line)
    else:
      self._lines.append(line)
    if self._tb is None:
      return
    for name, v in values.items():
      vs = v if isinstance(v, (list, tuple)) else [v]
      for k, x in enumerate(vs):
        if isinstance(x, (int, float)) and not isinstance(x, bool):
          self._tb.add_scalar(f"{kind}/{name}/member{k}", x, step)

  def flush(self) -> None:
    if not self.enabled:
      return
    if self._f is not None:
      self._f.flush()
    else:
      fileio.write_text_atomic(self.path, "".join(self._lines))
    if self._tb is not None:
      self._tb.flush()

  def close(self) -> None:
    if not self.enabled:
      return
    self.flush()
    if self._f is not None:
      self._f.close()
    if self._tb is not None:
      self._tb.close()
