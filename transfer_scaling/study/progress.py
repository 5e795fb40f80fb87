"""What a person watching a sweep sees: runs done of planned, the ensemble in training, elapsed and left.

On a terminal, one live bar for the whole sweep (the engine's own bar is off), with the lines
the sweep prints written above it. Elsewhere (a log file, a scheduler's output, a pipe) one
plain line per ensemble as it starts, and no carriage returns. Either way a line says when the
plan grows (a learning-rate round adds rates, a bracketing round from-scratch runs).

The time left is the estimate of the unfinished runs (study/estimate.py: the workdir's throughput
as measured before this sweep, else the table, scaled per stage as the workdir's or the stored studies'
runs went against their first budgets), scaled again by how long the ensembles this sweep has trained
took against their own estimates: the ratio learns this machine's speed and compilation.
"""
import collections
import io
import sys
import threading
import time

import tqdm

from transfer_scaling import fileio
from transfer_scaling.study import estimate, workdir as workdir_lib

STAGE_WORDS = {"pretrain": "pre-training", "zeroshot": "zero-shot", "scratch": "from-scratch", "finetune": "fine-tuned"}


class Progress:
  """The sweep's progress display; `live` None: a bar when `file` is a terminal, plain lines otherwise."""

  def __init__(self, workdir, file=None, live=None, clock=time.monotonic, refresh_s: float = 1.0):
    self.workdir, self.file, self.clock = workdir, file or sys.stderr, clock
    self.live = _isatty(self.file) if live is None else live
    self.t0 = clock()
    self.total = self.done = 0
    self.left_s = 0.0                 # estimate of the unfinished runs, before the ratio
    self.spent = [0.0, 0.0]           # measured wall, estimated seconds of the ensembles trained here
    self.current = None               # (group, k, n, estimated seconds, started at)
    self._ids, self._runs = None, {}
    self._rounds = {}
    self._rates = None
    self._hist = self.base = estimate.DECISION  # the sweep sets base to its protocol's (estimate.default)
    self.mine, self.records = [], {}
    self.bar = self._stderr = self._ticker = None
    self.refresh_s = refresh_s
    self._stop = threading.Event()
    self._lock = threading.RLock()  # the ticker thread redraws while the sweep writes lines

  def _open_bar(self) -> None:
    """The live bar, from the first plan on (the corpora are prepared before it, with their own output)."""
    self.bar = tqdm.tqdm(total=max(self.total, 1), initial=self.done, unit="run", file=self.file, dynamic_ncols=True,
                         mininterval=0.5, bar_format="{desc}{percentage:3.0f}%|{bar}| {n}/{total} runs{postfix}")
    # What the sweep and the engine print to stderr goes above the bar, a line at a time.
    self._stderr, sys.stderr = sys.stderr, _AboveBar(self)
    self._ticker = threading.Thread(target=self._tick, args=(self.refresh_s,), daemon=True)
    self._ticker.start()

  # -- what the sweep tells it

  def plan(self, p, mine: list, records: dict) -> None:
    """The plan as recomputed: totals, and a notice when it grew. mine: the groups this shard owns."""
    ids = {r.id for g in mine for r in g.runs}
    brackets = getattr(p, "brackets", None) or {}
    runs = {r.id: r for g in mine for r in g.runs}
    if self._ids is not None and ids - self._ids:
      self.notice(growth([runs[i] for i in sorted(ids - self._ids)], self._runs, brackets, self._rounds, len(ids)))
    self._ids, self._runs, self._rounds = ids, runs, {k: v["rounds"] for k, v in brackets.items()}
    self.mine, self.records = mine, records
    self.total = len(ids)
    self.done = sum(rid in records for rid in ids)
    left = [r for g in mine for r in g.runs if r.id not in records]
    opening = self._rates is None
    if opening:
      # The timings from before this sweep, kept: those of its own ensembles enter through the ratio,
      # which would otherwise count them twice.
      self._rates = estimate.measured(self.workdir)
      self._hist = estimate.history(list(runs.values()), records, self._rates, base=self.base)
    est = estimate.estimate(left, self._rates)
    if opening and left:
      more = ("" if getattr(p, "settled", True)
              else f", about {estimate.duration(est.expected(self._hist))} with the runs later rounds add")
      self.line(f"estimated time: about {estimate.duration(est.expected(self._hist, rounds=False))} for the "
                f"{len(left)} runs still to do{more} (from {est.source}, scaled as the runs of {self._hist.source} "
                "went)")
    self.left_s = est.expected(self._hist, rounds=False)
    if self.live and self.bar is None:
      self._open_bar()
    self._draw()

  def start(self, group, records: dict) -> None:
    """This worker is about to train `group` (unless another one holds its claim: then nothing is shown)."""
    if workdir_lib.holder(fileio.path(workdir_lib.group_dir(self.workdir, group.id)) / "claim.json") is not None:
      return
    n = len(self.mine)
    k = sum(all(r.id in self.records for r in g.runs) for g in self.mine) + 1
    runs = [r for r in group.runs if r.id not in records]
    self.current = (group, k, n, estimate.estimate(runs, self._rates).expected(self._hist, rounds=False), self.clock())
    if self.live:
      self._draw()
    else:
      self.line(f"ensemble {k} of {n}: {describe(group, len(runs))}; {self.done} of {self.total} runs done, "
                f"{estimate.duration(self.elapsed())} elapsed{self._left_text(', about {} left')}")

  def finish(self) -> None:
    """The current ensemble has ended (its records are written)."""
    if self.current is not None and self.current[3] > 0:  # zero-shot ensembles train nothing: no estimate to learn from
      _, _, _, est, t = self.current
      self.spent[0] += self.clock() - t
      self.spent[1] += est
    self.current = None

  def notice(self, text: str) -> None:
    self.line(text)

  def line(self, text: str) -> None:
    with self._lock:
      if self.bar is not None:
        self.bar.write(text, file=self.file)
      else:
        print(text, file=self.file, flush=True)

  def close(self) -> None:
    """Ends the bar (with its last numbers) and gives stderr back; safe to call more than once."""
    self._stop.set()
    if self._ticker is not None:
      self._ticker.join()
      self._ticker = None
    if self._stderr is not None:
      sys.stderr, self._stderr = self._stderr, None
    if self.bar is not None:
      self._draw()
      with self._lock:
        self.bar.close()
        self.bar = None

  # -- what it shows

  def elapsed(self) -> float:
    return self.clock() - self.t0

  def ratio(self) -> float:
    """Measured over estimated time of the ensembles trained so far (1 before the first)."""
    wall, est = self.spent
    return wall / est if est > 0 and wall > 0 else 1.0

  def seconds_left(self):
    """The estimate of what is left now, or None when nothing is left to train."""
    if self.done >= self.total and self.current is None:
      return None
    left = self.left_s
    if self.current is not None:  # the ensemble in training: its estimate less the time it has had
      _, _, _, est, t = self.current
      left -= min(est, (self.clock() - t) / self.ratio())
    return max(left, 0.0) * self.ratio()

  def _left_text(self, fmt: str) -> str:
    s = self.seconds_left()
    return fmt.format(estimate.duration(s)) if s is not None else ""

  def _draw(self) -> None:
    with self._lock:
      if self.bar is not None:
        self._draw_bar()

  def _draw_bar(self) -> None:
    desc = ""
    if self.current is not None:
      g, k, n, _, _ = self.current
      desc = f"{STAGE_WORDS.get(g.stage, g.stage)} {g.runs[0].size}, ensemble {k}/{n} "
    self.bar.total, self.bar.n = max(self.total, 1), self.done
    self.bar.set_description_str(desc, refresh=False)
    self.bar.set_postfix_str(f"{estimate.duration(self.elapsed())} elapsed"
                             + self._left_text(", about {} left"), refresh=False)
    self.bar.refresh()

  def _tick(self, every: float) -> None:
    while not self._stop.wait(every):
      try:
        self._draw()
      except Exception:  # a display glitch must never stop the sweep
        pass


