"""Bad input gets one line naming the problem and the fix, a non-zero exit, and nothing half-written.

Each test is an entry of docs/reliability.md (the catalogue gives the command, exit code and
message). These are the fast ones (no training); the sweeps that train are in
test_reliability_sweep.py.
"""
import json
import os
import re
import stat

import numpy as np
import pandas as pd
import pytest

from transfer_scaling import cli, fileio
from transfer_scaling.errors import UsageError

TOY = """
from transfer_scaling.study import toy

def get_config():
  c = toy.config()
{extra}
  return c
"""


def run(capsys, *argv):
  code = cli.main(list(argv))
  out = capsys.readouterr()
  return code, out.out, out.err


def one_line(err: str) -> str:
  lines = [l for l in err.strip().splitlines() if l.strip()]
  assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
  return lines[0]


def config_file(tmp_path, extra="", name="cfg.py") -> str:
  path = tmp_path / name
  path.write_text(TOY.format(extra=extra))
  return str(path)


@pytest.mark.parametrize("extra, message", [
    ('  c.model.dtype = "float7"', "config.model.dtype='float7' is not a compute dtype"),
    ('  c.scratch.schedule = "linear"', "config.scratch.schedule='linear' is unknown; use one of constant, cosine"),
    ("  c.finetune.lrs = (-1e-3,)", "config.finetune.lrs has -0.001"),
    ("  c.batch_size = 0", "config.batch_size=0 must be a positive integer"),
    ("  c.model.seq_len = 0", "config.model.seq_len=0 must be a positive integer"),
    ("  c.eval_every = 0",
     "config.eval_every=0 is no cadence; give the steps between evaluations as a positive integer"),
    ("  c.max_members = 0", "config.max_members=0 must be a positive integer"),
    ("  c.seeds = ()", "config.seeds is empty"),
    ("  c.scratch.ceiling = 10", "config.scratch.ceiling=10 is below the first budget"),
    ("  c.scratch.lrs = (0.0, 1e-3)", "every learning rate must be a positive finite number"),
    ('  c.sizes = ("13k", "13k")', "config.sizes=('13k', '13k') repeats '13k'; list each value once"),
    ('  c.sizes = ("13k", "25k")\n  c.gap.sizes = ("13k", "13k")', "config.gap.sizes=('13k', '13k') repeats '13k'"),
    ("  c.seeds = (0, 1, 0)", "config.seeds=(0, 1, 0) repeats 0; list each value once"),
    ("  c.finetune.lrs = (1e-3, 0.001)", "config.finetune.lrs=(0.001, 0.001) repeats 0.001"),
    ("  c.scratch.warmups = (5, 5)", "config.scratch.warmups=(5, 5) repeats 5"),
])
def test_a_bad_config_value_fails_in_dry_run_and_sweep_before_anything_is_written(tmp_path, capsys, extra, message):
  cfg = config_file(tmp_path, extra)
  for extra_args in (["--dry-run"], []):
    code, _, err = run(capsys, "sweep", "--config", cfg, "--workdir", str(tmp_path / "w"), *extra_args)
    assert code == 2 and message in one_line(err)
  assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("body, message", [
    ("def get_config(:\n  pass\n", "line 1: invalid syntax"),
    ("import no_such_module\ndef get_config():\n  pass\n", "cannot be loaded: ModuleNotFoundError"),
    ("def get_config():\n  return {'study': 'x'}\n", "returned a dict, not an ml_collections.ConfigDict"),
    ("x = 1\n", "has no get_config()"),
])
def test_a_broken_config_file_is_one_line(tmp_path, capsys, body, message):
  path = tmp_path / "broken.py"
  path.write_text(body)
  code, _, err = run(capsys, "sweep", "--config", str(path), "--workdir", str(tmp_path / "w"), "--dry-run")
  assert code == 2 and message in one_line(err)


def test_a_config_that_is_a_folder_or_a_csv_is_one_line(tmp_path, capsys):
  csv = tmp_path / "runs.csv"
  csv.write_text("N,D,loss\n1e6,1e8,2.0\n")
  for path, message in ((tmp_path, "is a folder; give a config file in it"),
                        (csv, "is not a Python config file (.py with get_config())")):
    for argv in (["sweep", "--dry-run"], ["train"]):
      code, _, err = run(capsys, *argv, "--config", str(path), "--workdir", str(tmp_path / "w"))
      assert code == 2 and message in one_line(err)
  assert not (tmp_path / "w").exists()


