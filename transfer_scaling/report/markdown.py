"""A StudyResult -> report.md (with its figures), and the headline the quickstart prints.

The study's laws are read off their registry entries: the formula (Law.formula), the parameters reported and
how (Law.hints, in their order), the rule (identify.rule); nothing here names a law or its parameters.
"""
import numpy as np
import pandas as pd

from transfer_scaling.laws import identify
from transfer_scaling.laws.registry import get_law
from transfer_scaling.report import figures as F
from transfer_scaling.study import arms


def _headline(law) -> list:
  return [name for name, h in law.hints.items() if h.headline]


def _boot(f, short: bool = False) -> str:
  """How a fit's bootstrap resampled, in words."""
  if f.resample == "gls" and not short:
    return ("parametric bootstrap under the fitted covariance of the seed-structured noise model (GLS; widened by "
            "t/z for the variance components' degrees of freedom)")
  if f.resample == "seeds" and not short:
    return "wild seed-cluster bootstrap (one weight per seed, the same in every cell; widened by t/z for the few seeds)"
  return {"seeds": "seed-cluster bootstrap", "gls": "GLS parametric bootstrap",
          "cells": "bootstrap over the runs of each cell", "parametric": "parametric bootstrap",
          "points": "bootstrap over the points"}.get(f.resample, f"{f.resample} bootstrap")


def _converged(f) -> str:
  too_few = "; too few for intervals" if f.n_bootstrap and not f.ci95 else ""
  return f"{f.n_bootstrap_converged} of {f.n_bootstrap} refits converged{too_few}"


def _ci(fit, name) -> str:
  v = fit.params.get(name, fit.derived.get(name))
  if fit.ci95 and name in fit.ci95:
    lo, hi = fit.ci95[name]
    return f"{v:.3g} [{lo:.3g}, {hi:.3g}]"
  return f"{v:.3g}"


def _shown(v) -> bool:
  """A parameter's interval is printed when the rule calls it determined or bounded."""
  return v.status in ("determined", "bounded")


def _point(q: dict, fmt: str = ".3g") -> str:
  """A quantity of JointFit.at: value [lo, hi]."""
  if np.isfinite(q["lo"]) and np.isfinite(q["hi"]):
    return f"{q['value']:{fmt}} [{q['lo']:{fmt}}, {q['hi']:{fmt}}]"
  return f"{q['value']:{fmt}}"


def _quantities(jf, t, units: str) -> list:
  """D_T and the multiplier at the design centre and at the analysis's named point, with their verdicts."""
  rows = [("design centre", jf.at_centre())]
  ex = t.example
  if ex:
    rows.append((f"example ({ex['size']})" + ("" if ex["inside"] else ", an extrapolation"), jf.at(ex["N"], ex["D_F"])))
  md = [f"D_T and the effective-data multiplier (D_F + D_T) / D_F from the joint fit (95% intervals; "
        f"{identify.rule(jf.law)}):", "",
        f"| point | N | D_F ({units}) | D_T ({units}) | multiplier | verdict |", "|---|---|---|---|---|---|"]
  for name, q in rows:
    verdict = "; ".join(f"{k}: {q[k]['status']}" for k in ("D_T", "multiplier"))
    md.append(f"| {name} | {q['N']:,.0f} | {q['D_F']:,.0f} | {_point(q['D_T'], ',.0f')} | {_point(q['multiplier'])} "
              f"| {verdict} |")
  return md + [""]


def _noise_and_check(jf) -> list:
  """The noise model's variance components and the model-free check beside the GLS intervals."""
  md = []
  if jf.noise is not None:
    c = jf.noise
    md += [f"Noise model: {c.text()}. The GLS intervals are widened by {c.df.get('widening', 1):.3g} "
           f"(t/z at {c.df.get('estimator', float('nan')):.0f} Satterthwaite degrees of freedom).", ""]
  if jf.check:
    n = next(iter(jf.check.values()))["seeds"]
    md += [f"Model-free check: each of {n} seeds fitted alone, a t interval with {n - 1} degrees of freedom over their "
           "estimates (Ibragimov and Mueller 2010; D_T and the multiplier at the design centre, on a log scale):", "",
           "| quantity | GLS [95%] | seeds' mean [95% t] | agree? |", "|---|---|---|---|"]
    for name, r in jf.check.items():
      md.append(f"| {name} | {r['estimate']:.3g} [{r['lo']:.3g}, {r['hi']:.3g}] | {r['seeds_mean']:.3g} "
                f"[{r['t_lo']:.3g}, {r['t_hi']:.3g}] | {'DISAGREE: read both' if r['disagree'] else 'yes'} |")
    md.append("")
    if jf.fit.ci95_gls:
      md += ["The exponents' reported intervals (" + ", ".join(sorted(jf.fit.ci95_gls)) + ") are the hull of the two: "
             "at the decision design the GLS interval alone under-covers alpha (docs/coverage.md).", ""]
  return md


