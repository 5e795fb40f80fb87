"""A law is a plain definition: named parameters, covariate columns, a log-space predictor, a start grid.

Adding your own takes a few lines:

  register(Law(
      name="power", params=("A", "alpha"), log_params=("A",), covariates=("D",), target="loss",
      log_predict=lambda q, lx: q["A"] - q["alpha"] * lx["D"],   # log L = log A - alpha log D
      grid={"A": [0.0, 2.0], "alpha": [0.1, 0.5]}))

Conventions (they keep every fit well conditioned):
- `q` maps each parameter name to its *fitted coordinate*: log(value) for names in
  `log_params` (so positive parameters stay positive), the value itself otherwise.
- `lx` maps each covariate name to log(covariate) (the raw value for names in
  `linear_covariates`, such as a 0/1 indicator); `log_predict` returns log(target).
- `grid` gives starting coordinates per parameter; the fitter tries their Cartesian product.
- `derived` maps a name to f(params) -> value, computed on natural-scale parameters (also
  for every bootstrap refit, so they get standard errors and intervals too).
- `functions` maps a name to f(params, **inputs) -> values: quantities of the law at given
  inputs (the effective-data multiplier at (N, D_F), the compute-optimal N at a budget C);
  every consumer evaluates a law's formula through its entry, never by typing it again.
- `roles` names the study roles the law may fill (ROLES: "scratch", the from-scratch form of
  the joint fit; "transfer", D_T(N, D_F) inside it; "gap", L(p, f) on the pre-training axis), and
  `hints` says, per parameter the study reports, how (a Param: its identification rule, its
  scale, what the design must hold, how it is labelled), in the order the report shows them.
  The study's analysis, identify, the report and its figures read these and name no law.
"""
import dataclasses
import itertools
from typing import Callable, Mapping, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from transfer_scaling.errors import UsageError


# The roles a law fills in a study, and the covariates and target each needs.
ROLES = {"scratch": (("N", "D"), "loss"), "transfer": (("N", "D_F"), "D_T"), "gap": (("p", "f"), "loss")}
# A name that fills a role by combining its laws instead of naming one: scratch_law "average" fits every law in the
# scratch role and pools the transfer quantities over the forms the runs do not reject (laws/joint.py).
AVERAGE = "average"
COMBINED = {"scratch": (AVERAGE,)}


@dataclasses.dataclass(frozen=True)
class Param:
  """How a study reports one parameter of a law in a role (identify.parameter reads it).

  rule: "width" (determined when its 95% interval is at most `limit` wide), "ratio" (at most a factor
  `limit` from lo to hi), or "" (determined when the profile likelihood bounds it); log_scale: a positive
  scale, profiled and drawn on a log axis, not determined when bounded only over many decades;
  profile: a verdict is given (from the profile likelihood), else the report prints its bootstrap
  interval only; headline: in the study's one-line summary; needs: (design key, least value, what is
  counted, the fix) a design must meet before the parameter can be determined; fix: what would determine
  it (formatted with the design); note: appended to a determined or bounded verdict; paper: the published
  value beside it; explain(verdict, fit, design) -> verdict: the law's own reading of its verdict; zero: 0 is a
  value the law means (a gap G of 0: no gap), where its other parameters must be positive (allocation checks).
  """
  rule: str = ""
  limit: float = 0.0
  log_scale: bool = False
  profile: bool = True
  headline: bool = False
  needs: tuple = ()
  fix: str = ""
  note: str = ""
  paper: str = ""
  fmt: str = ".3g"
  explain: Optional[Callable] = None
  zero: bool = False