def test_an_infinite_poll_is_refused(tmp_path, capsys):
  code, _, err = run(capsys, "sweep", "--config", config_file(tmp_path), "--workdir", str(tmp_path / "w"),
                     "--poll", "inf")
  assert code == 2 and "--poll inf must be a positive finite number of seconds" in one_line(err)
  assert not (tmp_path / "w").exists()


def test_an_unknown_override_is_one_line(tmp_path, capsys):
  code, _, err = run(capsys, "sweep", "--config", config_file(tmp_path), "--workdir", str(tmp_path / "w"),
                     "--config.scrach.lrs=(1e-3,)")
  assert code == 2 and "unknown config field 'scrach'" in one_line(err)


def test_a_workdir_that_is_a_file_or_read_only_is_refused(tmp_path, capsys):
  f = tmp_path / "file"
  f.write_text("x")
  code, _, err = run(capsys, "sweep", "--config", config_file(tmp_path), "--workdir", str(f))
  assert code == 2 and "is a file, not a folder" in one_line(err)
  if os.geteuid() == 0:
    pytest.skip("root writes anywhere: the read-only case needs an ordinary user")
  ro = tmp_path / "ro"
  ro.mkdir()
  ro.chmod(0o500)
  code, _, err = run(capsys, "sweep", "--config", config_file(tmp_path), "--workdir", str(ro / "w"))
  assert code == 2 and "cannot write" in one_line(err)


def test_api_shard_and_poll_are_checked():
  from transfer_scaling.study import runner, toy
  for shard in ((5, 2), ("0", 1), "0/1", (0,)):
    with pytest.raises(UsageError, match="shard"):
      runner.sweep(toy.config(), "/nonexistent/never/written", shard=shard)
  for poll_s in (0, float("inf")):
    with pytest.raises(UsageError, match="poll_s"):
      runner.sweep(toy.config(), "/nonexistent/never/written", poll_s=poll_s)
  assert not os.path.exists("/nonexistent/never/written")


# -- fitting and allocation ---------------------------------------------------------------------

def _csv(tmp_path, df, name="runs.csv"):
  path = tmp_path / name
  df.to_csv(path, index=False)
  return str(path)


def test_fit_refuses_data_that_cannot_determine_the_law(tmp_path, capsys):
  same = _csv(tmp_path, pd.DataFrame({"N": [1e6] * 25, "D": [1e8] * 25, "loss": 2.0 + 0.01 * np.arange(25)}))
  code, _, err = run(capsys, "fit", "chinchilla", "--csv", same, "--json", str(tmp_path / "f.json"))
  assert code == 2 and "only 1 distinct" in one_line(err) and not (tmp_path / "f.json").exists()


def test_fit_refuses_a_duplicated_column(tmp_path, capsys):
  path = tmp_path / "dup.csv"
  path.write_text("N,D,loss,D\n1e6,1e8,2.0,1e9\n1e7,1e9,1.9,1e9\n")
  code, _, err = run(capsys, "fit", "chinchilla", "--csv", str(path), "--json", str(tmp_path / "f.json"))
  assert code == 2 and "column(s) D appear more than once" in one_line(err)


def test_outputs_that_are_folders_are_refused_before_any_work(tmp_path, capsys):
  rng = np.random.default_rng(0)
  N, D = np.exp(rng.uniform(13, 20, 30)), np.exp(rng.uniform(18, 25, 30))
  ok = _csv(tmp_path, pd.DataFrame({"N": N, "D": D, "loss": 1.7 + 400 / N ** 0.34 + 2000 / D ** 0.37}))
  code, out, err = run(capsys, "fit", "chinchilla", "--csv", ok, "--json", str(tmp_path), "--bootstrap", "0")
  assert code == 2 and "is a folder" in one_line(err) and out == ""
  code, _, err = run(capsys, "results", "--workdir", str(tmp_path), "--csv", str(tmp_path))
  assert code == 2 and "is a folder" in one_line(err)


