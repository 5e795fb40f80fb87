"""Runs trained anywhere: a runs file goes through the study's analysis, a study's runs round-trip
through the file, simulated runs in tokens give back their law, and bad files are refused in one line."""
import json
import os

import numpy as np
import pandas as pd
import pytest

from test_report_analyze import CORPORA, _config, _plan, _records
from transfer_scaling import cli, fileio, laws
from transfer_scaling.laws import coverage
from transfer_scaling.report import runs_file, workdir_report
from transfer_scaling.study import workdir as workdir_lib

TRUTH = dict(N_c=2.0e7, D_c=4.0e6, alpha_N=0.25, alpha_D=0.3, k=20.0, alpha=0.6, beta=0.3)
DESIGN = coverage.Design(sizes=(12768, 25472, 56640), scratch_d=(1000, 2154, 4642, 10000, 21544, 46416),
                         d_f=(1000, 2154, 4642, 10000), seeds=3, reference=(56640, 4642))


def run(capsys, *argv):
  code = cli.main(list(argv))
  out, err = capsys.readouterr()
  return code, out, err


@pytest.fixture(scope="module")
def study_workdir(tmp_path_factory):
  """A study's workdir (records whose losses follow known laws, one failed and one cut-off run), analysed."""
  cfg = _config(gap=False)
  recs = _records(cfg, fail=lambda r: r.stage == "scratch" and r.size == "13k" and r.seed == 0 and r.d_f == 1000,
                  cut=lambda r: r.stage == "finetune" and r.size == "56k" and r.seed == 1 and r.d_f == 1000)
  wd = tmp_path_factory.mktemp("study")
  fileio.write_json_atomic(workdir_lib.study_path(str(wd)), {"config": cfg.to_dict(), "study": cfg.study,
                                                             "corpora": CORPORA})
  for rid, rec in recs.items():
    fileio.write_json_atomic(workdir_lib.record_path(str(wd), rid), rec)
  workdir_lib.write_plan(str(wd), _plan(cfg, recs))
  workdir_report.write(str(wd))
  return wd


def _numbers(report: str) -> list:
  """The lines of a report that carry its numbers: the joint fit, the per-cell D_T, the gain, the held-out size."""
  keep = ("| k |", "| alpha |", "| beta |", "Fine-tuning gain", "**Figure 10.**", "Joint fit (")
  cell = lambda ln: ln.startswith("| ") and ln.count("|") == 7 and ln[2].isdigit()
  return [ln for ln in report.splitlines() if ln.startswith(keep) or cell(ln)]


def test_a_studys_runs_round_trip_through_the_runs_file(study_workdir, tmp_path, capsys):
  """A study's runs, exported with `results --csv` and analysed with `analyze --runs`, give its report's numbers."""
  wd = study_workdir
  csv = tmp_path / "runs.csv"
  code, _, err = run(capsys, "results", "--workdir", str(wd), "--csv", str(csv))
  assert code == 0, err
  assert list(pd.read_csv(csv).columns)[:5] == ["arm", "target", "size", "N", "D"]
  out = tmp_path / "out"
  code, stdout, err = run(capsys, "analyze", "--runs", str(csv), "--workdir", str(out), "--bootstrap", "50",
                          "--low-data-max-d-f", "8000")
  assert code == 0, err
  mine, theirs = (open(p / "report.md").read() for p in (out, wd))
  nums = _numbers(theirs)
  assert len(nums) >= 12 and _numbers(mine) == nums
  fits = [json.loads((p / "fits" / "toy-code.json").read_text()) for p in (out, wd)]
  for k in ("joint", "identified", "N_range", "D_F_range", "heldout", "boundary"):
    assert fits[0][k] == fits[1][k], k  # every bootstrap replicate too
  pd.testing.assert_frame_equal(*(pd.read_csv(p / "effective_data_toy-code.csv") for p in (out, wd)))
  # The failed and the cut-off run are listed as in the study's report, and left out of both.
  assert "training loss became NaN" in mine and "Runs cut off at the ceiling" in mine
  assert "D_T in bytes" in mine and "nats/byte" in mine
  for f in ("fits/toy-code.json", "results.csv", "effective_data_toy-code.csv", "figures/fig1_loss_vs_data.png"):
    assert os.path.exists(out / f), f
  # advise reads the runs' workdir as a study's: the one target need not be named, a size by its name.
  code, text, err = run(capsys, "advise", "--workdir", str(out), "--d-f", "4000", "--size", "25k")
  assert code == 0, err
  code, text2, _ = run(capsys, "advise", "--workdir", str(wd), "--target", "toy-code", "--d-f", "4000", "--size", "25k")
  assert text == text2


