"""The analysis on a study whose losses follow known laws: it must recover them and list what it left out."""
import os

import numpy as np
import pytest

from transfer_scaling import ladder
from transfer_scaling.report import analysis
from transfer_scaling.study import runs as runs_lib, workdir as workdir_lib, toy

K, ALPHA, BETA = 30.0, 0.3, 0.5             # D_T = K D_F^ALPHA N^BETA
GAP = dict(A=3.0, alpha=0.5, G=0.4, beta=0.1, E=1.0)


def _scratch_loss(N, D):
  return 1.0 + 40.0 / N ** 0.3 + 60.0 / D ** 0.35


def _write_study(workdir, gap=False, failed_id=None):
  """Records of a full study; with gap=True one size whose fine-tuned losses follow the gap law instead."""
  c = toy.config()
  c.sizes = ("56k",) if gap else ("13k", "56k", "100k", "335k")
  c.gap.sizes = ("56k",) if gap else ()
  c.d_f.min, c.d_f.max, c.d_f.num = 1000, 64000, 5
  c.d_f_large = (10**6, 10**7)
  c.pretrain.steps, c.pretrain.first_kept_step, c.pretrain.num_kept = 800, 50, 4
  c.gap.d_f_min, c.gap.d_f_max, c.gap.d_f_num = 1000, 64000, 4
  c.analysis.example_size, c.analysis.example_d_f = "100k", 4000
  c.analysis.bootstrap = 20
  workdir_lib.write_json(os.path.join(workdir, "study.json"), {"config": c.to_dict(), "study": c.study})
  rng = np.random.default_rng(0)
  for r in runs_lib.build_runs(c):
    N = ladder.n_params(ladder.model_config(r.size, seq_len=c.seq_len))
    if r.stage == "pretrain":
      loss = 2.0
    elif r.stage == "zeroshot":
      loss = 3.0
    elif r.stage == "scratch":
      loss = _scratch_loss(N, r.d_f)
    elif not gap:
      loss = _scratch_loss(N, r.d_f + K * r.d_f ** ALPHA * N ** BETA)
    else:
      g = GAP
      loss = (g["A"] * r.p ** -g["alpha"] + g["G"]) * r.d_f ** -g["beta"] + g["E"]
    loss *= np.exp(rng.normal(0, 0.002))
    status = "done"
    if r.id == failed_id:
      loss, status = None, "failed: diverged: training loss became NaN at step 7; lower this member's learning rate"
    workdir_lib.write_json(workdir_lib.record_path(workdir, r.id), {
        "id": r.id, "study": c.study, "stage": r.stage, "source": c.source, "target": r.corpus, "size": r.size,
        "N": N, "d_f": r.d_f, "init": r.init, "p": r.p, "seed": r.seed, "group": "g", "member": 0,
        "best_loss": loss, "best_step": 10, "steps": 20, "tokens": 20 * 128, "flops": 20 * 128 * 6.0 * N,
        "wall_s": 1.0, "status": status, "run": r.to_json()})
  return c


def test_analysis_recovers_the_transfer_law_and_writes_the_report(tmp_path):
  c = toy.config()
  runs = runs_lib.build_runs(_write_study(str(tmp_path)))
  failed = next(r for r in runs if r.stage == "scratch" and r.size == "13k" and r.d_f == 10**7)
  _write_study(str(tmp_path), failed_id=failed.id)
  # A record left by an earlier version of the config (its id is not among the current runs),
  # with an absurd loss that would wreck the fit if it were used.
  stale = workdir_lib.read_json(workdir_lib.record_path(str(tmp_path), runs[-1].id))
  stale.update(id="0ldc0nf1g000", best_loss=0.01)
  workdir_lib.write_json(workdir_lib.record_path(str(tmp_path), stale["id"]), stale)
  out = analysis.analyze(str(tmp_path))
  sec = out["targets"][c.target]
  fit = sec["transfer"].fit
  assert fit.converged
  assert abs(fit.params["alpha"] - ALPHA) < 0.1 and abs(fit.params["beta"] - BETA) < 0.1, fit.params
  lo, hi = fit.ci95["alpha"]
  assert lo <= fit.params["alpha"] <= hi
  text = open(tmp_path / "report.md").read()
  for i in range(1, 8):
    stem = sec["figures"][i]
    assert f"**Figure {i}.**" in text and f"figures/{stem}.png" in text
    assert os.path.getsize(tmp_path / "figures" / f"{stem}.png") > 5000
    assert os.path.exists(tmp_path / "figures" / f"{stem}.svg")
  assert "## Left out" in text and "training loss became NaN at step 7" in text
  assert "1 run records in this workdir belong to an earlier version of the config" in text
  assert "0ldc0nf1g000" not in open(tmp_path / "results.csv").read()
  head = analysis.headline(out)
  assert "alpha" in head and "multiplier" in head and "[" in head


def test_analysis_fits_the_transfer_gap(tmp_path):
  c = _write_study(str(tmp_path), gap=True)
  out = analysis.analyze(str(tmp_path))
  sec = out["targets"][c.target]
  gap = sec["gap"]["fit"]
  assert gap.converged and abs(gap.params["G"] - GAP["G"]) < 0.15, gap.params
  alloc = sec["gap"]["allocation"]
  assert (alloc["p"] * 1 + alloc["f"] * c.analysis.get("cost_ratio", 1.0)).round(3).tolist() == \
      alloc["budget"].round(3).tolist()
  assert os.path.exists(tmp_path / "figures" / f"{sec['figures'][8]}.png")
  assert "**Figure 8.**" in open(tmp_path / "report.md").read()


def test_analyze_without_a_study_says_what_to_run(tmp_path):
  from transfer_scaling.errors import UsageError
  with pytest.raises(UsageError, match="transfer-scaling sweep"):
    analysis.analyze(str(tmp_path))


def test_importing_the_figures_leaves_the_matplotlib_backend_alone():
  import subprocess
  import sys
  code = ("import matplotlib; matplotlib.use('svg'); from transfer_scaling.report import figures; "
          "print(matplotlib.get_backend())")
  out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
  assert out.strip() == "svg"


def test_runs_cut_off_while_still_improving_are_found():
  import pandas as pd
  df = pd.DataFrame({"stage": ["scratch", "scratch", "finetune", "finetune", "pretrain"],
                     "status": ["max_steps", "max_steps", "done", "max_steps", "max_steps"],
                     "best_step": [160, 120, 80, 640, 800], "steps": [160, 160, 200, 640, 800],
                     "D_F": [1000, 1000, 1000, 4000, None], "id": list("abcde")})
  assert list(analysis.cut_off(df)["id"]) == ["a", "d"]  # at the cap with the best loss at the last step


def test_fine_tuning_gain_is_the_mean_loss_difference_with_an_interval():
  import pandas as pd
  scratch = pd.DataFrame({"N": [1, 1, 2], "D_F": [10, 20, 10], "loss": [3.0, 2.5, 2.8]})
  finetuned = pd.DataFrame({"N": [1, 1, 2], "D_F": [10, 20, 10], "loss": [2.0, 2.3, 2.6]})
  g = analysis.fine_tuning_gain({"scratch": scratch, "finetuned": finetuned})
  assert g["n"] == 3 and g["mean"] == pytest.approx((1.0 + 0.2 + 0.2) / 3)
  assert 0.2 - 1e-9 <= g["lo"] <= g["mean"] <= g["hi"] <= 1.0 + 1e-9