@pytest.mark.parametrize("args, message", [
    (["budget", "--params", "A=5,G=0.1,E=1,alpha=0.3,beta=0.4,Q=2", "--budget", "1e6", "--cost-p", "1",
      "--cost-f", "1"],
     "has no parameter(s) Q"),
    (["budget", "--params", "A=5,G=0.1,E=1,alpha=0.3", "--budget", "1e6", "--cost-p", "1", "--cost-f", "1"],
     "missing beta"),
    (["budget", "--params", "A=5,G=0.1,E=1,alpha=0.3,beta=0.4", "--budget", "1e6", "--cost-p", "1", "--cost-f", "1",
      "--plot", "{tmp}/out.gif"], "ending in .png, .pdf or .svg"),
    (["budget", "--params", "A=5,G=0.1,E=1,alpha=0.3,beta=0.4", "--budget", "1e6", "--cost-p", "1", "--cost-f", "1",
      "--plot", "{tmp}"], "is a folder"),
    (["compute", "--fit", "{tmp}/bad.json", "--flops", "1e21"], "is not a fit JSON"),
])
def test_allocate_refuses_nonsense_before_printing_a_result(tmp_path, capsys, args, message):
  (tmp_path / "bad.json").write_text("{not json")
  code, out, err = run(capsys, "allocate", *[a.format(tmp=tmp_path) for a in args])
  assert code == 2 and message in one_line(err) and out == ""


# -- corpora --------------------------------------------------------------------------------------

@pytest.fixture
def data_dir(tmp_path, monkeypatch):
  monkeypatch.setenv("TRANSFER_SCALING_DATA", str(tmp_path / "data"))
  return tmp_path


def test_corpora_add_leaves_nothing_half_registered(data_dir, capsys):
  from transfer_scaling.data import paths
  (data_dir / "tiny").mkdir()
  (data_dir / "tiny" / "a.txt").write_text("abc")
  code, _, err = run(capsys, "corpora", "add", "tiny", "--files", str(data_dir / "tiny"))
  assert code == 2 and "needs at least 3" in one_line(err)
  assert not os.path.exists(paths.corpus_dir("tiny"))
  code, _, err = run(capsys, "corpora", "add", "none", "--files", str(data_dir / "nothing" / "*.txt"))
  assert code == 2 and "matches no files" in one_line(err) and not os.path.exists(paths.corpus_dir("none"))
  code, _, err = run(capsys, "corpora", "add", "../../evil", "--files", str(data_dir / "tiny"))
  assert code == 2 and "may hold only letters" in one_line(err)


def test_a_user_corpus_with_a_damaged_spec_fails_only_the_studies_that_use_it(data_dir, capsys):
  from transfer_scaling.data import catalog
  spec = catalog.user_spec_path("broken")
  os.makedirs(os.path.dirname(spec))
  with open(spec, "w") as f:
    f.write('{"name": "bro')
  code, out, err = run(capsys, "corpora", "list")
  assert code == 0 and "python" in out and f"{spec} is damaged" in err
  code, _, err = run(capsys, "sweep", "--config", config_file(data_dir), "--workdir", str(data_dir / "w"), "--dry-run")
  assert code == 2 and "unknown corpus 'toy-prose'" in err.splitlines()[-1] and "Traceback" not in err
  code, _, err = run(capsys, "sweep", "--config", config_file(data_dir), "--workdir", str(data_dir / "w"), "--dry-run",
                     "--config.source=broken")
  assert code == 2 and f"{spec} is damaged" in one_line(err) and "corpora add" in err
  assert not (data_dir / "w").exists()


def test_corpora_add_skips_binary_files_with_a_warning(data_dir, capsys):
  files = data_dir / "mixed"
  files.mkdir()
  for i in range(6):
    (files / f"doc{i}.txt").write_text(f"document {i}: " + "some plain words here. " * 40)
  (files / "image.txt").write_bytes(bytes(range(256)) * 30)
  code, out, err = run(capsys, "corpora", "add", "mixed", "--files", str(files))
  assert code == 0 and "image.txt skipped: a binary file" in err and "1 binary file(s) skipped" in out
  from transfer_scaling.data import prepared
  assert b"\x01\x02\x03" not in bytes(prepared.load_splits("mixed")[0])


