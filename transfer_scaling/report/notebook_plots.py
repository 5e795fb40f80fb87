"""Figures for the notebooks in colab/: each function draws on a new figure and returns it (shown inline).

Inputs are the laws API's own outputs (FitResult, effective_data's table, TransferFit, a gap law's
parameters), so every figure is also one call from a script. Laws are read through the registry (the fit's
own, or the gap role's default, definitions.GAP), never typed here. The study report's saved figures
live in report/figures.py; these are the interactive, explore-your-own-data ones.
"""
import numpy as np
import pandas as pd

from transfer_scaling import laws
from transfer_scaling.errors import UsageError
from transfer_scaling.laws import definitions
from transfer_scaling.report.figures import law_title

# Imported lazily by each function so that importing this module never picks a matplotlib backend.
SCRATCH, FINETUNE, OPTIMUM = "tab:gray", "tab:blue", "tab:red"
_LINESTYLES = ("-", "--", ":", "-.")


def _plt():
  import matplotlib.pyplot as plt
  return plt


def _colors(values):
  cmap = _plt().get_cmap("viridis")
  values = sorted(values)
  return {v: cmap(i / max(len(values) - 1, 1) * 0.9) for i, v in enumerate(values)}


def _log_bins(x, n_bins: int) -> np.ndarray:
  # Bin index of each x on log-spaced bins, so a cloud of model sizes reads as a few colour groups.
  lx = np.log(np.asarray(x, np.float64))
  edges = np.linspace(lx.min(), lx.max() + 1e-9, n_bins + 1)
  return np.clip(np.searchsorted(edges, lx, side="right") - 1, 0, n_bins - 1)


def law_curves(data: pd.DataFrame, fits, n_groups: int = 6):
  """Measured loss against D, coloured by model size N (log-binned), with each fit's L(N, D) at the bins' median N."""
  plt = _plt()
  fits = list(fits) if isinstance(fits, (list, tuple)) else [fits]
  fig, ax = plt.subplots(figsize=(6.5, 4.5))
  k = min(n_groups, data["N"].nunique())
  groups = _log_bins(data["N"], k)
  colors = _colors(range(k))
  D = np.geomspace(data["D"].min(), data["D"].max(), 100)
  for g in range(k):
    rows = data[groups == g]
    if rows.empty:
      continue
    n = float(np.median(rows["N"]))
    ax.scatter(rows["D"], rows["loss"], s=12, color=colors[g], alpha=0.7, label=f"N ~ {n:.2g}")
    for fit, ls in zip(fits, _LINESTYLES):
      if fit.converged:
        ax.plot(D, fit.predict(pd.DataFrame({"N": np.full_like(D, n), "D": D})), ls, color=colors[g], lw=1.2)
  for fit, ls in zip(fits, _LINESTYLES):
    ax.plot([], [], ls, color="k", label=f"{fit.law} fit")
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xlabel("training data D")
  ax.set_ylabel("loss")
  ax.legend(fontsize=7, ncol=2)
  ax.grid(alpha=0.3, which="both")
  return fig


def predicted_vs_measured(data: pd.DataFrame, fits):
  """Each fit's predicted loss against the measured one (points on the diagonal are fitted exactly)."""
  plt = _plt()
  fits = list(fits) if isinstance(fits, (list, tuple)) else [fits]
  fig, axes = plt.subplots(1, len(fits), figsize=(4 * len(fits), 3.8), squeeze=False)
  lo, hi = data["loss"].min(), data["loss"].max()
  for ax, fit in zip(axes[0], fits):
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    if fit.converged:
      ax.scatter(data["loss"], fit.predict(data), s=10, alpha=0.6)
    ax.set_title(f"{fit.law}: RMSE of log loss {fit.rmse_log:.3g}", fontsize=9)
    ax.set_xlabel("measured loss")
    ax.set_ylabel("predicted loss")
    ax.grid(alpha=0.3)
  fig.tight_layout()
  return fig


