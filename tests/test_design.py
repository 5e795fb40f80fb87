"""The import rules docs/design.md states, and ideas defined once."""
import ast
import dataclasses
import os
import subprocess
import sys

from transfer_scaling.study import config as study_config
from transfer_scaling.train import engine, optim

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "transfer_scaling")


def _imports(path):
  tree = ast.parse(open(path).read(), path)
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      yield node.module


def test_the_library_never_imports_a_config_file():
  bad = [(os.path.relpath(os.path.join(d, f), REPO), m) for d, _, files in os.walk(PACKAGE) for f in files
         if f.endswith(".py") for m in _imports(os.path.join(d, f)) if m == "configs" or m.startswith("configs.")]
  assert not bad, bad


def test_the_analysis_never_imports_the_model():
  # report/ reads records and the plan the sweep wrote: N is in them, no model is built.
  code = ("import importlib, pkgutil, sys, transfer_scaling.report as r\n"
          "for m in pkgutil.iter_modules(r.__path__): importlib.import_module('transfer_scaling.report.' + m.name)\n"
          "print(sorted(m for m in sys.modules if m in ('flax', 'transfer_scaling.model', "
          "'transfer_scaling.study.plan')"
          " or m.startswith('transfer_scaling.train.engine')))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONPATH": REPO})
  assert out.stdout.strip() == "[]", out.stdout


def test_the_optimizer_defaults_are_one_definition():
  assert study_config.Optimizer is optim.AdamW
  step = engine.StepConfig(model=None, batch_size=1)
  assert {f.name: getattr(step, f.name) for f in dataclasses.fields(optim.AdamW)} == dataclasses.asdict(optim.DEFAULTS)


def test_a_new_gap_law_is_one_registry_entry(second_gap_law):
  # A second gap-law form, registered in a temporary entry: the config accepts it, and the analysis, identify,
  # the report's table, headline words and figure title handle it with no edit anywhere else.
  from types import SimpleNamespace

  import numpy as np
  import pandas as pd
  import pytest

  from transfer_scaling.errors import UsageError
  from transfer_scaling.report import analysis, figures, markdown

  # The law: conftest.second_gap_law, registered for this test only.
  cfg = study_config.StudyConfig.from_dict({"analysis": {"gap_law": "test_gap_form"}})
  with pytest.raises(UsageError, match="no gap law"):
    study_config.StudyConfig.from_dict({"analysis": {"gap_law": "kaplan"}})
  truth = dict(A=4.0, C=0.3, E=1.0, a=0.5, b=0.3)
  rng = np.random.default_rng(0)
  rows = pd.DataFrame([(p, f, s) for p in (10, 100, 1000) for f in (1e3, 1e4, 1e5) for s in range(2)],
                      columns=["p", "D_F", "seed"])
  noise = np.exp(rng.normal(0, 0.003, len(rows)))
  rows["loss"] = second_gap_law.predict(truth, {"p": rows["p"], "f": rows["D_F"]}) * noise
  rows["size"] = "13k"
  setting = analysis.Setting(study="s", source="a", targets=("b",), sizes={"13k": 1e4}, gap_size="13k",
                             analysis=dataclasses.replace(cfg.analysis, bootstrap=20))
  res = SimpleNamespace(gap=None, notes=[])
  analysis._gap(setting, res, rows, None)
  g = res.gap
  assert g.fit is not None and g.fit.law == "test_gap_form", res.notes
  assert set(g.identified) == {"a", "C", "b"}  # the hinted, profiled parameters
  md = "\n".join(markdown._gap(setting, SimpleNamespace(gap=g), {8: "fig8"}))
  assert "L(p, f) = E + (A p^-a + C) f^-b" in md
  for name in ("A", "a", "C", "b", "E"):
    assert f"| {name} | " in md
  title = figures.law_title(second_gap_law, g.fit.params, {k: v.status for k, v in g.identified.items()})
  assert title.startswith("L = ") and "{" not in title