def test_written_files_get_the_usual_permissions(data_dir, capsys):
  files = data_dir / "perm"
  files.mkdir()
  for i in range(6):
    (files / f"doc{i}.txt").write_text(f"plain words here, document {i}. " * 60)  # distinct: not deduplicated
  umask = os.umask(0o022)
  os.umask(umask)
  assert cli.main(["corpora", "add", "perm", "--files", str(files)]) == 0
  from transfer_scaling.data import paths, prepared
  prepared.load_splits("perm")
  for name in ("meta.json", "train.npy", "spec.json"):
    assert stat.S_IMODE(os.stat(os.path.join(paths.corpus_dir("perm"), name)).st_mode) == 0o666 & ~umask, name
  fileio.write_json_atomic(str(data_dir / "x.json"), {})
  assert stat.S_IMODE(os.stat(data_dir / "x.json").st_mode) == 0o666 & ~umask


def test_a_corpus_read_once_is_not_served_after_its_text_changed(tmp_path, monkeypatch):
  # Another data dir (or the same corpus prepared again with other text) must be read afresh:
  # a study in one process after another must never train on the first one's bytes.
  from transfer_scaling.study import corpora, toy
  sizes = []
  for i, n_docs in enumerate((6, 9)):
    monkeypatch.setenv("TRANSFER_SCALING_DATA", str(tmp_path / f"data{i}"))
    toy.write_corpora(str(tmp_path / f"files{i}"), n_docs=n_docs, doc_chars=1500)
    sizes.append(sum(len(s) for s in corpora.splits("toy-code")))
  assert sizes[0] != sizes[1]


# -- advise ---------------------------------------------------------------------------------------

def test_advise_refuses_what_it_cannot_answer(tmp_path, capsys):
  base = ["--d-f", "4642", "--size", "56k"]
  code, _, err = run(capsys, "advise", "--workdir", str(tmp_path), "--target", "python", *base)
  assert code == 2 and "holds no study" in one_line(err)
  fileio.write_json_atomic(str(tmp_path / "study.json"), {"config": {"targets": ["python"]}})
  code, _, err = run(capsys, "advise", "--workdir", str(tmp_path), "--target", "german", *base)
  assert code == 2 and "has no target 'german'; its targets are python" in one_line(err)
  code, _, err = run(capsys, "advise", "--workdir", str(tmp_path), "--target", "python", *base)
  assert code == 2 and "no fitted laws for 'python'" in one_line(err) and "transfer-scaling analyze" in err
  for flag, value, message in (("--d-f", "0", "--d-f must be a positive number"),
                               ("--d-f", "lots", "--d-f 'lots' is not a number; give an amount of fine-tuning data"),
                               ("--cost-ratio", "inf", "--cost-ratio must be a positive finite number")):
    args = {"--d-f": "4642", "--size": "56k", flag: value}
    code, _, err = run(capsys, "advise", "--workdir", str(tmp_path), "--target", "python",
                       *[x for kv in args.items() for x in kv])
    assert code == 2 and message in one_line(err)


# -- damaged files in a workdir -------------------------------------------------------------------

def _workdir(tmp_path):
  """A toy study's workdir with study.json, one run record and fits, as sweep and analyze leave them."""
  from transfer_scaling.study import toy, workdir as workdir_lib
  from transfer_scaling.study.config import StudyConfig
  cfg = StudyConfig.from_dict(toy.config())
  wd = tmp_path / "w"
  corpora = {"hashes": {"toy-prose": "p0", "toy-code": "c0"},
             "sizes": {c: {"train": 10**6, "validation": 10**4, "test": 10**4} for c in ("toy-prose", "toy-code")}}
  fileio.write_json_atomic(workdir_lib.study_path(wd),
                           {"config": cfg.to_dict(), "study": cfg.study, "corpora": corpora})
  rec = {"id": "r0", "study": "toy", "stage": "pretrain", "source": "toy-prose", "target": "", "size": "13k",
         "N": 13000, "d_f": None, "init": "scratch", "p": None, "seed": 0, "group": "g", "member": 0, "valid_loss": 2.0,
         "test_loss": 2.0, "best_step": 40, "steps": 40, "budget": 40, "tokens": 5280, "flops": 1e9, "wall_s": 1.0,
         "status": "done", "run": {"lr": 3e-3}}
  fileio.write_json_atomic(workdir_lib.record_path(wd, "r0"), rec)
  fileio.write_json_atomic(wd / "fits" / "toy-code.json", {"joint": {}, "sizes": {"13k": 13000}, "N_range": [1, 2],
                                                            "D_F_range": [1, 2]})
  return wd, rec