@dataclasses.dataclass(frozen=True, eq=False)  # hashed by identity: a jit static argument
class Law:
  name: str
  params: tuple
  log_params: tuple
  covariates: tuple
  target: str
  log_predict: Callable
  grid: Mapping[str, Sequence[float]]
  derived: Mapping[str, Callable] = dataclasses.field(default_factory=dict)
  functions: Mapping[str, Callable] = dataclasses.field(default_factory=dict)
  linear_covariates: tuple = ()
  doc: str = ""
  roles: tuple = ()
  hints: Mapping[str, Param] = dataclasses.field(default_factory=dict)
  template: str = ""     # the formula with {param} slots, for a figure's title
  parts: Mapping[str, str] = dataclasses.field(default_factory=dict)  # a joint law: role -> the law it is built of
  # A form that only the runs fix (the per-size flexible form: its parameters are per size measured): build(data)
  # -> the Law fitted to them, registered under its own name with built_from set; fit() and the joint fit call it.
  build: Optional[Callable] = None
  built_from: str = ""   # the entry whose build made this law (law_names lists that entry, not this one)

  def __post_init__(self):
    object.__setattr__(self, "params", tuple(self.params))
    object.__setattr__(self, "log_params", tuple(self.log_params))
    object.__setattr__(self, "covariates", tuple(self.covariates))
    object.__setattr__(self, "linear_covariates", tuple(self.linear_covariates))
    unknown = set(self.log_params) - set(self.params)
    if unknown:
      raise UsageError(f"law {self.name!r}: log_params {sorted(unknown)} are not among params {self.params}")
    object.__setattr__(self, "roles", tuple(self.roles))
    bad = sorted(set(self.roles) - set(ROLES))
    if bad:
      raise UsageError(f"law {self.name!r}: unknown role(s) {bad}; the roles are {', '.join(ROLES)}")
    for role in self.roles:
      covariates, target = ROLES[role]
      if set(self.covariates) != set(covariates) or self.target != target:
        raise UsageError(f"law {self.name!r}: the {role} role needs covariates {covariates} and target {target!r}, "
                         f"not {self.covariates} and {self.target!r}")
    unknown = sorted(set(self.hints) - set(self.params))
    if unknown:
      raise UsageError(f"law {self.name!r}: hints for {unknown}, which are not among params {self.params}")
    if set(self.grid) != set(self.params):
      raise UsageError(f"law {self.name!r}: grid must give starting values for exactly {self.params}, "
                       f"got {sorted(self.grid)}")

  @property
  def formula(self) -> str:
    """The formula as `doc` writes it, before its citation: what a report prints."""
    return self.doc.rsplit(" (", 1)[0]

  @property
  def columns(self) -> tuple:
    return self.covariates + (self.target,)

  def start_grid(self) -> np.ndarray:
    """All starting points, [S, P] in fitted coordinates (log for log_params)."""
    axes = [np.asarray(self.grid[p], dtype=np.float64) for p in self.params]
    return np.array(list(itertools.product(*axes)), dtype=np.float64).reshape(-1, len(self.params))

  def to_coords(self, params: Mapping[str, float]) -> np.ndarray:
    """Natural-scale parameters -> fitted coordinates [P]."""
    with np.errstate(divide="ignore"):  # a zero gap G is -inf in log space, which log-sum-exp handles
      return np.array([np.log(params[p]) if p in self.log_params else params[p] for p in self.params], np.float64)

  def from_coords(self, theta_P) -> dict:
    """Fitted coordinates [..., P] -> natural-scale parameters {name: [...]}."""
    theta_P = np.asarray(theta_P, np.float64)
    with np.errstate(over="ignore"):  # a wild bootstrap replicate may leave log space: inf, judged by the caller
      return {p: (np.exp(theta_P[..., i]) if p in self.log_params else theta_P[..., i])
              for i, p in enumerate(self.params)}

  def covariate_coords(self, data) -> dict:
    """{covariate: log(values)} (raw values for linear covariates), float64 numpy."""
    return {c: (np.asarray(data[c], np.float64) if c in self.linear_covariates
                else np.log(np.asarray(data[c], np.float64))) for c in self.covariates}

  def predict(self, params: Mapping[str, float], data) -> np.ndarray:
    """Predicted target at `data` (a mapping or DataFrame of covariates).

    params: natural-scale values, scalars (-> [n]) or arrays of shape [B] such as bootstrap
    replicates (-> [B, n]).
    """
    with jax.enable_x64(True):
      coords = np.asarray(self.to_coords(params), np.float64)  # [P] or [P, B]
      q = {p: jnp.asarray(c)[..., None] if coords.ndim > 1 else jnp.asarray(c) for p, c in zip(self.params, coords)}
      lx = {c: jnp.asarray(v) for c, v in self.covariate_coords(data).items()}
      return np.exp(np.asarray(self.log_predict(q, lx)))


_LAWS: dict = {}


def register(law: Law, overwrite: bool = False) -> Law:
  """Make `law` available to fit(..) and the command line under law.name."""
  if law.name in _LAWS and not overwrite:
    raise UsageError(f"a law named {law.name!r} is already registered; pass overwrite=True to replace it")
  _LAWS[law.name] = law
  return law


def get_law(name) -> Law:
  """The registered law called `name` (a Law passes through)."""
  if isinstance(name, Law):
    return name
  if name not in _LAWS:
    raise UsageError(f"unknown law {name!r}; choose one of: {', '.join(sorted(_LAWS))} (or register your own)")
  return _LAWS[name]


def law_names(role: str = "") -> list:
  """The registered laws, or those that may fill `role` (ROLES); a law built from runs is listed as its entry."""
  return sorted(n for n, law in _LAWS.items() if (not role or role in law.roles) and not law.built_from)


def role_names(role: str) -> list:
  """What a config may name for `role`: its laws, and the names that combine them (COMBINED)."""
  return law_names(role) + list(COMBINED.get(role, ()))


def in_role(name, role: str, where: str) -> Law:
  """The registered law `name`, checked to fill `role`; `where` names the setting in the message."""
  law = get_law(name)
  if role not in law.roles:
    raise UsageError(f"{where}={law.name!r} is no {role} law; use one of {', '.join(law_names(role))} (or register "
                     f"a Law with roles=({role!r},))")
  return law


def check_role(name, role: str, where: str) -> str:
  """`name` checked to be a law in `role` or a name that combines them (COMBINED); `where` names the setting."""
  if name in COMBINED.get(role, ()):
    return name
  try:
    return in_role(name, role, where).name
  except UsageError:
    raise UsageError(f"{where}={name!r} is no {role} law; use one of {', '.join(role_names(role))} (or register "
                     f"a Law with roles=({role!r},))") from None


def unregister(name: str) -> None:
  """Forget the law `name` (a temporary entry, e.g. a test's)."""
  _LAWS.pop(name, None)
