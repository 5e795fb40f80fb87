"""The report's figures, one function each; every one saves its file(s) and returns its stem.

Inputs are plain DataFrames (columns named as in study.results and laws.effective_data) and
functions of the fitted laws (evaluated through the law registry, never typed here), so each
figure can be redrawn from a notebook.
"""
import io

import matplotlib
import numpy as np
# Figure objects, not pyplot: saving needs no backend, so importing this module leaves a notebook's alone.
from matplotlib.figure import Figure

from transfer_scaling import fileio

SCRATCH, FINETUNE = "tab:gray", "tab:blue"


def _save(fig, out_dir: str, stem: str) -> str:
  for ax in fig.axes:  # a panel with nothing positive to show stays linear rather than failing
    if ax.collections:
      continue
    for get, scale, set_scale in (("get_xdata", ax.get_xscale, ax.set_xscale),
                                  ("get_ydata", ax.get_yscale, ax.set_yscale)):
      if scale() == "log" and not any((np.asarray(getattr(l, get)(), float) > 0).any() for l in ax.lines):
        set_scale("linear")
  # PNG only: the report embeds it, and an SVG of every figure doubled the report's drawing time
  # (docs/benchmarks.md); a paper figure is redrawn from the stored tables at any size.
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
  # Whole files or none (a killed or full-disk report leaves no half figure and no temporary file).
  fileio.write_bytes_atomic(fileio.path(out_dir) / f"{stem}.png", buf.getvalue())
  return stem


def _subplots(*args, figsize, **kw):
  fig = Figure(figsize=figsize)
  return fig, fig.subplots(*args, **kw)


def _colors(values):
  cmap = matplotlib.colormaps["viridis"]
  values = sorted(values)
  return {v: cmap(i / max(len(values) - 1, 1) * 0.9) for i, v in enumerate(values)}


def _per(units: str) -> str:
  """The loss's unit: nats per byte, token or character."""
  return f"nats/{units[:-1]}"


def _n_label(n) -> str:
  return f"N = {n:.3g}"


def loss_vs_data(scratch, finetuned, zeroshot, out_dir, stem="fig1_loss_vs_data", fit_loss=None, units="bytes"):
  """1. Test loss vs D_F, from scratch vs fine-tuned, one panel per N (mean over seeds, bars: their spread).

  fit_loss(N, D, pretrained) -> loss, if given, draws the joint fit through both arms.
  """
  sizes = sorted(set(scratch["N"]) | set(finetuned["N"]))
  fig, axes = _subplots(1, len(sizes), figsize=(3.6 * len(sizes), 3.4), sharey=True, squeeze=False)
  for ax, n in zip(axes[0], sizes):
    s, f = scratch[scratch["N"] == n].sort_values("D_F"), finetuned[finetuned["N"] == n].sort_values("D_F")
    for df, marker, color, label in ((s, "o", SCRATCH, "from scratch"), (f, "s", FINETUNE, "fine-tuned")):
      err = df["loss_sd"].fillna(0) if "loss_sd" in df else None
      ax.errorbar(df["D_F"], df["loss"], yerr=err, fmt=marker, color=color, ms=4, capsize=2, label=label)
    if fit_loss is not None and len(s):
      x = np.geomspace(min(s["D_F"].min(), f["D_F"].min() if len(f) else np.inf), s["D_F"].max(), 80)
      ax.plot(x, fit_loss(n, x, False), "-", color=SCRATCH, lw=1)
      if len(f):
        xf = np.geomspace(f["D_F"].min(), f["D_F"].max(), 80)
        ax.plot(xf, fit_loss(n, xf, True), "-", color=FINETUNE, lw=1)
    z = zeroshot[zeroshot["N"] == n]
    if len(z):
      ax.axhline(float(z["loss"].iloc[0]), color=FINETUNE, ls=":", lw=1, label="pre-trained, zero-shot")
    ax.set_xscale("log")
    ax.set_title(_n_label(n))
    ax.set_xlabel(f"fine-tuning data D_F ({units})")
    ax.grid(alpha=0.3, which="both")
  axes[0][0].set_ylabel(f"test loss ({_per(units)})")
  axes[0][0].legend(fontsize=7)
  return _save(fig, out_dir, stem)


