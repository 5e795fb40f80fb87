"""The law-free numbers behind Hernandez's observations 5-7 (experiments/observations.py), known answers."""
import numpy as np
import pandas as pd

from experiments import observations


def _row(stage, N, D, seed, loss, flops, p=None):
  return {"study": "s", "stage": stage, "source": "src", "target": "tgt", "size": f"{N}", "N": N, "D_F": D,
          "init": "scratch" if stage == "scratch" else "pretrained", "p": p, "seed": seed, "lr": 1e-3, "warmup": 0,
          "loss": loss, "valid_loss": loss, "best_step": 50, "steps": 100, "flops": flops, "status": "done",
          "tunes": True}


def test_known_effective_data_compute_and_ossification(tmp_path):
  # From scratch: loss 3 - 0.5 log10(D / 100) at both sizes, compute 10 D N to the last step (5 D N to the best).
  # Fine-tuned at D_F 100 and 200: the from-scratch loss at 4 D_F (D_E = 4 D_F), compute 1 D_F N to the best;
  # so a from-scratch run needs 5 * 4 = 20x the compute. One cell (N 2, D_F 200) is made worse than scratch.
  rows = []
  for seed in (0, 1, 2):
    for N in (1, 2):
      for D in (100, 200, 400, 800, 1600):
        rows.append(_row("scratch", N, D, seed, 3 - 0.5 * np.log10(D / 100) + 0.01 * seed, 10 * D * N))
      for D_F in (100, 200):
        loss = 3 - 0.5 * np.log10(4 * D_F / 100) + 0.01 * seed - (0.1 if N == 2 and D_F == 100 else 0)
        if N == 2 and D_F == 200:
          loss = 3 - 0.5 * np.log10(D_F / 100) + 0.05 + 0.01 * seed
        rows.append(_row("finetune", N, D_F, seed, loss, 2 * D_F * N, p=1000))
  pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
  (r,) = observations.observations(str(tmp_path))
  assert r["D_F_min"] == 100 and (r["N_lo"], r["N_hi"]) == (1, 2)
  assert np.isclose(r["ft_change"], -0.1) and np.isclose(r["sc_change"], 0.0)  # each seed moves alike: no spread
  assert r["ossified"] == 1 and r["ossified_cells"] == "2/200"
  # 20x where D_E = 4 D_F; 5 * 10^0.2 * 4 where the loss is 0.1 lower; 5 * 10^-0.1 in the ossified cell
  assert r["compute_cells"] == 4 and np.isclose(r["compute_median"], 20.0)
  # (D_E between measured points is interpolated in log loss, as the reports do, so those two are within 1%)
  assert np.isclose(r["compute_max"], 20 * 10 ** 0.2, rtol=0.01)
  assert np.isclose(r["compute_min"], 5 * 10 ** -0.1, rtol=0.01)
