"""A study workdir -> fitted laws, figures and report.md (with captions and what was left out)."""
import os
import warnings

import ml_collections
import numpy as np
import pandas as pd

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.report import figures as F
from transfer_scaling.study import results, runs as runs_lib, workdir as workdir_lib


def _mean_over_seeds(df: pd.DataFrame, keys) -> pd.DataFrame:
  return df.groupby(list(keys), as_index=False).agg(loss=("loss", "mean"), flops=("flops", "mean"),
                                                   tokens=("tokens", "mean"), seeds=("seed", "count"))


def _ci(fit, name) -> str:
  v = fit.params.get(name, fit.derived.get(name))
  if fit.ci95 and name in fit.ci95:
    lo, hi = fit.ci95[name]
    return f"{v:.3g} [{lo:.3g}, {hi:.3g}]"
  return f"{v:.3g}"


def _target_tables(ok: pd.DataFrame, target: str, last_p: int) -> dict:
  t = ok[ok["target"] == target]
  scratch = _mean_over_seeds(t[t["stage"] == "scratch"], ["N", "size", "D_F"])
  ft_all = t[t["stage"] == "finetune"]
  finetuned = _mean_over_seeds(ft_all[ft_all["p"] == last_p], ["N", "size", "D_F"])
  zs = t[t["stage"] == "zeroshot"]
  zeroshot = _mean_over_seeds(zs[zs["p"] == last_p], ["N", "size"])
  gap = _mean_over_seeds(pd.concat([ft_all]), ["N", "size", "p", "D_F"]).rename(columns={"D_F": "f"})
  return dict(scratch=scratch, finetuned=finetuned, zeroshot=zeroshot, gap=gap)


def fine_tuning_gain(tables, n_boot: int = 4000, seed: int = 0):
  """Mean over (N, D_F) of scratch loss - fine-tuned loss (nats/byte), with a 95% bootstrap over the points.

  Fit-free: it needs no law to hold, so it still ranks targets when D_T fits are too noisy.
  """
  j = tables["scratch"].merge(tables["finetuned"], on=["N", "D_F"], suffixes=("_scratch", "_ft"))
  gain = (j["loss_scratch"] - j["loss_ft"]).to_numpy(float)
  if len(gain) < 2:
    return None
  rng = np.random.default_rng(seed)
  boot = rng.choice(gain, (n_boot, len(gain))).mean(axis=1)
  lo, hi = np.percentile(boot, [2.5, 97.5])
  return dict(mean=float(gain.mean()), lo=float(lo), hi=float(hi), n=len(gain))


def _transfer(tables, cfg, notes):
  """Effective data and the D_T law; None parts where the data cannot support them."""
  from transfer_scaling import laws
  sc = tables["scratch"].rename(columns={"D_F": "D"})[["N", "D", "loss"]]
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    eff = laws.effective_data(sc, tables["finetuned"])
  notes += [f"effective data: {w.message}" for w in caught]
  eff["D_T"] = eff["D_T"].astype(float)
  tf = None
  try:
    tf = laws.fit_transfer(eff, bootstrap=int(cfg["analysis"]["bootstrap"]), seed=0,
                           **({"max_D_F": cfg["analysis"]["low_data_max_d_f"]}
                              if cfg["analysis"].get("low_data_max_d_f") else {}))
  except UsageError as e:
    notes.append(f"D_T law not fitted: {e}")
  return eff, tf