@pytest.mark.parametrize("damage, message", [
    (lambda rec: "", "is damaged (empty)"),
    (lambda rec: '{"id": "r0", "stat', "is damaged (truncated or not JSON"),
    (lambda rec: "[1, 2]", "is damaged (it holds a list, not a run record)"),
    (lambda rec: json.dumps({k: v for k, v in rec.items() if k != "status"}), "is damaged (no status)"),
])
def test_a_damaged_run_record_is_one_line_naming_it(tmp_path, capsys, damage, message):
  wd, rec = _workdir(tmp_path)
  (wd / "runs" / "r0.json").write_text(damage(rec))
  for command in ("results", "analyze"):
    code, _, err = run(capsys, command, "--workdir", str(wd))
    line = one_line(err)
    assert code == 2 and message in line and "r0.json" in line and "delete it and rerun" in line, line
  assert not (wd / "report.md").exists()


def test_a_damaged_study_json_or_fits_file_is_one_line_naming_it(tmp_path, capsys):
  wd, _ = _workdir(tmp_path)
  advise = ["advise", "--workdir", str(wd), "--target", "toy-code", "--d-f", "2000", "--size", "13k"]
  good = (wd / "study.json").read_text()
  (wd / "study.json").write_text(good[:100])
  for argv in (["analyze", "--workdir", str(wd)], advise):
    code, _, err = run(capsys, *argv)
    assert code == 2 and "study.json is damaged (truncated" in one_line(err) and "rerun `transfer-scaling sweep" in err
  edited = json.loads(good)
  edited["config"]["targets"] = ["toy-german"]  # by hand
  (wd / "study.json").write_text(json.dumps(edited))
  for argv in (["analyze", "--workdir", str(wd)], advise[:4] + ["toy-german"] + advise[5:]):
    code, _, err = run(capsys, *argv)
    assert code == 2 and "names corpus 'toy-german', which its sweep never prepared" in one_line(err)
  (wd / "study.json").write_text(good)
  fits = wd / "fits" / "toy-code.json"
  fits.write_text(fits.read_text()[:20])
  code, _, err = run(capsys, *advise)
  assert code == 2 and "toy-code.json is damaged" in one_line(err) and "rerun `transfer-scaling analyze" in err


def test_sweep_refuses_a_damaged_run_record_before_writing(toy_env, tmp_path, capsys):
  wd = tmp_path / "w"
  (wd / "runs").mkdir(parents=True)
  (wd / "runs" / "abc.json").write_text('{"id": "ab')
  code, _, err = run(capsys, "sweep", "--config", config_file(tmp_path), "--workdir", str(wd))
  assert code == 2 and "abc.json is damaged" in one_line(err)
  assert not (wd / "study.json").exists()


def test_fit_refuses_rows_repeated_exactly(tmp_path, capsys):
  rng = np.random.default_rng(0)
  N, D = np.exp(rng.uniform(13, 20, 30)), np.exp(rng.uniform(18, 25, 30))
  df = pd.DataFrame({"N": N, "D": D, "loss": 1.7 + 400 / N ** 0.34 + 2000 / D ** 0.37})
  twice = _csv(tmp_path, pd.concat([df, df], ignore_index=True), "twice.csv")
  code, out, err = run(capsys, "fit", "chinchilla", "--csv", twice, "--json", str(tmp_path / "f.json"),
                       "--bootstrap", "0")
  line = one_line(err)
  assert (code == 2 and "30 row(s) repeat an earlier row exactly, on CSV line(s) 32, 33" in line
          and "(and 20 more)" in line)
  assert "line 32 = line 2" in line and "remove the copies" in line and out == "" and not (tmp_path / "f.json").exists()