def bootstrap_histograms(fit, names=None):
  """Distribution of each parameter over the bootstrap refits, with the point estimate and the 95% interval."""
  plt = _plt()
  if fit.bootstrap is None or len(fit.bootstrap) < 2:
    raise ValueError(f"the {fit.law} fit has no bootstrap refits: fit it with bootstrap=200 or more")
  names = list(names or fit.params)
  fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.6), squeeze=False)
  for ax, name in zip(axes[0], names):
    ax.hist(fit.bootstrap[name], bins=30, color="tab:blue", alpha=0.7)
    ax.axvline(fit.params.get(name, fit.derived.get(name)), color="k", lw=1.2)
    for v in fit.ci95[name]:
      ax.axvline(v, color="k", ls=":", lw=1)
    ax.set_title(name, fontsize=9)
    ax.tick_params(labelsize=7)
  fig.suptitle(f"{fit.law}: {fit.n_bootstrap_converged} bootstrap refits (solid: estimate, dotted: 95% interval)",
               fontsize=9)
  fig.tight_layout()
  return fig


def effective_data(eff: pd.DataFrame, scratch: pd.DataFrame, sizes=None):
  """Per model size: the from-scratch loss curve L(D), the fine-tuned runs at D_F and an arrow to their D_E."""
  plt = _plt()
  sizes = sorted(set(eff["N"]) if sizes is None else sizes)
  cols = min(len(sizes), 3)
  rows = -(-len(sizes) // cols)
  fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.3 * rows), sharey=True, squeeze=False)
  for ax in axes.ravel()[len(sizes):]:
    ax.set_visible(False)
  for ax, n in zip(axes.ravel(), sizes):
    s = scratch[np.isclose(scratch["N"], n, rtol=1e-6)].sort_values("D")
    e = eff[np.isclose(eff["N"], n, rtol=1e-6)]
    ax.plot(s["D"], s["loss"], "o-", color=SCRATCH, ms=4, label="from scratch, L(D)")
    ax.plot(e["D_F"], e["loss"], "s", color=FINETUNE, ms=5, label="fine-tuned, at D_F")
    for _, r in e[np.isfinite(e["D_E"])].iterrows():
      ax.annotate("", xy=(r["D_E"], r["loss"]), xytext=(r["D_F"], r["loss"]),
                  arrowprops=dict(arrowstyle="->", color=FINETUNE, lw=0.8))
    ax.set_xscale("log")
    ax.set_title(f"N = {n:.3g}", fontsize=9)
    ax.set_xlabel("data: D, or D_F -> D_E")
    ax.grid(alpha=0.3, which="both")
  for ax in axes[:, 0]:
    ax.set_ylabel("loss")
  axes[0][0].legend(fontsize=7)
  fig.tight_layout()
  return fig


def transfer_law(tf):
  """D_T against D_F per model size: runs used by the fit (filled), left out (open), and the fitted law (lines)."""
  plt = _plt()
  rows, fit = tf.rows, tf.fit
  law = laws.get_law(fit.law)
  fig, ax = plt.subplots(figsize=(6, 4.3))
  colors = _colors(set(rows["N"]))
  for n, g in rows.groupby("N"):
    g = g.sort_values("D_F")
    pos = g["D_T"] > 0
    used = g["used"].astype(bool)
    ax.plot(g["D_F"][pos & used], g["D_T"][pos & used], "o", color=colors[n], label=f"N = {n:.3g}")
    ax.plot(g["D_F"][pos & ~used], g["D_T"][pos & ~used], "o", mfc="none", color=colors[n])
    if fit.converged:
      x = np.geomspace(g["D_F"].min(), g["D_F"].max(), 50)
      d_t = law.functions["D_T"](fit.params, np.full(x.size, float(n)), x)
      ax.plot(x, d_t, "-", color=colors[n], lw=1)
  ax.plot([], [], "o", mfc="none", color="k", label="left out of the fit")
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xlabel("fine-tuning data D_F")
  ax.set_ylabel("effective data transferred D_T")
  if fit.converged:
    ax.set_title(law_title(law, fit.params), fontsize=10)
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3, which="both")
  return fig


