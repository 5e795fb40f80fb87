"""Analyse a study workdir and write what it says there: report.md, figures/, tables and fits/.

  report.md, figures/*.png|svg     the report (report/markdown.py)
  results.csv                      one row per run of the study
  effective_data_<target>.csv      per fine-tuned cell: law-free and joint-fit D_T
  fits/<target>.json               the fitted laws with every bootstrap replicate (what `advise` reads)
"""
import json


from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.laws import identify
from transfer_scaling.laws.registry import get_law
from transfer_scaling.report import analysis, markdown
from transfer_scaling.study import workdir as workdir_lib


def load(workdir) -> analysis.StudyResult:
  """The analysis of the study in `workdir` (nothing is written)."""
  meta = workdir_lib.read_study(workdir)
  if "corpora" not in meta:
    raise UsageError(f"{workdir}/study.json was written by an older version (no corpus hashes); rerun "
                     "`transfer-scaling sweep` with its config there (finished runs of the current protocol are kept)")
  cfg = workdir_lib.study_config(workdir, meta)
  records = workdir_lib.read_records(workdir)
  if not records:
    raise UsageError(f"no run records in {workdir}/runs; run `transfer-scaling sweep` first")
  return analysis.analyze(cfg, records, workdir_lib.read_plan(workdir), throughput=_throughput(workdir))


def _throughput(workdir) -> list:
  gdir = fileio.path(workdir) / "groups"
  rows = []
  for g in sorted(gdir.iterdir()) if gdir.exists() else []:
    t = g / "throughput.json"
    if t.exists():
      rows.append(fileio.read_json_checked(t, "delete it (it only times that ensemble for the report) and rerun"))
  return rows


def write(workdir, result=None) -> analysis.StudyResult:
  """Analyses the study in `workdir` (or takes `result`, e.g. of a runs file) and writes its report, tables and
  fits there."""
  result = load(workdir) if result is None else result
  wd = fileio.path(workdir)
  figs = markdown.figures(result, wd / "figures")
  fileio.write_text_atomic(wd / "report.md", markdown.report(result, figs))
  fileio.write_text_atomic(wd / "results.csv", result.table.to_csv(index=False))
  for target, t in result.targets.items():
    eff = t.comparison if t.comparison is not None else t.eff
    if eff is not None:
      fileio.write_text_atomic(wd / f"effective_data_{target}.csv", eff.to_csv(index=False))
    fits = fits_json(result, t)
    path = wd / "fits" / f"{_safe(target)}.json"
    if fits:
      fileio.write_json_atomic(path, fits)
    elif path.exists():  # an earlier analysis's laws are not this one's: advise must not read them
      path.unlink()
  return result


def _safe(name: str) -> str:
  return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in name)


def fits_path(workdir, target: str):
  return fileio.path(workdir) / "fits" / f"{_safe(target)}.json"


def _law_json(fit) -> dict:
  b = fit.bootstrap
  return {"law": fit.law, "params": fit.params, "resample": fit.resample,
          "bootstrap": {k: b[k].tolist() for k in b.columns} if b is not None else {}}


def gap_verdicts(gap: dict) -> dict:
  """name -> {"status", "text"} of a fits file's gap law (files written before verdicts were per parameter hold
  the one verdict they gave, on G)."""
  return gap.get("identified") or ({"G": gap["G"]} if isinstance(gap.get("G"), dict) else {})


def fits_json(result, t) -> dict:
  """The fitted laws of one target, with bootstrap replicates and the measured ranges (read by advise)."""
  if t.joint is None:
    return {}
  cfg = result.setting
  used = t.joint.rows[t.joint.rows["used"]]
  out = {"study": cfg.study, "target": t.target, "units": cfg.units, "joint": _law_json(t.joint.fit),
         "boundary": t.joint.boundary,
         "identified": {k: {"status": v.status, "text": v.text} for k, v in t.joint.identified.items()},
         "N_range": [float(used["N"].min()), float(used["N"].max())],
         "D_F_range": [float(used["D_F"].min()), float(used["D_F"].max())],
         "sizes": dict(cfg.sizes),
         "heldout": t.heldout.verdict if t.heldout is not None else None,
         "rule": identify.rule(t.joint.law), "centre": t.joint.at_centre(),
         "noise": t.joint.noise.to_dict() if t.joint.noise is not None else None,
         "check": t.joint.check,
         "cost_ratio": cfg.analysis.cost_ratio, "pretrain_steps": cfg.last_p,
         "decision": t.decision.to_json() if t.decision is not None else None, "decision_note": t.decision_note}
  gap = gap_json(t.gap)
  if gap:
    out["gap"] = gap
  return _plain(out)


def gap_json(g) -> dict:
  """A target's transfer-gap fit with its verdicts on the headline parameters (advise reads them); {} without one."""
  if g is None or g.fit is None:
    return {}
  law = get_law(g.fit.law)
  out = {**_law_json(g.fit), "size": g.size, "N": g.N, "p_max": g.p_max,
         "identified": {k: {"status": g.identified[k].status, "text": g.identified[k].text}
                        for k, h in law.hints.items() if h.headline and k in g.identified}}
  return _plain(out)


def _plain(d: dict) -> dict:
  """d with numpy arrays and scalars made JSON's lists and floats."""
  return json.loads(json.dumps(d, default=lambda x: x.tolist() if hasattr(x, "tolist") else float(x)))



