"""Learning rates until interior: extend a cell's grid while its chosen rate sits at an edge.

The choice of a cell (study/selection.py) says which rate won; if it is the lowest (highest) of
the cell's grid the best may lie beyond it, so the sweep trains the cell again at the rate a
half-decade lower (higher), with every seed and warm-up, and chooses again: at most `lr_rounds`
rounds, never past `lr_floor` / `lr_ceiling`. What stops a cell at an edge is its limit, which
the plan records and the report states. A grid of one rate is a fixed choice, never extended.
"""
STEP = 10 ** 0.5  # a half-decade


def beyond(lr: float, up: bool) -> float:
  """The rate a half-decade above (up) or below lr, to 2 significant digits (stable ids; 1e-3 -> 3.2e-4 -> 1e-4)."""
  return float(f"{lr * STEP if up else lr / STEP:.2g}")


def next_rate(stage, grid, winner: float, round_: int) -> tuple:
  """(the rate to add or None, why the cell stops here: '' when the winner is interior).

  stage: config.Stage; grid: the cell's rates so far; round_: the extensions it had already.
  """
  grid = sorted(set(grid))
  if len(grid) < 2 or grid[0] < winner < grid[-1]:
    return None, ""
  up = winner == grid[-1]
  new = beyond(winner, up)
  side = "highest" if up else "lowest"
  if up and new > stage.lr_ceiling * (1 + 1e-9):
    return None, f"{side} rate; the next, {new:g}, is above lr_ceiling {stage.lr_ceiling:g}"
  if not up and new < stage.lr_floor * (1 - 1e-9):
    return None, f"{side} rate; the next, {new:g}, is below lr_floor {stage.lr_floor:g}"
  if round_ >= stage.lr_rounds:
    return None, f"{side} rate after {round_} of lr_rounds={stage.lr_rounds} extensions"
  return new, ""