def describe(group, n_runs: int) -> str:
  r = group.runs[0]
  where = f" on {r.corpus}" if r.stage != "pretrain" else f" on {r.corpus} (pre-training)"
  what = STAGE_WORDS.get(r.stage, r.stage) if r.stage != "pretrain" else ""
  return f"{(what + ' ') if what else ''}{r.size}{where}, {n_runs} run{'s' if n_runs != 1 else ''}"


def _cell(r) -> tuple:
  return (r.stage, r.corpus, r.size, r.d_f, r.init)


def growth(new: list, before: dict, brackets: dict, rounds_before: dict, total: int) -> str:
  """The notice for runs the plan gained: how many, of which stage, and the rounds behind them.

  before: the runs the plan held (id -> run); a new run at a new learning rate in a cell that had runs
  comes from a learning-rate round, and a bracketing round is one that `brackets` counts up.
  """
  by_stage = collections.Counter(r.stage for r in new)
  what = ", ".join(f"{n} {STAGE_WORDS.get(s, s)}" for s, n in sorted(by_stage.items()))
  rates = {}
  for r in before.values():
    rates.setdefault(_cell(r), set()).add(r.lr)
  lr_cells = {_cell(r) for r in new if _cell(r) in rates and r.lr not in rates[_cell(r)]}
  why = [f"a learning-rate round for {len(lr_cells)} cell{'s' if len(lr_cells) != 1 else ''}"] if lr_cells else []
  why += [f"bracketing round {b['rounds']} for {target} {size}" for (target, size), b in sorted(brackets.items())
          if b["rounds"] > rounds_before.get((target, size), 0)]
  return (f"plan: {len(new)} new run{'s' if len(new) != 1 else ''} ({what})"
          + (f" from {'; '.join(why)}" if why else "") + f"; {total} runs planned now")


def _isatty(f) -> bool:
  try:
    return f.isatty()
  except (AttributeError, ValueError):
    return False


class _AboveBar(io.TextIOBase):
  """A stderr that hands whole lines to the bar's writer, so they print above the bar, not through it."""

  def __init__(self, progress: Progress):
    self.progress, self.pending = progress, ""

  def write(self, s: str) -> int:
    self.pending += s
    while "\n" in self.pending:
      line, self.pending = self.pending.split("\n", 1)
      self.progress.line(line)
    return len(s)

  def flush(self) -> None:
    pass

  def isatty(self) -> bool:
    return False