def _scale(fit, name) -> str:
  """A positive nuisance parameter (the gap law's A, E): its bootstrap interval, unless it spans decades."""
  lo, hi = fit.ci95.get(name, (np.nan, np.nan)) if fit.ci95 else (np.nan, np.nan)
  if identify.too_wide(lo, hi):
    return (f"not determined by this grid (bootstrap [{lo:.3g}, {hi:.3g}] spans {identify.decades(lo, hi):.0f} "
            "decades)")
  return _ci(fit, name)


def _prof(profile) -> str:
  if profile is None:
    return "-"
  lo = f"{profile.lo:.3g}" if np.isfinite(profile.lo) else "open"
  hi = f"{profile.hi:.3g}" if np.isfinite(profile.hi) else "open"
  return f"[{lo}, {hi}]"


def _img(stem: str) -> str:
  return f"![{stem}](figures/{stem}.png)"


def figures(result, fig_dir) -> dict:
  """Draws every figure of every target into fig_dir; returns {target: {number: stem}}."""
  out = {}
  many = len(result.targets) > 1
  u = dict(units=result.setting.units)
  for target, t in result.targets.items():
    if t.scratch.empty or t.finetuned.empty:
      continue
    pre = f"{target}_" if many else ""
    jf = t.joint
    figs = {}
    fit_loss = (lambda n, d, pre_: jf.loss(np.full(len(d), n), d, pre_)) if jf else None
    figs[1] = F.loss_vs_data(t.scratch, t.finetuned, t.zeroshot, fig_dir, pre + "fig1_loss_vs_data",
                             fit_loss=fit_loss, **u)
    sizes = sorted(set(t.finetuned["N"]))
    ex = result.setting.analysis.example_size
    n = next((v for v in sizes if ex in set(t.finetuned[t.finetuned["N"] == v]["size"])), sizes[-1])
    eff = t.comparison if t.comparison is not None else t.eff
    figs[2] = F.effective_data_picture(t.scratch[t.scratch["N"] == n], t.finetuned[t.finetuned["N"] == n],
                                       eff[eff["N"] == n].assign(extrapolated=False), n, fig_dir,
                                       pre + "fig2_effective_data", **u)
    title = f"joint fit: {F.law_title(jf.law, jf.fit.params)}" if jf else ""
    figs[3] = F.transfer_power_law(t.eff, fig_dir, pre + "fig3_dt_vs_df",
                                   d_t=(lambda N, D: jf.value("D_T", N, D)) if jf else None,
                                   d_t_band=(lambda N, D: jf.interval("D_T", N, D)) if jf else None, title=title, **u)
    figs[4] = F.transfer_fraction(t.eff[np.isfinite(t.eff["D_E"])], fig_dir, pre + "fig4_fraction_transferred", **u)
    figs[5] = F.loss_vs_size(t.scratch, t.finetuned, fig_dir, pre + "fig5_loss_vs_n", **u)
    if t.scratch["flops"].notna().any():  # runs from a file may not say their compute
      figs[6] = F.loss_vs_compute(t.scratch, t.finetuned, fig_dir, pre + "fig6_loss_vs_compute", **u)
    pairs = t.finetuned.merge(t.scratch, on=["N", "D_F"], suffixes=("_finetuned", "_scratch"))
    figs[7] = F.ossification(pairs, fig_dir, pre + "fig7_ossification", **u)
    g = t.gap
    if g is not None and len(g.points):
      means = g.points.groupby(["p", "f"], as_index=False)["loss"].mean()
      title = (F.law_title(get_law(g.fit.law), g.fit.params, {k: v.status for k, v in g.identified.items()})
               if g.fit else "")
      figs[8] = F.gap_contours(means, g.grid, g.allocation, title, fig_dir, pre + "fig8_isoloss_gap", **u)
    profs = dict(jf.profiles) if jf else {}
    logs = {k for k, h in jf.law.hints.items() if h.log_scale} if jf else set()
    if g is not None and g.fit is not None:  # the gap law's headline parameters beside the joint fit's
      gl = get_law(g.fit.law)
      profs.update({k: g.profiles[k] for k in _headline(gl) if g.profiles.get(k) is not None})
      logs |= {k for k, h in gl.hints.items() if h.log_scale}
    if profs:
      figs[9] = F.profiles(profs, fig_dir, pre + "fig9_profiles", log=logs)
    if t.heldout is not None:
      figs[10] = F.heldout(t.heldout.table, t.heldout.size_N, fig_dir, pre + "fig10_heldout_size", **u)
    out[target] = figs
  return out