def _default_ranges(alloc, budget, cost_p, cost_f):
  # Wide enough to show the whole budget line and the optimum with room around it.
  p_max, f_max = budget / cost_p, budget / cost_f
  return (min(alloc.p, p_max) * 1e-3, p_max * 10), (min(alloc.f, f_max) * 1e-3, f_max * 10)


def isoloss(params, budget: float, cost_p: float, cost_f: float, p_range=None, f_range=None, n: int = 120,
            law: str = definitions.GAP):
  """Isoloss contours of a gap law (registry name) over (p, f), the budget line C_p p + C_f f = budget and its optimum.

  Left: contours (log-log), the budget line, its loss-minimising (p, f) (red star) and the optimum for
  every budget (red dashed: the expansion path). Right: the loss along the budget line against the
  share of the budget spent on pre-training. Returns (figure, Allocation).
  """
  plt = _plt()
  alloc = laws.allocate_budget(params, budget, cost_p, cost_f, law=law)
  if p_range is None or f_range is None:
    dp, df = _default_ranges(alloc, budget, cost_p, cost_f)
    p_range, f_range = p_range or dp, f_range or df
  grid = laws.isoloss_grid(params, p_range, f_range, n=n, law=law)
  P, F, L = (grid[c].to_numpy().reshape(n, n) for c in ("p", "f", "loss"))
  fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.3))
  levels = np.quantile(L, np.linspace(0.02, 0.98, 14))
  cs = ax.contour(P, F, L, levels=np.unique(levels), cmap="viridis")
  ax.clabel(cs, fontsize=7, fmt="%.3g")
  s = np.linspace(1e-4, 1 - 1e-4, 400)
  ax.plot(s * budget / cost_p, (1 - s) * budget / cost_f, "k-", lw=1, label=f"budget line, B = {budget:.3g}")
  budgets = budget * np.geomspace(1e-3, 1e3, 25)
  path = [laws.allocate_budget(params, b, cost_p, cost_f, law=law) for b in budgets]
  ax.plot([a.p for a in path], [a.f for a in path], "--", color=OPTIMUM, lw=1, label="optimum for every budget")
  ax.plot([alloc.p], [alloc.f], "*", color=OPTIMUM, ms=14, label=f"optimum: p = {alloc.p:.3g}, f = {alloc.f:.3g}")
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xlim(*p_range)
  ax.set_ylim(*f_range)
  ax.set_xlabel("pre-training p")
  ax.set_ylabel("fine-tuning data f")
  ax.set_title(law_title(laws.get_law(law), params), fontsize=9)
  ax.legend(fontsize=7, loc="lower left")
  loss = laws.loss_at(params, law, p=s * budget / cost_p, f=(1 - s) * budget / cost_f)
  ax2.plot(s, loss, "k-")
  ax2.axvline(alloc.share_p, color=OPTIMUM, lw=1)
  ax2.plot([alloc.share_p], [alloc.loss], "*", color=OPTIMUM, ms=14)
  ax2.set_ylim(alloc.loss - 0.05 * (np.median(loss) - alloc.loss), np.quantile(loss, 0.9))
  ax2.set_xlabel("share of the budget spent on pre-training, C_p p / B")
  ax2.set_ylabel("predicted loss")
  ax2.set_title(f"C_f/C_p = {cost_f / cost_p:.3g}: {100 * alloc.share_p:.1f}% on pre-training, "
                f"loss {alloc.loss:.4g}", fontsize=9)
  ax2.grid(alpha=0.3)
  fig.tight_layout()
  return fig, alloc


