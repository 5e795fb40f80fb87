"""A study extended by config overrides: advise's "what to run next" is a command `sweep` takes as it is."""
import dataclasses
import json
import math
import re
import shlex

import pytest

from transfer_scaling import cli, config as config_lib, fileio, ladder
from transfer_scaling.errors import UsageError
from transfer_scaling.study import extend, runner, toy, workdir as workdir_lib
from transfer_scaling.study.config import StudyConfig


def _study(tmp_path, **changes):
  """A workdir holding what a sweep writes first (study.json with its corpora), no runs trained."""
  c = toy.config()
  c.sizes, c.seeds = ("13k", "25k"), (0, 1)
  c.pretrain.update(seeds=(0, 1), num_kept=2)
  c.gap.sizes = ("13k",)
  c.gap.d_f.min, c.gap.d_f.max, c.gap.d_f.num = 1000, 8000, 2
  for k, v in changes.items():
    c[k] = v
  cfg, found = runner.prepare(c)
  w = str(tmp_path / "w")
  fileio.write_json_atomic(workdir_lib.study_path(w), {"config": cfg.to_dict(), "study": cfg.study,
                                                       "corpora": dataclasses.asdict(found)})
  # A record for every run the plan asks for, round after round (losses falling with D; nothing trained).
  while True:
    new = [r for r in runner.current_plan(cfg, found, w).runs if r.id not in workdir_lib.read_records(w)]
    if not new:
      return w, cfg
    for r in new:
      loss = 3.0 - 0.1 * math.log(r.d_f or 1e4) - (0.2 if r.p else 0.0)
      fileio.write_json_atomic(str(fileio.path(w) / "runs" / f"{r.id}.json"), {
          "id": r.id, "study": cfg.study, "stage": r.stage, "source": cfg.source, "target": r.corpus,
          "size": r.size, "N": ladder.n_params(cfg.model_config(r.size)), "d_f": r.d_f, "init": r.init, "p": r.p,
          "seed": r.seed, "group": "g", "member": 0, "valid_loss": loss, "test_loss": loss, "best_step": 10,
          "steps": 20, "budget": r.budget, "tokens": 2560, "flops": 1.0, "wall_s": 1.0, "status": "done",
          "run": r.to_json()})


def test_a_saved_study_is_a_config_and_takes_overrides(tmp_path, toy_env):
  w, cfg = _study(tmp_path)
  again = StudyConfig.from_dict(config_lib.load_config(workdir_lib.study_path(w)))
  assert again == cfg
  more = StudyConfig.from_dict(config_lib.load_config(workdir_lib.study_path(w),
                                                      ["--config.seeds=(0,1,2)", '--config.gap.sizes=("13k","25k")']))
  assert more.seeds == (0, 1, 2) and more.gap.sizes == ("13k", "25k")
  fileio.write_text_atomic(str(tmp_path / "x" / "study.json"), json.dumps({"study": "s"}))
  with pytest.raises(UsageError, match="not a study.json written by `transfer-scaling sweep`"):
    config_lib.load_config(str(tmp_path / "x" / "study.json"))


@pytest.mark.parametrize("what,changes", [("a seed", {"seeds": (0, 1, 2)}),
                                          ("pre-training varied at 25k", {"gap.sizes": ("13k", "25k")}),
                                          ("longer pre-training", {"pretrain.steps": 80})])
def test_the_recommended_command_plans_exactly_the_runs_advise_priced(tmp_path, toy_env, capsys, what, changes):
  w, cfg = _study(tmp_path)
  e = extend.extension(extend.Study.read(w), "toy-code", what, changes)
  assert e.runs and e.seconds > 0
  argv = shlex.split(e.command(w))
  assert argv[:2] == ["transfer-scaling", "sweep"]
  capsys.readouterr()
  assert cli.main(argv[1:] + ["--dry-run"]) == 0
  out = capsys.readouterr().out
  new = int(re.search(r"; (\d+) new", out).group(1))
  assert new == len(e.runs)  # every seed tunes in the toy: no followers to add
  grown = StudyConfig.from_dict(config_lib.load_config(argv[3], argv[6:]))
  assert extend.keys(grown, e.runs, "toy-code") <= e.keys


def test_followers_of_new_cells_are_priced_and_counted(tmp_path, toy_env):
  # With two tuning seeds of four, a new cell is planned on seeds 0 and 1 first; seeds 2 and 3 follow later.
  w, cfg = _study(tmp_path, seeds=(0, 1, 2, 3))
  c = cfg.to_dict()
  c["finetune"]["tune_seeds"] = c["scratch"]["tune_seeds"] = 2
  fileio.write_json_atomic(workdir_lib.study_path(w), {**workdir_lib.read_study(w), "config": c})
  e = extend.extension(extend.Study.read(w), "toy-code", "25k", {"gap.sizes": ("13k", "25k")})
  fine = [r for r in e.runs if r.stage == "finetune"]
  assert {r.seed for r in fine} == {0, 1, 2, 3}
  assert sum(bool(r.follows) for r in fine) == sum(not r.follows for r in fine)