def _simulated(tmp_path) -> str:
  sc, ft = coverage.simulate("transfer_kaplan", TRUTH, DESIGN, 0.01, np.random.default_rng(0))
  rows = pd.concat([sc.assign(arm="scratch"), ft.rename(columns={"D_F": "D"}).assign(arm="finetune")])
  path = tmp_path / "runs.jsonl"
  path.write_text("".join(json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}) + "\n"
                          for r in rows[["arm", "N", "D", "seed", "loss"]].to_dict("records")))
  return str(path)


def test_simulated_runs_in_tokens_give_back_their_law_and_say_tokens(tmp_path, capsys):
  out = tmp_path / "out"
  code, stdout, err = run(capsys, "analyze", "--runs", _simulated(tmp_path), "--units", "tokens", "--workdir", str(out),
                          "--bootstrap", "100")
  assert code == 0, err
  fits = json.loads((out / "fits" / "target.json").read_text())
  p = fits["joint"]["params"]
  assert abs(p["alpha"] - TRUTH["alpha"]) < 0.15 and abs(p["beta"] - TRUTH["beta"]) < 0.2, p
  true_mult = laws.get_law("transfer_kaplan").functions["multiplier"](TRUTH, np.array([25472.0]), np.array([2154.0]))
  assert "25.5k" in fits["sizes"] and fits["units"] == "tokens"
  report = (out / "report.md").read_text()
  assert "tokens" in report and "nats/token" in report and "bytes" not in report and "nats/byte" not in report
  assert "tokens" in stdout and "bytes" not in stdout
  code, text, err = run(capsys, "advise", "--workdir", str(out), "--d-f", "2154", "--size", "25.5k")
  assert code == 0, err
  assert "D_F = 2,154 tokens" in text and "nats/token" in text and "bytes" not in text
  lo, hi = (float(x) for x in text.split("multiplier (D_F + D_T) / D_F: ")[1].split("[")[1].split("]")[0].split(","))
  assert lo <= true_mult[0] <= hi


GOOD = "arm,N,D,seed,loss\n" + "".join(
    f"{arm},{n},{d},{s},{3.0 - 0.1 * s - (0.3 if arm == 'finetune' else 0)}\n"
    for arm in ("scratch", "finetune") for n in (1000, 2000) for d in (100, 200) for s in (0, 1))


def _with_units(text: str, values) -> str:
  head, *rows = text.strip().split("\n")
  return "\n".join([head + ",units"] + [f"{r},{v}" for r, v in zip(rows, values)]) + "\n"