def effective_data_picture(scratch_n, finetuned_n, eff_n, n, out_dir, stem="fig2_effective_data", units="bytes"):
  """2. For one N: the from-scratch curve, fine-tuned points, and how far right each lands (D_E)."""
  fig, ax = _subplots(figsize=(5.5, 4))
  s = scratch_n.sort_values("D_F")
  ax.plot(s["D_F"], s["loss"], "o-", color=SCRATCH, label="from scratch: L(D)")
  f = finetuned_n.sort_values("D_F")
  ax.plot(f["D_F"], f["loss"], "s", color=FINETUNE, label="fine-tuned at D_F")
  for _, r in eff_n.iterrows():
    if np.isfinite(r["D_E"]):
      ax.annotate("", xy=(r["D_E"], r["loss"]), xytext=(r["D_F"], r["loss"]),
                  arrowprops=dict(arrowstyle="->", color=FINETUNE, lw=1))
      ax.plot([r["D_E"]], [r["loss"]], "D", mfc="none", color="tab:orange" if r.get("extrapolated") else FINETUNE)
  ax.plot([], [], "D", mfc="none", color=FINETUNE, label="D_E = D_F + D_T (interpolated)")
  if "D_T_joint" in eff_n:
    ax.plot(eff_n["D_F"] + eff_n["D_T_joint"], eff_n["loss"], "x", color="tab:red", label="D_E of the joint fit")
  if eff_n.get("extrapolated", np.zeros(0)).any():
    ax.plot([], [], "D", mfc="none", color="tab:orange", label="D_E extrapolated")
  ax.set_xscale("log")
  ax.set_xlabel(f"target data ({units})")
  ax.set_ylabel(f"test loss ({_per(units)})")
  ax.set_title(f"effective data, {_n_label(n)}")
  ax.legend(fontsize=8)
  ax.grid(alpha=0.3, which="both")
  return _save(fig, out_dir, stem)


def transfer_power_law(eff, out_dir, stem="fig3_dt_vs_df", d_t=None, d_t_band=None, title="", units="bytes"):
  """3. D_T vs D_F for every N: law-free points (interpolated), and the joint fit's D_T(N, D_F) with its band.

  d_t(N, D_F) -> D_T and d_t_band(N, D_F) -> (lo, hi) come from the fitted law's registry functions.
  """
  fig, ax = _subplots(figsize=(5.5, 4))
  colors = _colors(set(eff["N"]))
  for n, g in eff.groupby("N"):
    g = g.sort_values("D_F")
    ok = g["D_T"] > 0
    ax.plot(g["D_F"][ok], g["D_T"][ok], "o", color=colors[n], label=_n_label(n))
    if d_t is not None:
      x = np.geomspace(g["D_F"].min(), g["D_F"].max(), 50)
      ax.plot(x, d_t(np.full_like(x, n), x), "-", color=colors[n], lw=1)
      if d_t_band is not None:
        band = d_t_band(np.full_like(x, n), x)
        if band is not None:
          ax.fill_between(x, band[0], band[1], color=colors[n], alpha=0.15, lw=0)
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xlabel(f"fine-tuning data D_F ({units})")
  ax.set_ylabel(f"effective data transferred D_T ({units})")
  if title:
    ax.set_title(title, fontsize=9)
  if ax.get_legend_handles_labels()[0]:
    ax.legend(fontsize=8)
  ax.grid(alpha=0.3, which="both")
  return _save(fig, out_dir, stem)