def _gap(tables, cfg, notes):
  """The transfer-gap law L(p, f) on the (p, f) grid of one size, its isoloss grid and allocation."""
  from transfer_scaling import laws
  sizes = cfg["gap"]["sizes"]
  if not sizes:
    return None
  pts = tables["gap"][tables["gap"]["size"] == sizes[0]]
  if pts["p"].nunique() < 2 or pts["f"].nunique() < 2 or len(pts) < 6:
    notes.append(f"transfer-gap law not fitted: {len(pts)} (p, f) points for size {sizes[0]} (need >= 6 over "
                 ">= 2 values of each)")
    return None
  try:
    # G often tends to 0, the edge of its log-parameterised range, where convergence is slow.
    fit = laws.fit("barnett", pts[["p", "f", "loss"]], bootstrap=int(cfg["analysis"]["bootstrap"]), seed=0,
                   max_iter=2000)
  except UsageError as e:
    notes.append(f"transfer-gap law not fitted: {e}")
    return None
  if not fit.converged:
    notes.append("transfer-gap law: the fit did not converge; figure 8 shows the measured points only")
    return dict(fit=None, points=pts, grid=None, allocation=None, size=sizes[0])
  p_range = (pts["p"].min() / 2, pts["p"].max() * 4)
  f_range = (pts["f"].min() / 2, pts["f"].max() * 4)
  n = 80
  try:
    g = laws.isoloss_grid(fit, p_range, f_range, n=n)
  except UsageError as e:  # e.g. a fitted alpha <= 0: more pre-training did not help on this grid
    notes.append(f"transfer-gap law fitted, but no contours or allocation: {e}")
    return dict(fit=fit, points=pts, grid=None, allocation=None, size=sizes[0])
  grid = {k: g[k].to_numpy().reshape(n, n) for k in ("p", "f", "loss")}
  # Budgets in pre-training steps: B = p + c f, c = cost of one fine-tuning byte in steps.
  c = float(cfg["analysis"].get("cost_ratio", 1.0))
  budgets = np.geomspace(p_range[0] + c * f_range[0], p_range[1] + c * f_range[1], 25)
  alloc = pd.DataFrame([vars(laws.allocate_budget(fit, b, cost_p=1.0, cost_f=c)) for b in budgets])
  return dict(fit=fit, points=pts, grid=grid, allocation=alloc, size=sizes[0])


def analyze(workdir: str) -> dict:
  """Fits, figures and report.md for the study in `workdir`; returns what the headline needs."""
  meta_path = os.path.join(workdir, "study.json")
  if not os.path.exists(meta_path):
    raise UsageError(f"{workdir} holds no study (no study.json); run `transfer-scaling sweep` there first")
  cfg = workdir_lib.read_json(meta_path)["config"]
  df = results.table(workdir)
  if df.empty:
    raise UsageError(f"no run records in {workdir}/runs; run `transfer-scaling sweep` first")
  # A workdir may hold records of an earlier version of the config (run ids change with any field
  # that changes a result): analyse only the runs the current config defines.
  wanted = {r.id for r in runs_lib.build_runs(ml_collections.ConfigDict(cfg))}
  stale = int((~df["id"].isin(wanted)).sum())
  df = df[df["id"].isin(wanted)].reset_index(drop=True)
  failed = df[df["status"].str.startswith("failed")]
  ok = results.ok(df)
  tried = len(ok)
  ok = results.best_lr(ok)  # several learning rates per point: keep the best (nothing changes with one)
  last_p = int(cfg["pretrain"]["steps"])
  fig_dir = os.path.join(workdir, "figures")
  targets = list(cfg.get("targets") or []) or [cfg["target"]]
  out = {"workdir": workdir, "study": cfg["study"], "targets": {}}
  md = [f"# Transfer study `{cfg['study']}`: {cfg['source']} -> {', '.join(targets)}", "",
        _setup(cfg, df), ""]
  if stale:
    md += [f"{stale} run records in this workdir belong to an earlier version of the config and are not "
           "analysed (delete them from runs/ to tidy up).", ""]
  md += _leave_outs(failed)
  if tried > len(ok):
    md += [f"Learning rates: each point keeps the best of its stage's learning rates ({tried} finished runs, "
           f"{len(ok)} points).", ""]
  md += _cut_off(ok)
  for target in targets:
    notes = []
    tables = _target_tables(ok, target, last_p)
    prefix = "" if len(targets) == 1 else f"{target}_"
    sec = {"notes": notes}
    md += [f"## Target: {target}", ""]
    if tables["scratch"].empty or tables["finetuned"].empty:
      md += [f"No finished from-scratch and fine-tuned runs on {target} yet.", ""]
      out["targets"][target] = sec
      continue
    eff, tf = _transfer(tables, cfg, notes)
    sec.update(eff=eff, transfer=tf, gain=fine_tuning_gain(tables))
    sec["gap"] = _gap(tables, cfg, notes)
    sec["figures"] = _figures(tables, eff, tf, sec["gap"], cfg, fig_dir, prefix)
    sec["example"] = _example(cfg, tf, eff)
    md += _target_section(target, tables, eff, tf, sec, cfg)
    out["targets"][target] = sec
  if len(targets) > 1:
    md += _across_targets(out["targets"])
  md += _throughput(workdir)
  fileio.write_text_atomic(os.path.join(workdir, "report.md"), "\n".join(md) + "\n")
  fileio.write_text_atomic(os.path.join(workdir, "results.csv"), df.to_csv(index=False))
  for target, sec in out["targets"].items():
    if sec.get("eff") is not None:
      fileio.write_text_atomic(os.path.join(workdir, f"effective_data_{target}.csv"), sec["eff"].to_csv(index=False))
  return out


