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