def transfer_fraction(eff, out_dir, stem="fig4_fraction_transferred", units="bytes"):
  """4. Fraction of the effective data that comes from transfer, D_T / (D_F + D_T), vs D_F and N."""
  fig, ax = _subplots(figsize=(5.5, 4))
  colors = _colors(set(eff["N"]))
  for n, g in eff.groupby("N"):
    g = g.sort_values("D_F")
    ax.plot(g["D_F"], g["D_T"].clip(lower=0) / g["D_E"], "o-", color=colors[n], label=_n_label(n))
  ax.set_xscale("log")
  ax.set_ylim(0, 1.02)
  ax.set_xlabel(f"fine-tuning data D_F ({units})")
  ax.set_ylabel("fraction of effective data from transfer")
  if ax.get_legend_handles_labels()[0]:  # a study with no measured D_E has nothing to label
    ax.legend(fontsize=8)
  ax.grid(alpha=0.3, which="both")
  return _save(fig, out_dir, stem)


def loss_vs_size(scratch, finetuned, out_dir, stem="fig5_loss_vs_n", units="bytes"):
  """5. Loss vs N at fixed D_F: from scratch flattens when data-limited, fine-tuned keeps improving."""
  fig, ax = _subplots(figsize=(5.5, 4))
  d_fs = sorted(set(finetuned["D_F"]) & set(scratch["D_F"]))
  colors = _colors(d_fs)
  for d in d_fs:
    s, f = scratch[scratch["D_F"] == d].sort_values("N"), finetuned[finetuned["D_F"] == d].sort_values("N")
    ax.plot(s["N"], s["loss"], "o--", color=colors[d], alpha=0.8)
    ax.plot(f["N"], f["loss"], "s-", color=colors[d], label=f"D_F = {d:.3g} {units}")
  ax.plot([], [], "k--o", label="from scratch")
  ax.plot([], [], "k-s", label="fine-tuned")
  ax.set_xscale("log")
  ax.set_xlabel("non-embedding parameters N")
  ax.set_ylabel(f"test loss ({_per(units)})")
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3, which="both")
  return _save(fig, out_dir, stem)


def loss_vs_compute(scratch, finetuned, out_dir, stem="fig6_loss_vs_compute", units="bytes"):
  """6. Loss vs training compute (pre-training compute not counted), from scratch vs fine-tuned."""
  fig, ax = _subplots(figsize=(5.5, 4))
  colors = _colors(set(scratch["N"]) | set(finetuned["N"]))
  for df, marker, label in ((scratch, "o", "from scratch"), (finetuned, "s", "fine-tuned")):
    for n, g in df.groupby("N"):
      g = g.sort_values("flops")
      ax.plot(g["flops"], g["loss"], marker, color=colors[n], mfc="none" if marker == "o" else colors[n], alpha=0.85)
    ax.plot([], [], marker, color="k", mfc="none" if marker == "o" else "k", label=label)
  for n, c in colors.items():
    ax.plot([], [], "-", color=c, label=_n_label(n))
  ax.set_xscale("log")
  ax.set_xlabel("training compute (FLOPs, to the end of training)")
  ax.set_ylabel(f"best test loss ({_per(units)})")
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3, which="both")
  return _save(fig, out_dir, stem)


def ossification(pairs, out_dir, stem="fig7_ossification", units="bytes"):
  """7. Fine-tuned minus from-scratch loss vs D_F per N; above zero, pre-training hurts (ossification)."""
  fig, ax = _subplots(figsize=(5.5, 4))
  colors = _colors(set(pairs["N"]))
  for n, g in pairs.groupby("N"):
    g = g.sort_values("D_F")
    ax.plot(g["D_F"], g["loss_finetuned"] - g["loss_scratch"], "o-", color=colors[n], label=_n_label(n))
  ax.axhline(0, color="k", lw=1)
  ax.set_xscale("log")
  ax.set_xlabel(f"fine-tuning data D_F ({units})")
  ax.set_ylabel(f"fine-tuned - from-scratch loss ({_per(units)})")
  ax.legend(fontsize=8)
  ax.grid(alpha=0.3, which="both")
  return _save(fig, out_dir, stem)


def law_title(law, params, statuses=None) -> str:
  """A fitted law's template (registry Law.template) with its values; a parameter whose verdict (statuses: name ->
  identify status) is not "determined" shows that status instead of a value (as the report's table says)."""
  def value(name):
    status = (statuses or {}).get(name, "determined")
    fmt = law.hints[name].fmt if name in law.hints else ".3g"
    return f"{params[name]:{fmt}}" if status == "determined" else f"{name} {status}"
  return law.template.format(**{p: value(p) for p in law.params})