def _lrs(stage_cfg) -> str:
  return " or ".join(f"{x:g}" for x in runs_lib.stage_lrs(ml_collections.ConfigDict(stage_cfg)))


def _setup(cfg, df) -> str:
  counts = df.groupby("stage")["id"].count().to_dict()
  pt = cfg["pretrain"]
  return "\n".join([
      f"Model sizes {', '.join(cfg['sizes'])} (non-embedding parameters N, transfer_scaling/ladder.py); "
      f"byte-level, context {cfg['seq_len']}, batch {cfg['batch_size']}; seeds {list(cfg['seeds'])}.",
      f"Pre-training: {pt['steps']} steps on {cfg['source']} (lr {pt['lr']:g}, {pt['schedule']}), checkpoints kept "
      f"for the pre-training axis p. Fine-tuning (lr {_lrs(cfg['finetune'])}) and from-scratch training "
      f"(lr {_lrs(cfg['scratch'])}) are early-stopped on the target's test loss (every {cfg['eval_every']} steps, "
      f"patience {cfg['patience']}); losses are the best test loss in nats per byte, data D_F in bytes.",
      f"Runs: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("pretrain", "zeroshot", "scratch", "finetune")) + ".",
  ])


def cut_off(df: pd.DataFrame) -> pd.DataFrame:
  """Trained runs that hit their step cap with their best loss at the last step: still improving."""
  trained = df[df["stage"].isin(["scratch", "finetune"]) & df["steps"].notna()]
  return trained[(trained["status"] == "max_steps") & (trained["best_step"] == trained["steps"])]


def _cut_off(ok: pd.DataFrame) -> list:
  cut = cut_off(ok)
  if cut.empty:
    return []
  counts = cut.groupby(["stage", "D_F"])["id"].count()
  totals = ok[ok["stage"].isin(["scratch", "finetune"])].groupby(["stage", "D_F"])["id"].count()
  lines = ["## Runs cut off while still improving", "",
           f"{len(cut)} trained run{'s' if len(cut) > 1 else ''} reached the step cap with the best test loss at the "
           "last evaluation, so the loss used for it is an upper bound on its data-limited loss. Where this "
           "hits one stage more than the other, D_T is biased (from-scratch runs cut off inflate D_E; fine-tuned "
           "ones deflate it). Raise `scratch.max_steps` / `finetune.max_steps` (and `max_epochs`) to let early "
           "stopping end them.", "", "| stage | D_F | cut off / runs |", "|---|---|---|"]
  for (stage, d_f), n in counts.items():
    lines.append(f"| {stage} | {d_f} | {n} / {totals.get((stage, d_f), n)} |")
  return lines + [""]


