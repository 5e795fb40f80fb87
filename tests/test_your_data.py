"""docs/your_data.md as a user follows it: every command in its code blocks, as written, on a generated corpus.

The commands are read from the markdown, so the walk-through and this test cannot drift apart. Only the
scale changes: the sweeps get the toy study's settings as --config overrides (toy-prose as the source),
so the whole walk-through runs in a few minutes instead of ten.
"""
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

from transfer_scaling.study import toy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(REPO, "docs", "your_data.md")


def commands(markdown: str) -> list:
  """Every `transfer-scaling ...` line of the fenced code blocks, split as a shell would."""
  blocks = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.M | re.S)
  return [shlex.split(line) for b in blocks for line in b.splitlines() if line.startswith("transfer-scaling ")]


def tiny_overrides() -> list:
  """--config.x=y for every field where the toy study differs from configs/your_corpus.py (name and targets aside)."""
  from transfer_scaling import config as config_lib
  out = []

  def walk(mine: dict, tiny: dict, prefix: str):
    for k, v in tiny.items():
      if isinstance(v, dict):
        walk(mine[k], v, f"{prefix}{k}.")
      elif mine[k] != v and f"{prefix}{k}" not in ("study", "targets"):
        out.append(f"--config.{prefix}{k}={v if isinstance(v, str) else repr(v)}")

  tiny = toy.config()
  # Enough for a joint fit, which advise reads: N varies, two seeds, and the low-data regime named.
  tiny.sizes, tiny.seeds, tiny.bracket.rounds, tiny.analysis.low_data_max_d_f = ("13k", "25k"), (0, 1), 3, 8000
  walk(config_lib.load_config("your_corpus").to_dict(), tiny.to_dict(), "")
  return out


def changelog(rng, n_chars: int) -> str:
  """Text unlike the toy source: changelog entries of made-up package names, versions and verbs."""
  syl = ["ka", "lo", "mi", "zu", "re", "ta", "vo", "ni", "se", "du", "po", "ge"]
  verbs = ["fixed", "added", "removed", "updated", "renamed", "bumped"]
  out, n = [], 0
  while n < n_chars:
    name = "".join(rng.choice(syl, size=rng.integers(2, 4)))
    entry = (f"{name} ({rng.integers(1, 9)}.{rng.integers(0, 20)}-{rng.integers(1, 5)}) unstable; urgency=low\n"
             + "".join(f"  * {rng.choice(verbs)} {''.join(rng.choice(syl, size=3))} for #{rng.integers(100, 9999)}\n"
                       for _ in range(rng.integers(1, 4))) + "\n")
    out.append(entry)
    n += len(entry)
  return "".join(out)


def test_the_walk_through_names_the_template_and_its_steps():
  cmds = commands(open(DOC).read())
  assert [c[1] for c in cmds] == ["corpora", "sweep", "sweep", "analyze", "advise"]
  assert all("--config.targets=(\"mydata\",)" in c for c in cmds if c[1] == "sweep")
  assert "--dry-run" in cmds[1] and "--dry-run" not in cmds[2]


@pytest.mark.slow  # a toy study of two sizes, its analysis and the advice: about three minutes on 2 cores
def test_every_command_of_the_walk_through_runs_as_written(toy_env, tmp_path):
  cwd = tmp_path / "walk"
  rng = np.random.default_rng(0)
  for i in range(40):  # the user's folder: text in nested folders, as the doc's glob expects
    folder = cwd / "my_texts" / f"part{i % 3}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"note{i:03d}.txt").write_text(changelog(rng, 4000))
  env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
  tiny = tiny_overrides()
  out = {}
  for cmd in commands(open(DOC).read()):
    assert cmd[0] == "transfer-scaling"
    argv = [sys.executable, "-m", "transfer_scaling.cli", *cmd[1:]] + (tiny if "--config" in cmd else [])
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, (cmd, r.stdout[-2000:], r.stderr[-3000:])
    out.setdefault(cmd[1], []).append(r.stdout + r.stderr)
  assert "mydata: 40 documents" in out["corpora"][0] and "split by document" in out["corpora"][0]
  dry, sweep = out["sweep"]
  assert "estimated time: about" in dry and " new, 0 with records" in dry
  assert "ensemble 1 of " in sweep and "sweep done" in sweep and "\r" not in sweep
  assert "mydata: D_T = k D_F^alpha N^beta" in out["analyze"][0] and (cwd / "runs" / "mydata" / "report.md").exists()
  assert "multiplier" in out["advise"][0]
