"""`transfer-scaling fit` and `transfer-scaling allocate` end to end, in process."""
import json

import numpy as np
import pandas as pd
import pytest

from transfer_scaling.cli import main


def _hernandez_csv(path, n=30):
  rng = np.random.default_rng(0)
  df = pd.DataFrame({"N": np.geomspace(1e5, 1e8, n), "D_F": rng.permutation(np.geomspace(1e4, 1e8, n))})
  df["D_T"] = 1e3 * df["D_F"] ** 0.2 * df["N"] ** 0.4 * np.exp(rng.normal(0, 0.05, n))
  df.to_csv(path, index=False)
  return df


def test_fit_writes_json_and_prints_table(tmp_path, capsys):
  _hernandez_csv(tmp_path / "t.csv")
  rc = main(["fit", "hernandez", "--csv", str(tmp_path / "t.csv"), "--bootstrap", "50", "--seed", "3",
             "--drop-highest", "2", "--json", str(tmp_path / "out.json")])
  assert rc == 0
  out = json.loads((tmp_path / "out.json").read_text())
  assert out["law"] == "hernandez" and out["n_points"] == 28 and out["converged"]
  assert set(out["params"]) == {"k", "alpha", "beta"}
  assert set(out["stderr"]) >= {"k", "alpha", "beta"} and len(out["ci95"]["alpha"]) == 2
  assert out["n_starts"] == 80 and 1 <= out["n_converged"] <= 80 and out["objective"] > 0
  assert abs(out["params"]["alpha"] - 0.2) < 0.05
  assert "alpha" in capsys.readouterr().out


def test_fit_with_a_seed_column_resamples_whole_seeds(tmp_path):
  # Runs of one seed share their data, so the bootstrap must draw seeds, not rows.
  rng = np.random.default_rng(1)
  grid = pd.DataFrame([(n, d, s) for n in (1e5, 1e6, 1e7) for d in (1e4, 1e5, 1e6, 1e7) for s in range(3)],
                      columns=["N", "D_F", "seed"])
  shared = rng.normal(0, 0.05, 3)[grid["seed"]]
  grid["D_T"] = 1e3 * grid["D_F"] ** 0.2 * grid["N"] ** 0.4 * np.exp(shared + rng.normal(0, 0.01, len(grid)))
  grid.to_csv(tmp_path / "t.csv", index=False)
  assert main(["fit", "hernandez", "--csv", str(tmp_path / "t.csv"), "--bootstrap", "50", "--drop-highest", "1",
               "--json", str(tmp_path / "out.json")]) == 0
  out = json.loads((tmp_path / "out.json").read_text())
  assert out["resample"] == "seeds" and out["n_points"] == 35


def test_fit_help_lists_every_registered_law_with_its_columns(capsys, second_gap_law):
  with pytest.raises(SystemExit):
    main(["fit", "--help"])
  out = " ".join(capsys.readouterr().out.split())
  assert "hernandez (N,D_F,D_T)" in out and "test_gap_form (p,f,loss)" in out


def test_fit_bad_input_exits_2_naming_the_problem(tmp_path, capsys):
  df = _hernandez_csv(tmp_path / "t.csv")
  df.loc[4, "D_T"] = -3.0
  df.to_csv(tmp_path / "bad.csv", index=False)
  assert main(["fit", "hernandez", "--csv", str(tmp_path / "bad.csv"), "--json", str(tmp_path / "o.json")]) == 2
  assert "row 5 (CSV line 6) has D_T = -3.0" in capsys.readouterr().err
  assert main(["fit", "hernandez", "--csv", str(tmp_path / "nope.csv"), "--json", str(tmp_path / "o.json")]) == 2
  assert "no such CSV file" in capsys.readouterr().err
  df.drop(columns="N").to_csv(tmp_path / "nocol.csv", index=False)
  assert main(["fit", "hernandez", "--csv", str(tmp_path / "nocol.csv"), "--json", str(tmp_path / "o.json")]) == 2
  assert "missing N" in capsys.readouterr().err
  assert main(["fit", "gpt", "--csv", str(tmp_path / "t.csv"), "--json", str(tmp_path / "o.json")]) == 2
  assert "unknown law 'gpt'" in capsys.readouterr().err
  assert not (tmp_path / "o.json").exists()