def report(result, figs: dict) -> str:
  cfg = result.setting
  title = f"# Transfer study `{cfg.study}`: {cfg.source} -> {', '.join(cfg.targets)}" if result.config else \
      f"# Transfer runs `{cfg.study}`: {', '.join(cfg.targets)}"
  md = [title, "", _setup(result) if result.config else _setup_runs(result), ""]
  if not result.settled:
    md += ["**The study is not finished**: some runs have no record yet, and the learning-rate rounds and the "
           "bracketing may still add runs. Every number below is provisional.", ""]
  if result.not_in_plan:
    md += [f"{result.not_in_plan} run record(s) in this workdir belong to runs this config does not define "
           "(another config or an earlier version of it); they are not analysed.", ""]
  md += _left_out(result)
  for target, t in result.targets.items():
    md += [f"## Target: {target}", ""]
    if t.scratch.empty or t.finetuned.empty:
      md += _no_gain(t, cfg) or [f"No finished from-scratch and fine-tuned runs on {target} yet.", ""]
      continue
    md += _target(cfg, t, figs.get(target, {}), result.config)
  if len(result.targets) > 1:
    md += _across(result)
  md += _throughput(result.throughput)
  return "\n".join(md) + "\n"


def _setup(result) -> str:
  cfg = result.config
  counts = result.table.groupby("stage")["id"].count().to_dict()
  lrs = lambda st: ", ".join(f"{x:g}" for x in st.lrs) + (f" (warm-up {', '.join(map(str, st.warmups))})")
  return "\n".join([
      f"Model sizes {', '.join(cfg.sizes)} (non-embedding parameters N, transfer_scaling/ladder.py); byte-level, "
      f"context {cfg.seq_len}, batch {cfg.batch_size}; seeds {list(cfg.seeds)} (each: its own initialisation, "
      f"batch order and D_F subsets; data_seed {cfg.data_seed}).",
      _pretraining(cfg),
      f"From scratch (lr {lrs(cfg.scratch)}) and fine-tuned (lr {lrs(cfg.finetune)}): each cell keeps the setting "
      f"with the lowest mean validation loss over its {_tuning(cfg)}{_rounds(cfg)}; runs stop early on the "
      "validation split "
      f"({_cadence(cfg)}, patience {cfg.patience} such evaluations); a run still improving at its step budget "
      "continues, the "
      f"budget doubling up to the ceiling ({cfg.scratch.ceiling} steps from scratch, {cfg.finetune.ceiling} "
      "fine-tuned). "
      f"Losses are test-split losses (nats per byte) of each run's best parameters; no decision reads the test split.",
      "Runs: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in arms.STAGES) + ".",
  ])


def _pretraining(cfg) -> str:
  pt = cfg.pretrain
  seeds = f"seeds {', '.join(map(str, pt.seeds))}" if len(pt.seeds) > 1 else f"seed {pt.seeds[0]}"
  if pt.schedule == "wsd":
    return (f"Pre-training: one run per size and pre-training seed ({seeds}; fine-tuning seed i starts from the "
            f"i-th modulo {len(pt.seeds)}) on {cfg.source}, lr {pt.lr:g} constant after a {pt.warmup}-step warm-up; "
            f"each kept p = {pt.first_kept_step} ... {pt.steps} is a model that finished at p (a cool-down of "
            f"{pt.cooldown:.0%} of p to a rate of 0, branched from that run).")
  return (f"Pre-training: {pt.steps} steps on {cfg.source} ({seeds}, lr {pt.lr:g}, {pt.schedule}), checkpoints "
          f"kept at p = {pt.first_kept_step} ... {pt.steps} for the pre-training axis (mid-schedule snapshots of one "
          "run).")


def _tuning(cfg) -> str:
  n = {st.tune_seeds for st in (cfg.scratch, cfg.finetune) if st.tune_seeds}
  if not n:
    return "seeds"
  return (f"first {', '.join(map(str, sorted(n)))} seeds (the others then train at the chosen setting and take "
          "no part in the choice)")