def share_vs_gap(params, budgets=(1e3, 1e5, 1e7), cost_ratio: float = 1.0, gaps=None, law: str = definitions.GAP):
  """Optimal pre-training share of the budget against a gap law's transfer gap, one line per budget (units of C_p).

  The gap is the law's parameter that may be 0 (registry Param.zero: the built-in law's G); the dotted lines are
  each budget's optimum with no gap, for the built-in law alpha / (alpha + beta) at any budget and cost.
  In that law f enters as a factor f^-beta, so the cost ratio C_f/C_p moves f and the loss but
  not the optimal share; the budget does, because it sets A p^-alpha against G.
  """
  plt = _plt()
  gap = _gap_param(law)
  gaps = np.geomspace(1e-4, 10, 60) if gaps is None else np.asarray(gaps, np.float64)
  fig, ax = plt.subplots(figsize=(6, 4))
  colors = _colors(budgets)
  for i, b in enumerate(budgets):
    share = [laws.allocate_budget({**params, gap: g}, b, 1.0, cost_ratio, law=law).share_p for g in gaps]
    ax.plot(gaps, share, "-", color=colors[b], label=f"budget B = {b:.3g}")
    at_zero = laws.allocate_budget({**params, gap: 0.0}, b, 1.0, cost_ratio, law=law).share_p
    ax.axhline(at_zero, color=colors[b], ls=":", lw=1, label=f"{gap} = 0" if i == 0 else None)
  ax.set_xscale("log")
  ax.set_ylim(0, 1)
  ax.set_xlabel(f"transfer gap {gap}")
  ax.set_ylabel("optimal share of the budget on pre-training")
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3, which="both")
  return fig


def _gap_param(law: str) -> str:
  """The gap law's transfer gap: its parameter whose 0 the law means (registry Param.zero)."""
  entry = laws.get_law(law)
  names = [name for name, h in entry.hints.items() if h.zero]
  if len(names) != 1:
    raise UsageError(f"law {entry.name!r} names no single transfer gap; give one parameter Param(zero=True) in "
                     "its hints")
  return names[0]


def example_transfer_runs(k: float = 1.9e4, alpha: float = 0.18, beta: float = 0.38, noise: float = 0.002,
                          seed: int = 0):
  """Simulated (scratch, fine-tuned) runs with a known answer, for trying the transfer analysis.

  From-scratch losses follow Kaplan et al.'s L(N, D) (their Table 2 joint fit); a fine-tuned run
  on D_F gets the loss a from-scratch run would reach with D_F + k D_F^alpha N^beta, with defaults
  from Hernandez et al.'s text -> Python fit; both with lognormal noise of `noise` in log loss.
  Returns (scratch: N, D, loss; finetuned: N, D_F, loss).
  """
  rng = np.random.default_rng(seed)
  truth = dict(N_c=6.4e13, D_c=1.8e13, alpha_N=0.076, alpha_D=0.103, k=k, alpha=alpha, beta=beta)
  law = definitions.joint_law("kaplan")  # the default transfer law inside the kaplan form, as truth
  loss_of = lambda N, D, pre: law.predict(truth, {"N": N, "D": D, "pretrained": np.full(N.size, pre)})
  sizes = np.array([1e6, 3e6, 1e7, 3e7, 1e8])
  # 26 data sizes per model: a dense from-scratch curve to read D_E from, and 130 rows, which the
  # fitter pads to 256 like the Chinchilla data, so both reuse one compiled fit.
  N, D = (a.ravel() for a in np.meshgrid(sizes, np.geomspace(1e5, 1e11, 26)))
  scratch = pd.DataFrame({"N": N, "D": D, "loss": loss_of(N, D, 0.0) * np.exp(noise * rng.standard_normal(N.size))})
  N, DF = (a.ravel() for a in np.meshgrid(sizes, np.geomspace(1e5, 1e8, 7)))
  loss = loss_of(N, DF, 1.0) * np.exp(noise * rng.standard_normal(N.size))
  return scratch, pd.DataFrame({"N": N, "D_F": DF, "loss": loss})
