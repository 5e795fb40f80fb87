"""Speed of the Chinchilla fit: transfer_scaling.laws against scipy's L-BFGS-B, one start after another.

  python -m benchmarks.bench_fit [--repeats 3] [--bootstrap 4000] [--scipy-every 15]

Ours: the full fit of the replication (4,500-start grid, 240 points, Huber delta 1e-3, float64)
plus B bootstrap refits, timed cold (first call: includes compilation) and warm (median of
--repeats). scipy: scipy.optimize.minimize(method="L-BFGS-B") on the same objective with
finite-difference gradients, as in the published replication, from every k-th start of the
grid; its time per start is scaled to the 4,500 starts. Prints a markdown block for
docs/benchmarks.md. CPU time is reported next to wall time because the cores may be shared.
"""
import argparse
import datetime
import os
import platform
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber, logsumexp


def _timed(fn):
  w, c = time.perf_counter(), time.process_time()
  out = fn()
  return out, time.perf_counter() - w, time.process_time() - c


def _cpu_name():
  try:
    with open("/proc/cpuinfo") as f:
      return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
  except (OSError, StopIteration):
    return platform.processor() or "unknown CPU"


def scipy_fit(df, starts, delta=1e-3):
  """Best of scipy L-BFGS-B runs from `starts` ([S, 5]: log E, log A, log B, alpha, beta)."""
  lN, lD, ly = np.log(df["N"].to_numpy()), np.log(df["D"].to_numpy()), np.log(df["loss"].to_numpy())

  def objective(t):
    e, a, b, alpha, beta = t
    pred = logsumexp(np.stack([a - alpha * lN, b - beta * lD, np.full_like(lN, e)]), axis=0)
    return np.sum(huber(delta, pred - ly))

  best = None
  for t0 in starts:
    r = minimize(objective, t0, method="L-BFGS-B")
    if best is None or r.fun < best.fun:
      best = r
  return best


def main():
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--repeats", type=int, default=3)
  ap.add_argument("--bootstrap", type=int, default=4000)
  ap.add_argument("--scipy-every", type=int, default=15, help="time scipy from every k-th start (1: all 4,500)")
  args = ap.parse_args()

  from transfer_scaling import laws
  import jax
  df = laws.chinchilla_data(drop_highest=5)
  load0 = os.getloadavg()

  cold, cold_wall, cold_cpu = _timed(lambda: laws.fit("chinchilla", df, bootstrap=args.bootstrap))
  warm = [_timed(lambda: laws.fit("chinchilla", df, bootstrap=args.bootstrap)) for _ in range(args.repeats)]
  grid_only = [_timed(lambda: laws.fit("chinchilla", df, bootstrap=0)) for _ in range(args.repeats)]
  r = warm[-1][0]
  warm_wall, warm_cpu = np.median([w for _, w, _ in warm]), np.median([c for _, _, c in warm])
  grid_wall = np.median([w for _, w, _ in grid_only])

  law = laws.get_law("chinchilla")
  starts = law.start_grid()[:: args.scipy_every]
  best, sp_wall, sp_cpu = _timed(lambda: scipy_fit(df, starts))
  per_start = sp_wall / len(starts)
  sp_full = per_start * len(law.start_grid())
  load1 = os.getloadavg()
  sp_params = law.from_coords(best.x)

  print(f"""
Machine: {_cpu_name()}, {os.cpu_count()} cores visible; load average (1 min) {load0[0]:.1f} before, \
{load1[0]:.1f} after.
Date: {datetime.date.today().isoformat()}; jax {jax.__version__}, Python {platform.python_version()}.
Command: `python -m benchmarks.bench_fit --repeats {args.repeats} --bootstrap {args.bootstrap} \
--scipy-every {args.scipy_every}`

| what | wall s | CPU s |
|---|---|---|
| ours, 4,500-start grid + {args.bootstrap} bootstrap refits, first call (compiles) | {cold_wall:.1f} | {cold_cpu:.1f} |
| ours, same, warm (median of {args.repeats}) | {warm_wall:.1f} | {warm_cpu:.1f} |
| ours, 4,500-start grid only, warm (median of {args.repeats}) | {grid_wall:.2f} | |
| scipy L-BFGS-B, {len(starts)} starts one after another | {sp_wall:.1f} | {sp_cpu:.1f} |
| scipy, scaled to 4,500 starts ({per_start * 1e3:.0f} ms per start) | {sp_full:.0f} | |

Grid fit speed-up over scipy (same starts, warm): {sp_full / grid_wall:.0f}x; whole fit with bootstrap, first call
vs scipy's grid alone: {sp_full / cold_wall:.1f}x.
Ours: E={r.params['E']:.4f} A={r.params['A']:.1f} B={r.params['B']:.1f} \
alpha={r.params['alpha']:.4f} beta={r.params['beta']:.4f},
objective {r.objective:.8g}; {r.n_bootstrap_converged}/{r.n_bootstrap} bootstrap refits converged,
stderr E {r.stderr['E']:.3f} A {r.stderr['A']:.1f} B {r.stderr['B']:.0f} \
alpha {r.stderr['alpha']:.3f} beta {r.stderr['beta']:.3f}.
scipy's best of its {len(starts)} starts: E={sp_params['E']:.4f} A={sp_params['A']:.1f} B={sp_params['B']:.1f} \
alpha={sp_params['alpha']:.4f} beta={sp_params['beta']:.4f}, objective {best.fun:.8g}.
""")


if __name__ == "__main__":
  main()