def _rounds(cfg) -> str:
  tuned = [(n, getattr(cfg, n)) for n in arms.SECTIONS if getattr(cfg, n).lr_rounds]
  return "".join(f"; {n}: a rate at the edge of its cell's grid adds the rate a half-decade beyond it, up to "
                 f"{st.lr_rounds} rounds within [{st.lr_floor:g}, {st.lr_ceiling:g}]" for n, st in tuned)


def _cadence(cfg) -> str:
  if not cfg.evals_per_epoch:
    return f"every {cfg.eval_every} steps"
  return (f"every {cfg.eval_every} steps, or more often, at least {cfg.evals_per_epoch:g} times per pass over the "
          "run's D")


def _setup_runs(result) -> str:
  """The set-up paragraph of runs read from a file: what they are, as far as the file says."""
  s = result.setting
  counts = result.table.groupby("stage")["id"].count().to_dict()
  sizes = ", ".join(f"{name} (N = {n:,.0f})" for name, n in s.sizes.items())
  seeds = sorted(set(result.table["seed"].astype(int)))
  return "\n".join([
      f"Runs read from {s.origin}; D counts {s.units}. Sizes {sizes} (non-embedding parameters N); seeds {seeds}.",
      f"Losses are the held-out test losses the file gives (nats per {s.unit}); where a cell (arm, size, D, p) has "
      "runs at several learning rates, the one with the lowest mean validation loss over its seeds is kept.",
      "Runs: " + ", ".join(f"{counts.get(st, 0)} {st}" for st in (arms.REFERENCE.name, arms.TRANSFERRED.name)) + ".",
  ])


def _lr(x) -> str:
  return "-" if pd.isna(x) else f"{x:g}"  # runs from a file may not say their learning rate


def _left_out(result) -> list:
  failed = result.failed
  lines = []
  cut = pd.concat([t.cut_off for t in result.targets.values()]) if result.targets else pd.DataFrame()
  unchosen = int((result.table["status"] == "cut_off").sum()) - len(cut)
  if failed.empty and cut.empty:
    if unchosen:
      return [f"All runs finished and early stopping ended every chosen run; {unchosen} run(s) of settings that "
              "lost the learning-rate choice reached their ceiling still improving (they enter no fit).", ""]
    return ["All runs finished and early stopping ended every trained run; none were left out.", ""]
  if len(failed):
    lines += ["## Left out", "", f"{len(failed)} run(s) failed and are left out of every figure and fit:", "",
              "| stage | target | N | D_F | init | seed | lr | reason |", "|---|---|---|---|---|---|---|---|"]
    for _, r in failed.iterrows():
      lines.append(f"| {r['stage']} | {r['target']} | {r['N']} | {r['D_F']} | {r['init']} | {r['seed']} | "
                   f"{_lr(r['lr'])} | {r['status'][len('failed: '):]} |")
    lines.append("")
  if len(cut):
    lines += ["## Runs cut off at the ceiling", "",
              f"{len(cut)} chosen run(s) reached their step ceiling still improving: their losses are upper bounds, "
              "so they are left out of the fits and the law-free numbers. Raise `scratch.ceiling` / "
              "`finetune.ceiling`.",
              "", "| stage | target | N | D_F | p | seed | lr | steps |", "|---|---|---|---|---|---|---|---|"]
    for _, r in cut.iterrows():
      lines.append(f"| {r['stage']} | {r['target']} | {r['N']} | {r['D_F']} | {r['p']} | {r['seed']} | {_lr(r['lr'])} "
                   "| "
                   f"{r['steps']} |")
    lines.append("")
  return lines


def _choices(t, config=None) -> list:
  c = t.choices
  if c.empty or c["settings"].max() <= 1:
    return []
  counts = c.groupby(["stage", "lr"]).size().unstack(fill_value=0)
  lines = [f"Learning rates: each of {len(c)} cells chose among {int(c['settings'].max())} settings on the validation "
           "split. Chosen per stage (cells):", "",
           "| stage | " + " | ".join(f"lr {x:g}" for x in counts.columns) + " |",
           "|---|" + "---|" * len(counts.columns)]
  lines += [f"| {stage} | " + " | ".join(str(v) for v in row) + " |" for stage, row in counts.iterrows()]
  lines.append("")
  if c["settings"].max() == 2:
    for stage, row in counts.iterrows():
      if row.max() >= 0.8 * row.sum() and row.sum() >= 5:
        side = "lowest" if row.idxmax() == counts.columns.min() else "highest"
        lines.append(f"{stage}: the {side} learning rate won {row.max()} of {row.sum()} cells, so the best rate may "
                     "lie "
                     f"beyond the grid; widen `{stage}.lrs`.")
  else:
    edge = c[c["edge"] != ""]
    if len(edge):
      lines += [f"{len(edge)} cells chose a setting at the edge of the grid (the best may lie outside it):", "",
                "| stage | size | D_F | p | lr | warm-up | edge |", "|---|---|---|---|---|---|---|"]
      lines += [f"| {r['stage']} | {r['size']} | {r['D_F']} | {r['p']} | {r['lr']:g} | {r['warmup']} | {r['edge']} |"
                for _, r in edge.iterrows()]
  return lines + [""] + _grids(t, config)