def _leave_outs(failed) -> list:
  if failed.empty:
    return ["All runs finished; none were left out.", ""]
  lines = ["## Left out", "", f"{len(failed)} run{'s' if len(failed) > 1 else ''} failed and {'are' if len(failed) > 1 else 'is'} left out "
           "of every figure and fit:", "",
           "| stage | target | N | D_F | init | seed | reason |", "|---|---|---|---|---|---|---|"]
  for _, r in failed.iterrows():
    lines.append(f"| {r['stage']} | {r['target']} | {r['N']} | {r['D_F']} | {r['init']} | {r['seed']} | "
                 f"{r['status'][len('failed: '):]} |")
  return lines + [""]


def _figures(tables, eff, tf, gap, cfg, fig_dir, prefix) -> dict:
  sc, ft, zs = tables["scratch"], tables["finetuned"], tables["zeroshot"]
  figs = {}
  figs[1] = F.loss_vs_data(sc, ft, zs, fig_dir, prefix + "fig1_loss_vs_data")
  sizes = sorted(set(ft["N"]))
  ex = cfg["analysis"]["example_size"]
  n = next((v for v in sizes if ex in set(ft[ft["N"] == v]["size"])), sizes[-1])
  figs[2] = F.effective_data_picture(sc[sc["N"] == n], ft[ft["N"] == n],
                                     eff[eff["N"] == n].assign(extrapolated=lambda d: d["interp_flag"] != "ok"),
                                     n, fig_dir, prefix + "fig2_effective_data")
  figs[3] = F.transfer_power_law(eff, tf.fit.params if tf is not None and tf.fit.converged else None, fig_dir,
                                 prefix + "fig3_dt_vs_df")
  figs[4] = F.transfer_fraction(eff[np.isfinite(eff["D_E"])], fig_dir, prefix + "fig4_fraction_transferred")
  figs[5] = F.loss_vs_size(sc, ft, fig_dir, prefix + "fig5_loss_vs_n")
  figs[6] = F.loss_vs_compute(sc, ft, fig_dir, prefix + "fig6_loss_vs_compute")
  pairs = ft.merge(sc, on=["N", "D_F"], suffixes=("_finetuned", "_scratch"))
  figs[7] = F.ossification(pairs, fig_dir, prefix + "fig7_ossification")
  if gap is not None:
    figs[8] = F.gap_contours(gap["points"], gap["grid"], gap["allocation"],
                             gap["fit"].params if gap["fit"] else None, fig_dir, prefix + "fig8_isoloss_gap")
  return figs


def _example(cfg, tf, eff):
  """The effective-data multiplier (D_F + D_T) / D_F at the configured example point, from the fit."""
  if tf is None or not tf.fit.converged:
    return None
  from transfer_scaling import ladder
  size, d_f = cfg["analysis"]["example_size"], float(cfg["analysis"]["example_d_f"])
  N = ladder.n_params(ladder.model_config(size, seq_len=cfg["seq_len"]))
  p = tf.fit.params
  mult = lambda q: (d_f + q["k"] * d_f ** q["alpha"] * N ** q["beta"]) / d_f
  out = {"size": size, "N": N, "D_F": d_f, "multiplier": mult(p)}
  if tf.fit.bootstrap is not None and len(tf.fit.bootstrap) > 1:
    b = tf.fit.bootstrap
    m = [mult(r) for _, r in b.iterrows()]
    out["ci95"] = (float(np.quantile(m, 0.025)), float(np.quantile(m, 0.975)))
  return out


def _img(stem: str) -> str:
  return f"![{stem}](figures/{stem}.png)"


