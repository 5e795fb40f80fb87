"""ml_collections config files with `--config.some.field=value` overrides.

A config is a Python file with `get_config(arg=None)` returning a ConfigDict, as
in big_vision and nanodo; `path.py:arg` passes `arg`. Overrides are type-checked
against the existing field: an unknown field or a wrong type is a UsageError.
"""
import ast
import importlib.util
import inspect
import os

import ml_collections

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError

_REPO_CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")


def configs_dir() -> str:
  """configs/ of this checkout, or, in an installed package, the copy shipped as transfer_scaling.configs."""
  if os.path.isdir(_REPO_CONFIGS):
    return _REPO_CONFIGS
  try:
    found = importlib.util.find_spec("transfer_scaling.configs")
  except ImportError:
    found = None
  return list(found.submodule_search_locations)[0] if found and found.submodule_search_locations else _REPO_CONFIGS


def _saved_study(path: str) -> ml_collections.ConfigDict:
  """The config a sweep saved in WORKDIR/study.json: a study extended (advise's `what to run next`) or resumed
  without its config file."""
  p = fileio.path(path)
  if not p.exists():
    raise UsageError(f"config {path} does not exist; give a workdir's study.json (written by `transfer-scaling "
                     "sweep`) or a config file")
  meta = fileio.read_json_checked(p, "give a config file instead")
  if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
    raise UsageError(f"{path} is not a study.json written by `transfer-scaling sweep` (no config section); "
                     "give a config file instead")
  return ml_collections.ConfigDict(meta["config"])


def resolve_config_path(path: str) -> str:
  """Accepts a file path or a bare config name from configs/ (e.g. `quickstart`)."""
  if os.path.isdir(path):
    raise UsageError(f"config {path} is a folder; give a config file in it, e.g. {os.path.join(path, 'NAME.py')}")
  if os.path.exists(path):
    if not path.endswith(".py"):
      raise UsageError(f"config {path} is not a Python config file (.py with get_config()); give one, e.g. "
                       "configs/quickstart.py (a CSV of measurements goes to `transfer-scaling fit --csv`)")
    return path
  root = configs_dir()
  candidate = os.path.join(root, path if path.endswith(".py") else path + ".py")
  if os.path.exists(candidate):
    return candidate
  known = sorted(f[:-3] for f in os.listdir(root) if f.endswith(".py") and not f.startswith("_")) \
      if os.path.isdir(root) else []
  raise UsageError(f"config {path!r} not found; give a path to a .py file or one of: {', '.join(known)}")


def load_config(spec: str, overrides=()) -> ml_collections.ConfigDict:
  if spec.endswith("study.json"):
    config = _saved_study(spec)
    apply_overrides(config, overrides)
    return config
  path, _, arg = spec.partition(":")
  path = resolve_config_path(path)
  module_spec = importlib.util.spec_from_file_location(f"_config_{abs(hash(path))}", path)
  module = importlib.util.module_from_spec(module_spec)
  try:
    module_spec.loader.exec_module(module)
  except SyntaxError as e:
    raise UsageError(f"{path} line {e.lineno}: {e.msg}; fix the config file") from None
  except Exception as e:  # an import that fails, a name that is not defined, ...
    raise UsageError(f"{path} cannot be loaded: {type(e).__name__}: {e}; fix the config file") from None
  if not hasattr(module, "get_config"):
    raise UsageError(f"{path} has no get_config(); a config file defines get_config() -> ConfigDict")
  if arg and not inspect.signature(module.get_config).parameters:
    raise UsageError(f"{path} takes no ':{arg}' argument; drop it (get_config() has no parameters)")
  try:
    config = module.get_config(arg) if arg else module.get_config()
  except UsageError:
    raise
  except Exception as e:
    raise UsageError(f"{path}: get_config() failed: {type(e).__name__}: {e}; fix the config file") from None
  if not isinstance(config, ml_collections.ConfigDict):
    raise UsageError(f"{path}: get_config() returned a {type(config).__name__}, not an ml_collections.ConfigDict; "
                     "return ml_collections.ConfigDict(...)")
  apply_overrides(config, overrides)
  return config


def split_config_args(argv):
  """Separates `--config.x=y` overrides from the other arguments."""
  overrides, rest = [], []
  for a in argv:
    (overrides if a.startswith("--config.") else rest).append(a)
  return overrides, rest


def apply_overrides(config: ml_collections.ConfigDict, overrides) -> None:
  for item in overrides:
    if not item.startswith("--config.") or "=" not in item:
      raise UsageError(f"override {item!r} must look like --config.some.field=value")
    key, value = item[len("--config."):].split("=", 1)
    _set(config, key, value)


def _set(config, dotted: str, raw: str) -> None:
  *parents, leaf = dotted.split(".")
  node = config
  for i, p in enumerate(parents):
    if not isinstance(node, ml_collections.ConfigDict) or p not in node:
      raise UsageError(f"unknown config field {'.'.join(parents[:i + 1])!r} in --config.{dotted}; "
                       "known fields there: "
                       f"{', '.join(sorted(node.keys())) if isinstance(node, ml_collections.ConfigDict) else '(none)'}")
    node = node[p]
  if leaf not in node:
    raise UsageError(f"unknown config field {dotted!r}; known fields{' in ' + '.'.join(parents) if parents else ''}: "
                     f"{', '.join(sorted(node.keys()))}")
  old = node[leaf]
  value = _parse(raw, old)
  try:
    node[leaf] = value
  except TypeError as e:
    raise UsageError(f"--config.{dotted}={raw}: expected {type(old).__name__}, "
                     f"got {type(value).__name__} ({e})") from None


def _parse(raw: str, old):
  if isinstance(old, str):
    return raw
  if isinstance(old, bool):
    if raw.lower() in ("true", "1", "yes"):
      return True
    if raw.lower() in ("false", "0", "no"):
      return False
    raise UsageError(f"expected true or false, got {raw!r}")
  try:
    value = ast.literal_eval(raw)
  except (ValueError, SyntaxError):
    if old is None:
      return raw
    raise UsageError(f"cannot read {raw!r} as {type(old).__name__}") from None
  if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
    value = float(value)
  if isinstance(old, tuple) and isinstance(value, list):
    value = tuple(value)
  if isinstance(old, list):  # a study.json's sequences are lists
    value = list(value) if isinstance(value, (tuple, list)) else [value]
  if isinstance(old, tuple) and not isinstance(value, tuple):
    value = (value,)
  return value