def _grids(t, config) -> list:
  """Each tuned cell's final learning-rate grid, and the limit that stopped a winner still at its edge, as the sweep
  decided them (plan.json); a study's config only, when its learning-rate rounds were on."""
  c = t.choices
  if config is None or t.lr_grids is None or not any(getattr(config, n).lr_rounds for n in arms.SECTIONS):
    return []
  plan = {(r["stage"], r["size"], r["D_F"], r["p"]): r for r in t.lr_grids}
  lines = ["Final learning-rate grid of each cell (the rounds extend a grid whose winner is at its edge):", "",
           "| stage | size | D_F | p | grid | chosen | at a limit |", "|---|---|---|---|---|---|---|"]
  at_limit = 0
  for _, r in c.iterrows():
    row = plan.get((r["stage"], r["size"], int(r["D_F"]), None if pd.isna(r["p"]) else int(r["p"])))
    grid = row["grid"] if row else list(r["lrs"])
    why = row["limit"] if row else "not decided yet (the sweep has not finished its runs)"
    at_limit += bool(row and row["limit"])
    lines.append(f"| {r['stage']} | {r['size']} | {r['D_F']} | {r['p']} | {', '.join(f'{x:g}' for x in grid)} | "
                 f"{r['lr']:g} | {why or 'no (interior)'} |")
  if at_limit:
    lines += ["", f"{at_limit} cell(s) chose a rate still at a limit of the rounds: the best rate may lie beyond it "
              "(raise `lr_rounds`, or move `lr_floor` / `lr_ceiling`, of the stage named)."]
  return lines + [""]


def _no_gain(t, cfg) -> list:
  ng = t.no_gain
  if ng is None or ng.empty:
    return []
  lines = [f"Fine-tuning did not help in {len(ng)} fine-tuned cell(s): most of their seeds were best at step 0, "
           f"before any fine-tuning step, so their loss is the pre-trained model's (a bound: fine-tuning on that D_F "
           f"does no better), not a measured dependence on D_F. They are kept out of the joint fit, the effective-data "
           f"tables and the transfer-gap law (the fine-tuning gain counts them).", "",
           f"| size | D_F ({cfg.units}) | p | seeds | best at step 0 | loss |", "|---|---|---|---|---|---|"]
  lines += [f"| {r['size']} | {r['D_F']} | {r['p']} | {r['seeds']} | {r['no_gain']} | {r['loss']:.4f} |"
            for _, r in ng.iterrows()]
  return lines + [""]


def _brackets(t, cfg) -> list:
  how = "" if cfg.origin else "; the sweep's bracketing decided on validation losses"  # runs from a file had no sweep
  swept = t.bracketing is not None  # the sweep's rounds, from its plan.json
  lines = [f"From-scratch coverage (test losses{how}):", "",
           f"| size | measured D ({cfg.units}) | points | D_E not bracketed |"
           + (" bracketing rounds |" if swept else ""),
           "|---|---|---|---|" + ("---|" if swept else "")]
  for size, b in t.brackets.items():
    out = "; ".join(f"D_F {k:,}: {v}" for k, v in b["outside"].items()) or "none"
    lines.append(f"| {size} | {b['D'][0]:,} - {b['D'][1]:,} | {b['points']} | {out} |"
                 + (f" {_rounds_of(t.bracketing.get(size))} |" if swept else ""))
  return lines + [""]


def _rounds_of(b) -> str:
  """A size's bracketing by the sweep: its rounds, the D they added, D_F still outside on validation."""
  if b is None:
    return "-"
  text = f"{b['rounds']}" + (f" (added D {', '.join(f'{d:,}' for d in b['added'])})" if b["added"] else "")
  if b["outside"]:
    text += "; still outside on validation: " + ", ".join(f"D_F {int(d):,}" for d in b["outside"])
  return text