def _target_section(target, tables, eff, tf, sec, cfg) -> list:
  figs, md = sec["figures"], []
  n_ok = int(np.isfinite(eff["D_E"]).sum())
  md += [_img(figs[1]), "",
         f"**Figure 1.** Best test loss (nats/byte) against fine-tuning data D_F (bytes, log scale), one panel per "
         f"model size: from scratch (grey) and fine-tuned from the final {cfg['source']} checkpoint (blue); the dotted "
         "line is the pre-trained model with no fine-tuning. Read the vertical gap between the curves: it is the "
         "benefit of pre-training, largest at small D_F, and where the blue curve crosses above the grey one "
         "pre-training hurts.", ""]
  md += [_img(figs[2]), "",
         "**Figure 2.** The effective-data picture for one size: each fine-tuned run (square) is moved right along "
         "the from-scratch loss curve to the data D_E a from-scratch model would need for the same loss "
         "(interpolated in log-log space between measured runs, never extrapolated). The arrow's length is the "
         "effective data transferred, D_T = D_E - D_F.", ""]
  flags = {k: v for k, v in eff["interp_flag"].value_counts().to_dict().items() if k != "ok"}
  md += [f"D_E is known for {n_ok} of {len(eff)} fine-tuned points."
         + (" The others lie outside the measured from-scratch curve ("
            + ", ".join(f"{k}: {v}" for k, v in flags.items()) + "); 'above_range' means the fine-tuned model "
            "beats every from-scratch run of its size, so D_E exceeds the largest D measured, and 'below_range' that "
            "it is worse than the smallest." if flags else ""), ""]
  md += [_img(figs[3]), ""]
  if tf is not None and tf.fit.converged:
    f = tf.fit
    md += [f"**Figure 3.** Effective data transferred D_T against D_F (bytes, log-log), one colour per size, with "
           f"the fitted law D_T = k D_F^alpha N^beta (lines). {tf.boundary}; {int(tf.rows['used'].sum())} of "
           f"{len(tf.rows)} fine-tuned points enter the fit. Parallel straight lines mean a power law in D_F; "
           "their vertical spacing is the N^beta factor.", "",
           "| parameter | value [95% bootstrap interval] | paper, text -> Python |", "|---|---|---|",
           f"| k | {_ci(f, 'k')} | 1.9e4 (characters, BPE tokens) |",
           f"| alpha | {_ci(f, 'alpha')} | 0.18 |", f"| beta | {_ci(f, 'beta')} | 0.38 |",
           f"| beta/alpha | {_ci(f, 'beta/alpha')} | ~2 |", "",
           f"Bootstrap: {f.n_bootstrap_converged} of {f.n_bootstrap} refits converged; RMSE of log D_T "
           f"{f.rmse_log:.3g}.", ""]
    excluded = tf.rows[~tf.rows["used"]]
    if len(excluded):
      md += ["Fine-tuned points left out of the D_T fit:", "", "| N | D_F | reason |", "|---|---|---|"]
      md += [f"| {r['N']} | {r['D_F']} | {r['excluded_because']} |" for _, r in excluded.iterrows()] + [""]
  else:
    md += ["**Figure 3.** D_T against D_F (bytes, log-log), one colour per size. No law was fitted: "
           + "; ".join(n for n in sec["notes"] if n.startswith("D_T")), ""]
  ex = sec["example"]
  if ex:
    ci = f" (95% interval {ex['ci95'][0]:.3g}-{ex['ci95'][1]:.3g})" if "ci95" in ex else ""
    md += [f"At N = {ex['N']:,} ({ex['size']}) and D_F = {ex['D_F']:,.0f} bytes the fitted law gives an effective-"
           f"data multiplier (D_F + D_T) / D_F = {ex['multiplier']:.3g}{ci}: pre-training is worth that many times "
           "the fine-tuning data.", ""]
  md += [_img(figs[4]), "",
         "**Figure 4.** Fraction of the effective data that comes from transfer, D_T / (D_F + D_T), against D_F "
         "(log scale), one line per size. In the paper it falls as D_F grows (fine-tuning data takes over) and "
         "rises with N (larger models transfer more); check whether these lines do.", ""]
  md += [_img(figs[5]), "",
         "**Figure 5.** Test loss against model size N (non-embedding parameters, log scale) at fixed D_F: dashed "
         "from scratch, solid fine-tuned. The paper's finding to look for: with little data the from-scratch "
         "curves flatten (data-limited) while fine-tuned models keep improving with N.", ""]
  md += [_img(figs[6]), "",
         "**Figure 6.** Best test loss against training compute (FLOPs to the end of training, log scale; "
         "pre-training compute not counted), open circles from scratch, filled squares fine-tuned, colour = size. "
         "The paper's finding to look for: in the low-data regime fine-tuned runs reach a given loss with less "
         "compute.", ""]
  md += [_img(figs[7]), "",
         "**Figure 7.** Ossification: fine-tuned minus from-scratch loss (nats/byte) against D_F (log scale), one "
         "line per size. Below zero pre-training helps; above zero the pre-trained model is worse than training "
         "from scratch on the same data, which the paper saw for small models with much fine-tuning data.", ""]
  oss = eff[eff["ossified"].fillna(False).astype(bool)]
  md += [f"Ossified points (D_T < 0): {', '.join(f'N={r.N}, D_F={r.D_F}' for r in oss.itertuples()) or 'none'}.", ""]
  gap = sec["gap"]
  if gap is not None and gap["fit"] is None:
    md += [_img(figs[8]), "", f"**Figure 8.** Measured test loss over pre-training steps p and fine-tuning bytes f "
           f"(log-log) for size {gap['size']}; the transfer-gap law did not converge, so no contours are drawn.", ""]
  elif gap is not None and gap["grid"] is None:
    md += [_img(figs[8]), "", f"**Figure 8.** Measured test loss over pre-training steps p and fine-tuning bytes f "
           f"(log-log) for size {gap['size']}; the fitted transfer-gap law lies outside its domain (see the notes), "
           "so no contours are drawn.", "", "| parameter | value [95% bootstrap interval] |", "|---|---|"]
    md += [f"| {k} | {_ci(gap['fit'], k)} |" for k in ("A", "alpha", "G", "beta", "E")] + [""]
  elif gap is not None:
    g = gap["fit"]
    md += [_img(figs[8]), "",
           f"**Figure 8.** Left: isoloss contours of the fitted transfer-gap law L(p, f) = (A p^-alpha + G) f^-beta + E "
           f"for size {gap['size']} over pre-training steps p and fine-tuning bytes f (log-log), with the measured "
           "runs as dots in the same colour scale, and in red the (p, f) that minimises the loss for each budget "
           f"B = p + c f (c = {cfg['analysis'].get('cost_ratio', 1.0):g} pre-training steps per fine-tuning byte). "
           "Right: the share of the budget spent on pre-training along that curve. A large G makes contours turn "
           "vertical: more pre-training stops helping and only fine-tuning data lowers the loss.", "",
           "| parameter | value [95% bootstrap interval] |", "|---|---|"]
    md += [f"| {k} | {_ci(g, k)} |" for k in ("A", "alpha", "G", "beta", "E")] + [""]
  if sec["notes"]:
    md += ["Notes:", ""] + [f"- {n}" for n in sec["notes"]] + [""]
  return md


