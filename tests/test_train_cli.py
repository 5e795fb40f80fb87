"""`transfer-scaling train`: a real tiny run, and bad input as one-line errors that write nothing."""
import json

import pytest

from transfer_scaling import cli

TINY = ["--config.model.size=", "--config.model.d_model=16", "--config.model.seq_len=16",
        "--config.train.batch_size=8", "--config.train.max_steps=10", "--config.train.eval_every=5",
        "--config.train.steps_per_call=5", "--config.train.tensorboard=False"]


@pytest.mark.slow
def test_train_command_writes_results(tmp_path, capsys):
  w = tmp_path / "w"
  with_tb = [a for a in TINY if "tensorboard" not in a]
  assert cli.main(["train", "--workdir", str(w), "--config.seeds=(0,1)", "--config.lrs=(1e-3,1e-2)", *with_tb]) == 0
  out = capsys.readouterr().out
  assert "member1: valid_loss=" in out and "test_loss=" in out and "status=" in out
  rows = json.loads((w / "results.json").read_text())
  assert [r["lr"] for r in rows] == [1e-3, 1e-2] and all(r["steps"] == 10 for r in rows)
  assert (w / "best" / "member_1.msgpack").exists() and (w / "metrics.jsonl").exists()
  events = list((w / "tb").glob("events.out.tfevents.*"))
  assert len(events) == 1 and b"eval/loss/member1" in events[0].read_bytes()


def test_unknown_config_field(tmp_path, capsys):
  assert cli.main(["train", "--workdir", str(tmp_path / "w"), "--config.train.max_step=3"]) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith("error: unknown config field 'train.max_step'") and "max_steps" in err
  assert "\n" not in err and not (tmp_path / "w").exists()


def test_resume_without_checkpoint(tmp_path, capsys):
  assert cli.main(["train", "--workdir", str(tmp_path / "w"), "--resume", *TINY]) == 2
  err = capsys.readouterr().err.strip()
  assert "no checkpoint to resume" in err and "drop --resume" in err and "\n" not in err
  assert not (tmp_path / "w").exists()


def test_mismatched_seeds_and_lrs(tmp_path, capsys):
  assert cli.main(["train", "--workdir", str(tmp_path / "w"), "--config.seeds=(0,1,2)",
                   "--config.lrs=(1e-3,1e-2)", *TINY]) == 2
  assert "3 seeds but 2 lrs" in capsys.readouterr().err
  assert not (tmp_path / "w").exists()


def test_train_builds_its_model_with_the_studys_builder_on_a_typed_config():
  from transfer_scaling.commands import train
  from transfer_scaling.config import load_config
  from transfer_scaling.study.config import model_config
  cfg = train.TrainConfig.from_dict(load_config("train", ["--config.model.seq_len=32"]))
  assert cfg.model_config() == model_config("13k", {"seq_len": 32, "dtype": "float32"})
  explicit = train.TrainConfig.from_dict(load_config("train", TINY))
  assert (explicit.model_config().d_model, explicit.train.max_steps) == (16, 10)


def test_a_bad_model_shape_fails_before_anything_is_written(tmp_path, capsys):
  assert cli.main(["train", "--workdir", str(tmp_path / "w"), "--config.model.size=", "--config.model.d_model=30",
                   "--config.model.n_heads=4"]) == 2
  err = capsys.readouterr().err.strip()
  assert "config.model: n_heads=4 does not divide" in err and "\n" not in err and not (tmp_path / "w").exists()