def _target(cfg, t, figs, config=None) -> list:
  md = _choices(t, config) + _no_gain(t, cfg) + _brackets(t, cfg)
  md += [_img(figs[1]), "",
         f"**Figure 1.** Test loss (nats/{cfg.unit}) against D_F ({cfg.units}), one panel per size: from scratch "
         "(grey circles) and "
         f"fine-tuned from the final {cfg.source} checkpoint (blue squares), means over seeds with their spread; "
         "lines: "
         "the joint fit; dotted: the pre-trained model before fine-tuning. The vertical gap is what pre-training is "
         "worth; where blue lies above grey pre-training hurts.", ""]
  md += [_img(figs[2]), "",
         "**Figure 2.** The effective-data picture for one size: each fine-tuned cell (square) moved right along the "
         "measured from-scratch curve to the data D_E a from-scratch model needs for the same loss (diamonds: "
         "law-free, "
         "interpolated; crosses: the joint fit). The arrow's length is D_T = D_E - D_F.", ""]
  jf = t.joint
  md += [_img(figs[3]), ""]
  if jf is None:
    md += ["**Figure 3.** D_T against D_F (log-log), law-free points only: " + "; ".join(t.notes), ""]
  else:
    f, ident = jf.fit, jf.identified
    used = jf.rows[jf.rows["used"]]
    tl = get_law(jf.law.parts["transfer"])
    md += [f"**Figure 3.** D_T against D_F (log-log), one colour per size: law-free points and the joint fit's "
           f"{tl.formula} (lines, 95% bands). {jf.boundary}; {len(used)} of {len(jf.rows)} fine-tuned runs "
           f"enter the joint fit with every from-scratch run.", "",
           f"Joint fit ({f.law}, {f.n_points} runs, RMSE of log loss {f.rmse_log:.3g}); intervals from a "
           f"{_boot(f)} ({_converged(f)}) and from the profile likelihood:", "",
           "| parameter | value [95% bootstrap] | 95% profile | verdict | paper, text -> Python |",
           "|---|---|---|---|---|"]
    for k, v in ident.items():
      verdict = v.text + (f"; {v.fix}" if v.fix and not v.determined else "")
      md.append(f"| {k} | {_ci(f, k) if _shown(v) else '-'} | {_prof(jf.profiles.get(k))} | {verdict} | "
                f"{jf.law.hints[k].paper or '-'} |")
    md.append("")
    md += _quantities(jf, t, cfg.units) + _noise_and_check(jf)
    c = t.comparison
    if c is not None:
      md += [f"Law-free against joint fit, per fine-tuned cell (D_T in {cfg.units}; law-free: interpolated on the "
             "measured "
             "curve, '-' where the D_E lies outside it):", "",
             "| N | D_F | seeds | D_T law-free | D_T joint fit [95%] | in the fit |", "|---|---|---|---|---|---|"]
      for _, r in c.iterrows():
        lf = f"{r['D_T']:,.0f}" if np.isfinite(r["D_T"]) else f"- ({r['interp_flag']})"
        band = f"{r['D_T_joint']:,.0f} [{r['D_T_joint_lo']:,.0f}, {r['D_T_joint_hi']:,.0f}]" \
            if np.isfinite(r.get("D_T_joint_lo", np.nan)) else f"{r['D_T_joint']:,.0f}"
        md.append(f"| {r['N']:,} | {r['D_F']:,} | {r['seeds']} | {lf} | {band} | "
                  f"{'yes' if r['used_in_fit'] else 'no'} |")
      md.append("")
  md += [_img(figs[4]), "", "**Figure 4.** Fraction of the effective data that comes from transfer, D_T / (D_F + D_T), "
         "against D_F, one line per size (law-free). In the paper it falls as D_F grows and rises with N.", ""]
  md += [_img(figs[5]), "", "**Figure 5.** Test loss against N at fixed D_F: dashed from scratch, solid fine-tuned. "
         "The finding to look for: with little data the from-scratch curves flatten while fine-tuned models keep "
         "improving with N.", ""]
  if 6 in figs:
    md += [_img(figs[6]), "", "**Figure 6.** Test loss against training compute (pre-training not counted): open "
                              "circles "
           "from scratch, filled squares fine-tuned. In the low-data regime fine-tuned runs should reach a loss with "
           "less "
           "compute.", ""]
  md += [_img(figs[7]), "", "**Figure 7.** Fine-tuned minus from-scratch loss against D_F: below zero pre-training "
         "helps; above zero it hurts (ossification).", ""]
  if t.gain:
    g = t.gain
    md += [f"Fine-tuning gain (law-free): {g['mean']:.3f} [{g['lo']:.3f}, {g['hi']:.3f}] nats/{cfg.unit}, the mean of "
           f"(from-scratch - fine-tuned loss) over {g['n']} (N, D_F) cells; the interval gives each of the "
           f"{g['seeds']} seeds one "
           "wild weight for every cell of both arms (a seed's runs share their D_F subset) and is widened for the few "
           "seeds that carry it.", ""]
  if t.heldout is not None:
    md += [_img(figs[10]), "", f"**Figure 10.** Held-out size: {t.heldout.verdict}.", ""]
  md += _gap(cfg, t, figs)
  if 9 in figs:
    md += [_img(figs[9]), "", "**Figure 9.** Profile likelihoods: each parameter's deviance with every other parameter "
           "refitted; the 95% interval is where the curve stays below the dotted line. A curve that never crosses it "
           "on a side leaves the parameter unbounded there: the grid does not determine it.", ""]
  if t.notes:
    md += ["Notes:", ""] + [f"- {n}" for n in t.notes] + [""]
  return md