def _across_targets(secs) -> list:
  """One row per target: the transfer law and the transfer gap side by side."""
  md = ["## Across targets", "", "Pre-training is the same for every target; what differs is how much of it "
        "carries over. A larger G means pre-training alone caps out sooner on that target.", "",
        "The last column needs no law: the mean over sizes and D_F of (from-scratch loss - fine-tuned loss), "
        "in nats/byte, with a 95% bootstrap interval over those points.", "",
        "| target | k | alpha | beta | G (transfer gap) | fine-tuning gain |", "|---|---|---|---|---|---|"]
  for target, sec in secs.items():
    tf, gap, gain = sec.get("transfer"), sec.get("gap"), sec.get("gain")
    law = [_ci(tf.fit, k) for k in ("k", "alpha", "beta")] if tf is not None and tf.fit.converged else ["-"] * 3
    g = f"{gain['mean']:.3f} [{gain['lo']:.3f}, {gain['hi']:.3f}]" if gain else "-"
    md.append(f"| {target} | " + " | ".join(law) + f" | {_ci(gap['fit'], 'G') if gap and gap['fit'] else '-'} | {g} |")
  return md + [""]


def _throughput(workdir: str) -> list:
  rows = []
  gdir = os.path.join(workdir, "groups")
  for g in sorted(os.listdir(gdir)) if os.path.isdir(gdir) else []:
    path = os.path.join(gdir, g, "throughput.json")
    if os.path.exists(path):
      rows.append(workdir_lib.read_json(path))
  if not rows:
    return []
  t = pd.DataFrame(rows)
  tok, wall, flops = t["tokens"].sum(), t["wall_s"].sum(), t["flops"].sum()
  mfu = t["mfu"].dropna()
  md = ["## Throughput", "",
        f"{len(t)} ensembles on {t['device'].iloc[0]}: {tok:,.0f} tokens in {wall:,.0f} s of ensemble wall time "
        f"(compilation included), {tok / wall:,.0f} tokens/s, {flops / wall / 1e9:,.2f} GFLOP/s"
        + (f", model-FLOPs utilisation {100 * (flops / wall) / (t['flops_per_s'] / t['mfu']).dropna().iloc[0]:.1f}%"
           if len(mfu) else " (no known peak for this device, so no MFU)") + "."]
  steady = t["steady_tokens_per_s"].dropna() if "steady_tokens_per_s" in t else pd.Series(dtype=float)
  if len(steady):
    md.append(f"Once compiled (after each ensemble's first chunk of steps, all members counted): median "
              f"{steady.median():,.0f} tokens/s per ensemble, fastest {steady.max():,.0f}.")
  return md + [""]