@pytest.mark.parametrize("command", [["sweep", "--config", "{cfg}"], ["sweep", "--config", "{cfg}", "--dry-run"],
                                     ["train"], ["results"], ["analyze"], ["quickstart"],
                                     ["advise", "--target", "python", "--d-f", "1000", "--size", "13k"]])
def test_an_empty_workdir_is_refused_not_taken_as_the_current_folder(tmp_path, capsys, monkeypatch, command):
  monkeypatch.chdir(tmp_path)
  argv = [a.format(cfg=config_file(tmp_path)) for a in command]
  code, _, err = run(capsys, *argv[:1], "--workdir", "", *argv[1:])
  assert code == 2 and "--workdir is empty; name a folder" in one_line(err)
  assert sorted(os.listdir(tmp_path)) == ["cfg.py"]


def test_study_records_of_another_config_are_said_so_and_no_csv_line_is_named_for_a_table(tmp_path):
  from transfer_scaling import laws
  from transfer_scaling.report import analysis
  from transfer_scaling.study import toy
  from transfer_scaling.study.config import StudyConfig
  cfg = StudyConfig.from_dict(toy.config())
  stale = {f"old{i}": {"id": f"old{i}"} for i in range(8)}
  plan = {"runs": ["new0", "new1"], "settled": True, "sizes": {}}
  with pytest.raises(UsageError, match="none of the 8 run records belongs to a run of this study's config"):
    analysis.analyze(cfg, stale, plan)
  df = pd.DataFrame({"N": [1e6, 2e6, 4e6, 8e6], "D": [1e8, 2e8, 4e8, 8e8], "loss": [2.0, -1.0, 1.8, 1.7]})
  with pytest.raises(UsageError) as e:
    laws.fit("kaplan", df, bootstrap=0)
  assert "row 2 has loss = -1.0" in str(e.value) and "CSV" not in str(e.value)


def test_advise_takes_any_ladder_name_and_numbers_with_a_suffix():
  from transfer_scaling import ladder
  from transfer_scaling.commands import advise
  from transfer_scaling.study.config import model_config
  fits = {"sizes": {"13k": 13_000}}
  assert advise._size("13k", fits) == 13_000
  assert advise._size("85M", fits) == ladder.n_params(model_config("85M", {}))
  assert advise._size("85e6", fits) == advise._size("85000k", fits) == 85e6
  assert advise._number("5k", "--d-f") == 5000.0
  from transfer_scaling.report import advice
  assert advice._amount(0.5) == "0.5" and advice._amount(4642.0) == "4,642"  # 0.5 printed as 0 before
  for text, message in (("big", "--size 'big' is not a number; give a ladder name (13k, 25k, 56k, 100k"),
                        ("-3", "--size -3 must be a positive number of parameters; give a ladder name")):
    with pytest.raises(UsageError, match=re.escape(message)):
      advise._size(text, fits)


def test_bench_json_naming_a_folder_is_refused_naming_the_flag(tmp_path, capsys):
  code, _, err = run(capsys, "bench", "train", "--d-model", "32", "--n-layers", "1", "--steps", "1", "--json",
                     str(tmp_path))
  line = one_line(err)
  assert code == 2 and line.startswith(f"error: --json {tmp_path} is a folder") and ".tmp" not in line


def test_a_write_left_unfinished_by_a_kill_is_cleared_once_stale_and_never_read(tmp_path):
  import time
  from transfer_scaling.study import workdir as workdir_lib
  runs = tmp_path / "runs"
  runs.mkdir()
  (runs / "abc.json").write_text('{"id": "abc", "status": "done"}')  # a record as far as this test goes
  old, new = runs / ".tmp-x1abc.json", runs / ".tmp-x2abc.json"
  old.write_text('{"id": "abc"')
  new.write_text('{"id": "abc"')
  past = time.time() - 2 * workdir_lib.ORPHAN_AGE_S
  os.utime(old, (past, past))
  assert [p.name for p in runs.glob("*.json") if not p.name.startswith(".")] == ["abc.json"]
  assert workdir_lib.clear_unfinished_writes(str(tmp_path)) == [str(old)]
  assert sorted(p.name for p in runs.iterdir()) == [".tmp-x2abc.json", "abc.json"]  # a write in flight is kept