def _gap(cfg, t, figs) -> list:
  g = t.gap
  if g is None or 8 not in figs:
    return []
  if g.fit is None:
    return [_img(figs[8]), "", "**Figure 8.** Measured test loss over pre-training steps p and fine-tuning "
                               f"{cfg.units} f for "
            f"size {g.size}; the transfer-gap law was not fitted (see the notes).", ""]
  law = get_law(g.fit.law)
  md = [_img(figs[8]), "",
        f"**Figure 8.** Isoloss contours of the fitted transfer-gap law {law.formula} for "
        f"size {g.size} over pre-training steps p and fine-tuning {cfg.units} f, measured cells as dots; red: the (p, "
        "f) that "
        f"minimises the loss for each budget B = p + c f (c = {cfg.analysis.cost_ratio:g} pre-training steps per "
        f"fine-tuning {cfg.unit}). Right: the share of the budget spent on pre-training along that curve.", "",
        f"Gap law ({g.fit.n_points} runs, {_boot(g.fit, short=True)}, {_converged(g.fit)}):", "",
        "| parameter | value [95% bootstrap] | 95% profile | verdict |", "|---|---|---|---|"]
  for k, h in law.hints.items():
    v = g.identified.get(k)
    if v is None:
      md.append(f"| {k} | {_scale(g.fit, k) if h.log_scale else _ci(g.fit, k)} | - | |")
      continue
    shown = _ci(g.fit, k) if _shown(v) else "-"
    md.append(f"| {k} | {shown} | {_prof(g.profiles.get(k))} | "
              f"{v.text}{'; ' + v.fix if v.fix and not v.determined else ''} |")
  return md + [""]


def _across(result) -> list:
  a = result.setting.analysis
  names = list(get_law(a.transfer_law).hints)
  gaps = _headline(get_law(a.gap_law))
  md = ["## Across targets", "", "Pre-training is the same for every target; what differs is how much of it carries "
        f"over. Fine-tuning gain: law-free, nats/{result.setting.unit}.", "",
        "| target | " + " | ".join(names) + " | multiplier | " + " | ".join(gaps) + " | fine-tuning gain |",
        "|---|" + "---|" * (len(names) + len(gaps) + 2)]
  for target, t in result.targets.items():
    jf, gain = t.joint, t.gain
    law = ([_ci(jf.fit, k) if _shown(jf.identified[k]) else "not determined" for k in names]
           if jf else ["-"] * len(names))
    mult = t.example["multiplier"].text() if t.example else "-"
    gap = []
    for k in gaps:
      gv = t.gap.identified.get(k) if t.gap and t.gap.identified else None
      gap.append((_ci(t.gap.fit, k) if gv.determined else gv.text) if gv else "-")
    gtxt = f"{gain['mean']:.3f} [{gain['lo']:.3f}, {gain['hi']:.3f}]" if gain else "-"
    md.append(f"| {target} | " + " | ".join(law) + f" | {mult} | " + " | ".join(gap) + f" | {gtxt} |")
  return md + [""]