def headline(out: dict) -> str:
  """What the quickstart prints: k, alpha, beta with intervals and the multiplier at the example point."""
  lines = []
  for target, sec in out["targets"].items():
    tf, gain = sec.get("transfer"), sec.get("gain")
    gain_line = (f"  fine-tuning gain {gain['mean']:.3f} [{gain['lo']:.3f}, {gain['hi']:.3f}] nats/byte "
                 f"(mean of scratch - fine-tuned loss over {gain['n']} points)") if gain else None
    if tf is None or not tf.fit.converged:
      lines.append(f"{target}: D_T law not fitted ({'; '.join(sec.get('notes', [])) or 'no data'})")
      lines += [gain_line] if gain_line else []
      continue
    f = tf.fit
    lines.append(f"{target}: D_T = k D_F^alpha N^beta with k = {_ci(f, 'k')}, alpha = {_ci(f, 'alpha')}, "
                 f"beta = {_ci(f, 'beta')} (95% bootstrap intervals, {f.n_points} points)")
    ex = sec.get("example")
    if ex:
      ci = f" [{ex['ci95'][0]:.3g}, {ex['ci95'][1]:.3g}]" if "ci95" in ex else ""
      lines.append(f"  effective-data multiplier at N = {ex['N']:,} ({ex['size']}), D_F = {ex['D_F']:,.0f} bytes: "
                   f"{ex['multiplier']:.3g}{ci}")
    if sec.get("gap") and sec["gap"]["fit"] is not None:
      lines.append(f"  transfer gap G = {_ci(sec['gap']['fit'], 'G')} (size {sec['gap']['size']})")
    lines += [gain_line] if gain_line else []
  return "\n".join(lines)