@pytest.mark.parametrize("name,text,units,message", [
    ("missing column", GOOD.replace(",seed", ",sd", 1), "tokens", "lacks the column(s) seed"),
    ("unknown arm", GOOD.replace("finetune,1000", "pretrain,1000", 1), "tokens", "arm 'pretrain' is unknown"),
    ("non-positive N", GOOD.replace("scratch,1000,100", "scratch,0,100", 1), "tokens", "N='0' is not positive"),
    ("non-positive D", GOOD.replace("scratch,1000,100", "scratch,1000,-5", 1), "tokens", "D='-5' is not positive"),
    ("non-positive loss", GOOD.replace(",3.0\n", ",0\n", 1), "tokens", "loss='0' is not positive"),
    ("non-finite loss", GOOD.replace(",3.0\n", ",nan\n", 1), "tokens", "loss='nan' is not a finite number"),
    ("infinite loss", GOOD.replace(",3.0\n", ",inf\n", 1), "tokens", "loss='inf' is not a finite number"),
    ("no scratch runs for a size",
     "\n".join(ln for ln in GOOD.splitlines() if not ln.startswith("scratch,2000")) + "\n",
     "tokens", "fine-tuned runs of target 'target' at N = 2,000 have no finished from-scratch runs"),
    ("duplicate rows", GOOD + "scratch,1000,100,0,2.9\n", "tokens", "are the same run"),
    ("neither CSV nor JSON lines", "\x89PNG\r\n\x1a\n\xff\xfe", "tokens", "neither CSV nor JSON lines"),
    ("a text file", "these are my runs\nthey went well\n", "tokens", "neither a CSV whose header names the columns"),
    ("broken JSON lines", '{"arm": "scratch", "N": 1\n', "tokens", "line 1 is not JSON"),
    ("mixed units", _with_units(GOOD, ["tokens"] * 8 + ["bytes"] * 8), None, "mixes units (bytes, tokens)"),
    ("units not declared", GOOD, None, "give --units bytes|tokens|characters"),
    ("units twice, differently", _with_units(GOOD, ["bytes"] * 16), "tokens",
     "says its units are bytes but --units is tokens"),
])
def test_a_bad_runs_file_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys, name, text, units, message):
  path = tmp_path / "runs.csv"
  path.write_bytes(text.encode("latin-1"))
  out = tmp_path / "out"
  code, stdout, err = run(capsys, "analyze", "--runs", str(path), "--workdir", str(out),
                          *(["--units", units] if units else []))
  assert code == 2, (name, err)
  assert len(err.strip().splitlines()) == 1 and message in err, (name, err)
  assert not out.exists() and not stdout


def test_the_base_of_the_bad_files_is_accepted(tmp_path):
  # Guards the table above: each refusal comes from its one change, not from the base file.
  path = tmp_path / "runs.csv"
  path.write_text(GOOD)
  setting, t = runs_file.load(path, units="tokens")
  assert len(t) == 16 and set(t["stage"]) == {"scratch", "finetune"} and set(t["size"]) == {"1k", "2k"}
  assert setting.units == "tokens" and setting.last_p is None and setting.gap_size is None


def test_analysis_options_without_a_runs_file_are_refused(tmp_path, capsys):
  code, _, err = run(capsys, "analyze", "--workdir", str(tmp_path), "--bootstrap", "10")
  assert code == 2 and "--bootstrap describe(s) a runs file" in err


def test_the_example_file_in_the_docs_is_read():
  here = os.path.join(os.path.dirname(__file__), "..", "docs", "examples", "runs.csv")
  setting, t = runs_file.load(here, units="tokens")
  assert setting.units == "tokens" and len(t) > 20 and set(t["stage"]) == {"scratch", "finetune"}


def test_an_analysis_without_a_joint_fit_leaves_no_earlier_fits_behind(study_workdir, tmp_path, capsys):
  csv = tmp_path / "runs.csv"
  assert run(capsys, "results", "--workdir", str(study_workdir), "--csv", str(csv))[0] == 0
  out = tmp_path / "out"
  assert run(capsys, "analyze", "--runs", str(csv), "--workdir", str(out), "--bootstrap", "20")[0] == 0
  assert (out / "fits" / "toy-code.json").exists()
  runs = pd.read_csv(csv)
  runs[runs["size"] == runs["size"].iloc[0]].to_csv(csv, index=False)  # one size: no joint fit
  code, _, err = run(capsys, "analyze", "--runs", str(csv), "--workdir", str(out), "--bootstrap", "20")
  assert code == 0, err
  assert not (out / "fits" / "toy-code.json").exists()
  code, _, err = run(capsys, "advise", "--workdir", str(out), "--d-f", "2000", "--size", "13k")
  assert code != 0 and "no fitted laws for 'toy-code'" in err