def _throughput(rows) -> list:
  if not rows:
    return []
  t = pd.DataFrame(rows)
  tok, wall, flops = t["tokens"].sum(), t["wall_s"].sum(), t["flops"].sum()
  md = ["## Throughput", "",
        f"{len(t)} ensembles on {t['device'].iloc[0]}: {tok:,.0f} tokens in {wall:,.0f} s of ensemble wall time "
        f"(compilation included), {tok / wall:,.0f} tokens/s, {flops / wall / 1e9:,.2f} GFLOP/s."]
  if "steady_s" in t and t["steady_s"].notna().any():
    md.append(f"Steady state (outside the first call of each compiled program): {t['steady_s'].sum():,.0f} s of the "
              f"{wall:,.0f} s.")
  if "compile_s" in t and t["compile_s"].notna().any():
    md.append(f"Compilation (tracing, lowering, XLA or loading from the persistent cache) in the ensembles: "
              f"{t['compile_s'].sum():,.0f} s.")
  return md + [""]


def headline(result) -> str:
  """What analyze and the quickstart print: k, alpha, beta with intervals, the multiplier at the reference
  point, G; and, as report.md says them, a provisional study, the runs left out and any extrapolation."""
  lines = []
  s = result.setting
  if not result.settled:
    have = f" ({len(result.table)} of {result.planned} planned runs have records)" if result.planned else ""
    lines.append(f"PROVISIONAL: the study is not finished{have}, and the learning-rate rounds and the bracketing may "
                 "still add runs; every "
                 "number below may change. Run the sweep to the end, then analyze again.")
  failed = result.failed
  if len(failed):
    bad = failed[failed["status"].str.startswith("failed: damaged record")]
    lines.append(f"{len(failed)} run(s) failed and are left out of every fit (listed in report.md)"
                 + (f", {len(bad)} of them damaged records: {', '.join(f'runs/{i}.json' for i in bad['id'])}"
                    if len(bad) else ""))
  cut = sum(len(t.cut_off) for t in result.targets.values())
  if cut:
    lines.append(f"{cut} chosen run(s) reached their step ceiling still improving and are left out of the fits "
                 "(their losses are upper bounds; listed in report.md)")
  for target, t in result.targets.items():
    jf, gain = t.joint, t.gain
    if jf is None:
      lines.append(f"{target}: no joint fit ({'; '.join(t.notes) or 'no data'})")
    else:
      f = jf.fit
      tl = get_law(jf.law.parts["transfer"])
      parts = [f"{k} = {_ci(f, k)} ({jf.identified[k].status})" if _shown(jf.identified[k]) else f"{k} not determined"
               for k in _headline(tl)]
      lines.append(f"{target}: {tl.formula} with " + ", ".join(parts)
                   + f" (95% {_boot(f, short=True)}, {f.n_points} runs)")
      q = jf.at_centre()
      lines.append(f"  at the design centre (N = {q['N']:,.0f}, D_F = {q['D_F']:,.0f} {s.units}): D_T = "
                   f"{_point(q['D_T'], ',.0f')} {s.units}, multiplier {_point(q['multiplier'])} "
                   f"({q['multiplier']['status']})")
      if t.example:
        ex = t.example
        lines.append(f"  effective-data multiplier at N = {ex['N']:,} ({ex['size']}), D_F = {ex['D_F']:,} {s.units}: "
                     f"{ex['multiplier'].text()}"
                     + ("" if ex["inside"] else " (outside the measured sizes or D_F: an extrapolation)"))
      bad = [k for k, r in jf.check.items() if r["disagree"]]
      if bad:
        lines.append(f"  the GLS and per-seed intervals disagree on {', '.join(bad)}: read both (report.md)")
    outside = sum(len(b["outside"]) for b in t.brackets.values())
    if outside:
      lines.append(f"  {outside} fine-tuned cell(s) have a D_E outside the measured from-scratch runs: their D_T is "
                   "an extrapolation (report.md, from-scratch coverage)")
    g = t.gap
    if g is not None and g.fit is not None:
      for k in _headline(get_law(g.fit.law)):
        v = g.identified[k]
        lines.append(f"  transfer gap: {k} = {_ci(g.fit, k)} (size {g.size})" if v.determined else
                     f"  transfer gap: {v.text}")
    if gain:
      lines.append(f"  fine-tuning gain {gain['mean']:.3f} [{gain['lo']:.3f}, {gain['hi']:.3f}] nats/{s.unit} "
                   f"(law-free, over {gain['n']} cells)")
    if t.heldout is not None:
      lines.append(f"  held-out size: {t.heldout.verdict}")
  return "\n".join(lines)