def gap_contours(points, grid, allocation, title, out_dir, stem="fig8_isoloss_gap", units="bytes"):
  """8. Isoloss contours of the fitted L(p, f) with the measured points, and the budget allocation curve.

  title: the fitted law (law_title), "" when none was fitted."""
  fig, axes = _subplots(1, 2, figsize=(10.5, 4))
  ax = axes[0]
  norm = None
  if grid is not None:
    cs = ax.contour(grid["p"], grid["f"], grid["loss"], levels=12, cmap="viridis")
    ax.clabel(cs, fontsize=7, fmt="%.2f")
    norm = cs.norm
  sc = ax.scatter(points["p"], points["f"], c=points["loss"], cmap="viridis", edgecolor="k", zorder=3, norm=norm)
  fig.colorbar(sc, ax=ax, label=f"test loss ({_per(units)})")
  if allocation is not None and len(allocation):
    ax.plot(allocation["p"], allocation["f"], "r-", lw=1.5, label="budget-optimal (p, f)")
    ax.legend(fontsize=8, loc="upper right")
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xlabel("pre-training steps p")
  ax.set_ylabel(f"fine-tuning data f ({units})")
  if title:
    ax.set_title(title, fontsize=8)
  ax = axes[1]
  if allocation is not None and len(allocation):
    ax.plot(allocation["budget"], allocation["share_p"], "r-")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
  ax.set_xlabel("budget B = C_p p + C_f f")
  ax.set_ylabel("share of the budget spent on pre-training")
  ax.grid(alpha=0.3, which="both")
  return _save(fig, out_dir, stem)


def profiles(profs, out_dir, stem="fig9_profiles", level_value=3.841, log=()):
  """9. Profile likelihoods: the deviance of each parameter with the others refitted; the dotted line is the 95% cut.

  log: the names drawn on a log axis (the laws' positive scale parameters, Param.log_scale)."""
  names = list(profs)
  fig, axes = _subplots(1, max(len(names), 1), figsize=(3.3 * max(len(names), 1), 3.0), squeeze=False)
  for ax, name in zip(axes[0], names):
    p = profs[name]
    ax.plot(p.values, np.minimum(p.deviance, 4 * level_value), "-", color=FINETUNE)
    ax.axhline(level_value, color="k", ls=":", lw=1)
    ax.axvline(p.estimate, color="k", lw=0.8)
    for end in (p.lo, p.hi):
      if np.isfinite(end):
        ax.axvline(end, color="tab:red", ls="--", lw=0.8)
    if name in log:
      ax.set_xscale("log")
    ax.set_title(name + ("" if p.bounded else "  (not bounded)"), fontsize=9)
    ax.set_xlabel(name)
    ax.grid(alpha=0.3)
  axes[0][0].set_ylabel("deviance (2 x drop in log-likelihood)")
  return _save(fig, out_dir, stem)


def heldout(table, size_N, out_dir, stem="fig10_heldout_size", units="bytes"):
  """10. The largest size predicted from the others: measured mean fine-tuned loss against the 95% prediction."""
  fig, ax = _subplots(figsize=(5.5, 4))
  t = table.sort_values("D_F")
  ax.fill_between(t["D_F"], t["lo"], t["hi"], color=FINETUNE, alpha=0.2, lw=0,
                  label="predicted without this size (95%)")
  ax.plot(t["D_F"], t["predicted"], "-", color=FINETUNE)
  ax.plot(t["D_F"], t["loss"], "s", color="k", label="measured (mean over seeds)")
  ax.set_xscale("log")
  ax.set_xlabel(f"fine-tuning data D_F ({units})")
  ax.set_ylabel(f"test loss ({_per(units)})")
  ax.set_title(f"held out: N = {size_N:,.0f}", fontsize=9)
  ax.legend(fontsize=8)
  ax.grid(alpha=0.3, which="both")
  return _save(fig, out_dir, stem)