def test_allocate_budget_and_compute(tmp_path, capsys):
  rc = main(["allocate", "budget", "--params", "A=5,G=0,E=1,alpha=0.3,beta=0.5", "--budget", "1e6",
             "--cost-p", "1", "--cost-f", "10", "--plot", str(tmp_path / "b.png")])
  assert rc == 0 and (tmp_path / "b.png").stat().st_size > 1000
  assert "37.5% of the budget on pre-training" in capsys.readouterr().out
  (tmp_path / "fit.json").write_text(json.dumps({"law": "chinchilla", "params": dict(
      E=1.8172, A=477.8, B=2143.9, alpha=0.3473, beta=0.3672)}))
  rc = main(["allocate", "compute", "--fit", str(tmp_path / "fit.json"), "--flops", "1e21", "1e23",
             "--plot", str(tmp_path / "c.png")])
  assert rc == 0 and (tmp_path / "c.png").exists()
  assert "a = 0.5139" in capsys.readouterr().out
  assert main(["allocate", "budget", "--fit", str(tmp_path / "fit.json"), "--budget", "1",
               "--cost-p", "1", "--cost-f", "1"]) == 2
  assert "holds a 'chinchilla' fit; this needs a gap law's fit (barnett)" in capsys.readouterr().err


def test_allocate_budget_takes_the_law_of_the_fit(tmp_path, capsys, second_gap_law):
  # Any law in the gap role: its own parameters, intervals and figure, named by the fit, not by the command.
  (tmp_path / "fit.json").write_text(json.dumps({"law": "test_gap_form", "params": dict(A=5.0, C=0.0, E=1.0, a=0.3,
                                                                                       b=0.5),
                                                 "ci95": {"C": [0.0, 0.1], "a": [0.2, 0.4]}}))
  assert main(["allocate", "budget", "--fit", str(tmp_path / "fit.json"), "--budget", "1e6", "--cost-p", "1",
               "--cost-f", "10", "--plot", str(tmp_path / "b.png")]) == 0
  out = capsys.readouterr().out
  assert "37.5% of the budget on pre-training" in out  # a / (a + b) with no gap
  assert "95% intervals of the fit: C [0, 0.1], a [0.2, 0.4]" in out and (tmp_path / "b.png").exists()


def test_fit_that_does_not_converge_prints_no_numbers(tmp_path, capsys):
  _hernandez_csv(tmp_path / "t.csv")
  with pytest.warns(UserWarning, match="did not converge"):
    rc = main(["fit", "hernandez", "--csv", str(tmp_path / "t.csv"), "--max-iter", "11", "--bootstrap", "0",
               "--json", str(tmp_path / "out.json")])
  captured = capsys.readouterr()
  assert rc == 1 and not (tmp_path / "out.json").exists()
  assert "did not converge" in captured.err and "NOT CONVERGED" in captured.err and captured.out == ""


def _study_fits(folder, G_status="not determined", n=40):
  """A study's fits/python.json as `analyze` writes it: the gap fit with bootstrap refits, some outside the domain."""
  rng = np.random.default_rng(0)
  params = dict(A=5.0, G=1e-3, E=1.0, alpha=0.3, beta=0.5)
  boot = {k: (v * np.exp(rng.normal(0, 0.1, n))).tolist() for k, v in params.items()}
  boot["beta"][0] = -0.05  # a refit where more fine-tuning data does not help: no optimal split
  (folder / "fits").mkdir(parents=True)
  (folder / "fits" / "python.json").write_text(json.dumps({
      "study": "s", "target": "python", "joint": {"law": "hernandez_joint", "params": {}},
      "gap": {"law": "barnett", "params": params, "bootstrap": boot, "resample": "seeds",
              "G": {"status": G_status, "text": f"G is {G_status} by this grid"}}}))


def test_allocate_budget_reads_a_studys_fits_and_prints_intervals(tmp_path, capsys):
  _study_fits(tmp_path / "w")
  for where in (tmp_path / "w", tmp_path / "w" / "fits" / "python.json"):
    assert main(["allocate", "budget", "--fit", str(where), "--budget", "1e6", "--cost-p", "1", "--cost-f", "10"]) == 0
    out = capsys.readouterr().out
    assert "95% interval over 39 of 40 bootstrap refits (1 have a negative exponent" in out
    assert "pre-training share [" in out and " steps" in out and " bytes" in out
    assert "G is not determined by this grid" in out  # the gap's status travels with its value
  assert main(["allocate", "compute", "--fit", str(tmp_path / "w"), "--flops", "1e21"]) == 2
  assert "needs a chinchilla fit" in capsys.readouterr().err


def test_allocate_names_the_compute_coefficient_apart_from_the_transfer_gap(tmp_path, capsys):
  (tmp_path / "fit.json").write_text(json.dumps({"law": "chinchilla", "params": dict(
      E=1.8172, A=477.8, B=2143.9, alpha=0.3473, beta=0.3672), "ci95": {"alpha": [0.3, 0.4]}}))
  assert main(["allocate", "compute", "--fit", str(tmp_path / "fit.json"), "--flops", "1e21"]) == 0
  out = capsys.readouterr().out
  assert "N_opt = K (C/6)^a" in out and "K = " in out and "G =" not in out
  assert "95% intervals of the fit: alpha [0.3, 0.4]" in out
