"""The built-in laws. Each is one register(...) call; change a form here and everything follows.

A law in a study role is registered the same way with its `roles` and `hints` (registry.Param):
register_scratch for a from-scratch form of the joint fit (it also gives the joint law's names and
starts), register_transfer for the D_T(N, D_F) inside it, register for a gap law L(p, f). A form that only the runs
fix (the per-size `flexible` one) is an entry with a `build`, which registers the law for the runs at hand. The joint
law of a scratch form and a transfer law is built from the two by joint_law, never typed.

Grids are in fitted coordinates (log for log_params). The Chinchilla grid is the one of
Hoffmann et al. (2022) approach 3 (4,500 starts); the others are wide enough for losses in
nats per byte and data from 1e3 to 1e12. Every formula is written once, as a log-space
function below, and every law and consumer (allocation, report, notebooks) evaluates it
through the registry: law.predict, law.derived, law.functions.
"""
import jax.numpy as jnp
import numpy as np
from jax.numpy import logaddexp

import math

from transfer_scaling.errors import UsageError
from transfer_scaling.laws import registry
from transfer_scaling.laws.registry import _LAWS, Law, Param, get_law, in_role, register


def _chinchilla_log(q, lN, lD):
  # log L = log(E + A N^-alpha + B D^-beta)
  return logaddexp(logaddexp(q["A"] - q["alpha"] * lN, q["B"] - q["beta"] * lD), q["E"])


def _kaplan_log(q, lN, lD):
  # log L = alpha_D * log[(N_c/N)^(alpha_N/alpha_D) + D_c/D], with log D possibly an expression
  aN, aD = jnp.exp(q["alpha_N"]), jnp.exp(q["alpha_D"])
  return aD * logaddexp(aN / aD * (q["N_c"] - lN), q["D_c"] - lD)


def _transfer_log(q, lN, lDF):
  # log D_T = log k + alpha log D_F + beta log N (Hernandez et al. 2021, eq. 1.1)
  return q["k"] + q["alpha"] * lDF + q["beta"] * lN


def _barnett_log(q, lp, lf):
  # log L = log[(A p^-alpha + G) f^-beta + E] (Barnett 2024, reconstructed: correct it here only)
  return logaddexp(logaddexp(q["A"] - q["alpha"] * lp, q["G"]) - q["beta"] * lf, q["E"])


def _chinchilla_opt(p):
  # Compute-optimal split of C = 6 N D (Hoffmann et al. 2022, eq. 4): N_opt = K (C/6)^a, D_opt = (C/6)^b / K.
  # The paper calls K "G"; here G is the transfer gap of the barnett law, so this one is K.
  s = p["alpha"] + p["beta"]
  # numpy's power: a negative base (an exponent fitted below 0) gives nan, where Python's gives a complex number
  ratio = np.asarray(p["alpha"] * p["A"] / (p["beta"] * p["B"]), np.float64)
  with np.errstate(invalid="ignore"):
    return {"a": p["beta"] / s, "b": p["alpha"] / s, "K": np.power(ratio, 1 / np.asarray(s, np.float64))}


def _compute_optimal(p, C):
  """(N_opt, D_opt) for compute budgets C (FLOPs) under a chinchilla fit."""
  o = _chinchilla_opt(p)
  C = np.asarray(C, np.float64)
  return o["K"] * (C / 6) ** o["a"], (C / 6) ** o["b"] / o["K"]


def _transfer_functions(t: Law):
  """D_T, D_E and the multiplier (D_F + D_T) / D_F at (N, D_F), from the transfer law t's parameters."""
  def d_t(p, N, D_F):
    return t.predict({k: p[k] for k in t.params}, {"N": N, "D_F": D_F})

  def d_e(p, N, D_F):
    return np.asarray(D_F, np.float64) + d_t(p, N, D_F)

  return {"D_T": d_t, "D_E": d_e, "multiplier": lambda p, N, D_F: d_e(p, N, D_F) / np.asarray(D_F, np.float64)}


# The joint fit: its scratch form's parameter names there and its starts, per scratch and transfer law.
_JOINT = {}
# The laws of the study's roles unless a study (config.analysis) or a caller names others: named here only.
TRANSFER = "hernandez"  # D_T(N, D_F) inside the joint fit
GAP = "barnett"         # L(p, f): the study's gap law, and budget allocation's and the notebooks' law


def register_scratch(law: Law, joint: dict, overwrite: bool = False) -> Law:
  """A from-scratch form L(N, D) of the joint fit; joint: {"grid": starts of its parameters in the joint fit,
  "rename": {its name: the joint fit's} where a name is also the transfer law's}."""
  _JOINT[law.name] = {"rename": dict(joint.get("rename", {})), "grid": dict(joint["grid"])}
  return register(law, overwrite)


def register_transfer(law: Law, joint: dict, overwrite: bool = False) -> Law:
  """A transfer law D_T(N, D_F); joint: {"grid": starts of its parameters in the joint fit}."""
  _JOINT[law.name] = {"grid": dict(joint["grid"])}
  law = Law(**{**{f: getattr(law, f) for f in law.__dataclass_fields__},
               "functions": {**_transfer_functions(law), **law.functions}})
  return register(law, overwrite)


def joint_name(scratch: str, transfer: str = TRANSFER) -> str:
  return f"transfer_{scratch}" if transfer == TRANSFER else f"{transfer}_{scratch}"


def joint_law(scratch: str, transfer: str = TRANSFER) -> Law:
  """From-scratch L(N, D) and fine-tuned L(N, D_F + D_T(N, D_F)) with the same scratch parameters (registered once).

  Hernandez et al. 2021, eq. 6.1, generalised to any scratch form and transfer law and fitted
  jointly to both arms: rows with pretrained = 0 are from-scratch runs on D bytes, rows with
  pretrained = 1 fine-tuned runs on D = D_F bytes.
  """
  name = joint_name(scratch, transfer)
  if name in _LAWS:
    return _LAWS[name]
  s, t = in_role(scratch, "scratch", "scratch_law"), in_role(transfer, "transfer", "transfer_law")
  if s.build:
    raise UsageError(f"scratch_law={s.name!r} is built from the runs: join the law it builds for them "
                     "(law.build(runs).name)")
  rename = _JOINT[s.name]["rename"]
  names = tuple(rename.get(p, p) for p in s.params)

  def log_predict(q, lx):
    sq = {p: q[rename.get(p, p)] for p in s.params}
    l_eff = logaddexp(lx["D"], t.log_predict({p: q[p] for p in t.params}, {"N": lx["N"], "D_F": lx["D"]}))
    return s.log_predict(sq, {"N": lx["N"], "D": jnp.where(lx["pretrained"] > 0.5, l_eff, lx["D"])})

  d_t = t.formula.split(" = ", 1)[-1]
  return register(Law(
      name=name,
      doc=f"{s.doc.split(' (')[0]} from scratch; fine-tuned: the same with D = D_F + {d_t} "
          "(Hernandez et al. 2021, eq. 6.1), both arms fitted together",
      params=names + t.params,
      log_params=tuple(rename.get(p, p) for p in s.log_params) + t.log_params,
      covariates=("N", "D", "pretrained"), linear_covariates=("pretrained",), target="loss",
      log_predict=log_predict, grid={**_JOINT[s.name]["grid"], **_JOINT[t.name]["grid"]},
      derived=dict(t.derived), hints={**{rename.get(p, p): h for p, h in s.hints.items()}, **t.hints},
      template=t.template, parts={"scratch": s.name, "transfer": t.name},
      functions={**_transfer_functions(t), "scratch_params": lambda p: {o: p[rename.get(o, o)] for o in s.params}},
  ))


_NEEDS_D_F = ("d_f", 3, "D_F value(s) in the low-data regime",
              "measure 3 or more D_F spanning at least a decade in the low-data regime")

register_transfer(Law(
    name="hernandez",
    doc="D_T = k D_F^alpha N^beta (Hernandez et al. 2021, eq. 1.1), fitted on log D_T",
    params=("k", "alpha", "beta"),
    log_params=("k",),
    covariates=("N", "D_F"),
    target="D_T",
    log_predict=lambda q, lx: _transfer_log(q, lx["N"], lx["D_F"]),
    grid={"k": np.arange(-10.0, 11, 5), "alpha": [0.0, 0.25, 0.5, 1.0], "beta": [0.0, 0.25, 0.5, 1.0]},
    derived={"beta/alpha": lambda p: p["beta"] / p["alpha"]},
    roles=("transfer",),
    template="D_T = {k} D_F^{alpha} N^{beta}",
    # paper: Hernandez et al. 2021, Table 1. The design's keys are those identify.parameter is given.
    hints={"k": Param(rule="ratio", limit=2.0, log_scale=True, needs=(_NEEDS_D_F,),
                      fix="a wider D_F and N range (k trades off against alpha and beta)",
                      note="k is D_T at D_F = 1 and N = 1, far outside the grid: read D_T and the multiplier at the "
                           "design centre", paper="1.9e4 (characters, BPE tokens)"),
           "alpha": Param(rule="width", limit=0.5, headline=True, needs=(_NEEDS_D_F,), fmt=".2f", paper="0.18",
                          fix="D_F over more than the present {d_f_decades:.1f} decades (and more seeds)"),
           "beta": Param(rule="width", limit=0.5, headline=True, fmt=".2f", paper="0.38",
                         needs=(("sizes", 3, "model size(s) in the low-data fit",
                                 "measure 3 or more sizes spanning at least a decade of N"),),
                         fix="more sizes, spanning more than the present {n_decades:.1f} decades of N")},
), joint={"grid": {"k": [-5.0, 0.0, 5.0], "alpha": [0.2, 0.6], "beta": [0.2, 0.6]}})

register_scratch(Law(
    name="chinchilla",
    doc="L(N, D) = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022)",
    params=("E", "A", "B", "alpha", "beta"),
    log_params=("E", "A", "B"),
    covariates=("N", "D"),
    target="loss",
    log_predict=lambda q, lx: _chinchilla_log(q, lx["N"], lx["D"]),
    grid={"E": np.arange(-1, 1.01, 0.5), "A": np.arange(0, 26, 5.0), "B": np.arange(0, 26, 5.0),
          "alpha": np.arange(0, 2.01, 0.5), "beta": np.arange(0, 2.01, 0.5)},
    derived={"a": lambda p: _chinchilla_opt(p)["a"], "b": lambda p: _chinchilla_opt(p)["b"],
             "K": lambda p: _chinchilla_opt(p)["K"]},
    functions={"compute_optimal": _compute_optimal},
    roles=("scratch",),
), joint={"rename": {"alpha": "alpha_N", "beta": "beta_D"},
          "grid": {"E": [-0.5, 0.5], "A": [0.0, 5.0, 10.0], "B": [0.0, 5.0, 10.0], "alpha_N": [0.25, 0.75],
                   "beta_D": [0.25, 0.75]}})

register_scratch(Law(
    name="kaplan",
    doc="L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (Kaplan et al. 2020, eq. 1.5)",
    params=("N_c", "D_c", "alpha_N", "alpha_D"),
    log_params=("N_c", "D_c", "alpha_N", "alpha_D"),  # exponents positive: alpha_D divides
    covariates=("N", "D"),
    target="loss",
    log_predict=lambda q, lx: _kaplan_log(q, lx["N"], lx["D"]),
    grid={"N_c": np.arange(5.0, 41, 5), "D_c": np.arange(5.0, 41, 5),
          "alpha_N": np.log([0.03, 0.1, 0.3, 1.0]), "alpha_D": np.log([0.03, 0.1, 0.3, 1.0])},
    derived={"alpha_N/alpha_D": lambda p: p["alpha_N"] / p["alpha_D"]},
    roles=("scratch",),
), joint={"grid": {"N_c": [10.0, 20.0, 30.0], "D_c": [10.0, 20.0, 30.0], "alpha_N": np.log([0.05, 0.2]),
                   "alpha_D": np.log([0.05, 0.2])}})

joint_law("chinchilla")
joint_law("kaplan")


def _gap_reach(v, fit, design):
  """G's verdict read against the law's form: pre-training's term A p^-alpha at the largest p measured, and where
  it would fall below G (how far a grid must pre-train before G shows)."""
  p_max = design["p_max"]
  A, alpha, G = fit.params["A"], fit.params["alpha"], fit.params["G"]
  reach = A * p_max ** -alpha
  if v.status == "determined" and reach > G:
    v.text += (f"; at the largest p ({p_max:,.0f}) pre-training's term A p^-alpha = {reach:.3g} still exceeds G, "
               "so G rests on the law's form beyond the grid")
  elif v.status != "determined":
    bound = v.profile[1] if v.profile and np.isfinite(v.profile[1]) else None
    target = bound or (G if G > 0 else None)  # the largest G the data allow, else the estimate
    log_p = (math.log(A) - math.log(target)) / alpha if target and alpha > 0 else math.inf
    where = (f"to about p = {math.exp(log_p):,.0f} steps, where A p^-alpha falls to G"
             if log_p < math.log(1e4 * p_max) else "far beyond this grid (the fitted pre-training exponent is too "
             "small to say where)")
    if target and target >= reach:  # the grid does reach where G would show: G is just small
      v.fix = (f"at p = {p_max:,.0f} pre-training's term A p^-alpha = {reach:.3g} is already below what G may be; "
               "more fine-tuning sizes f and more seeds would tighten G's bound")
    else:
      v.fix = (f"pre-train further: the grid stops at p = {p_max:,.0f}, where A p^-alpha = {reach:.3g}; "
               f"G shows only where that term falls below it, so keep checkpoints {where}")
    if v.status == "upper bound only":
      v.text = f"G <= {v.profile[1]:.3g} (95%): not distinguishable from 0 by this grid"
    elif v.status == "not determined":
      v.text = "G is not determined by this grid"
  return v


def flexible(sizes, centre: float) -> str:
  """The name of the scratch law free per size for these sizes (registered on first use, with its joint law).

  Per size N_s, L = exp(a_s) (exp(c_s) + (D / centre)^-r_s): a power law in D falling to a floor, with its
  own scale, floor and exponent at every size, so no form is assumed across sizes and a transfer estimate
  does not hinge on the kaplan or chinchilla shape (the curve is monotone in D, so a fine-tuned loss meets
  it once). Between sizes the coefficients are interpolated in log N (beyond them, the nearest size's): the
  form says nothing about sizes it was not fitted on. Fine-tuned: the same curve at D_F + D_T(N, D_F).
  """
  lN_S = tuple(sorted(float(np.log(n)) for n in set(map(float, sizes))))
  lc = float(np.log(centre))
  name = "flexible[" + ",".join(f"{np.exp(v):.0f}" for v in lN_S) + f"@{centre:.4g}]"
  if name in registry._LAWS:
    return name
  S = len(lN_S)
  coef = [f"{c}{i}" for i in range(S) for c in "acr"]
  xp = jnp.asarray(lN_S)

  def log_fn(q, lN, lD):
    at = lambda c: jnp.interp(lN, xp, jnp.stack([q[f"{c}{i}"] for i in range(S)]))
    return at("a") + logaddexp(at("c"), -jnp.exp(at("r")) * (lD - lc))

  starts = {"a": [0.0], "c": [-1.0, 1.0], "r": [np.log(0.3)]}
  register_scratch(Law(name=name, doc="L = exp(a_N) (exp(c_N) + (D / centre)^-r_N), free per size",
                       params=tuple(coef), log_params=(), covariates=("N", "D"), target="loss",
                       log_predict=lambda q, lx: log_fn(q, lx["N"], lx["D"]), grid={c: starts[c[0]] for c in coef},
                       roles=("scratch",), built_from="flexible"),
                   joint={"grid": {c: starts[c[0]][:1] for c in coef}})
  joint_law(name)
  return name


def _built_only(q, lx):
  raise UsageError("the flexible form is built from the runs it is fitted to: fit it (laws.fit, the joint "
                            "fit) or build it with definitions.flexible(sizes, centre)")


# The registry's entry of the per-size form: the sizes measured fix its parameters, so fitting builds it for the runs
# (its centre: the runs' geometric mean D).
register_scratch(Law(
    name="flexible",
    doc="L = exp(a_N) (exp(c_N) + (D / centre)^-r_N), free per size (built for the sizes measured)",
    params=(), log_params=(), covariates=("N", "D"), target="loss", log_predict=_built_only, grid={},
    roles=("scratch",),
    build=lambda data: registry.get_law(flexible(data["N"], float(np.exp(np.log(np.asarray(data["D"],
                                                                                       np.float64)).mean())))),
), joint={"grid": {}})


register(Law(
    name="barnett",
    doc="L(p, f) = (A p^-alpha + G) f^-beta + E (Barnett 2024, transfer gap G)",
    params=("A", "G", "E", "alpha", "beta"),
    log_params=("A", "G", "E"),
    covariates=("p", "f"),
    target="loss",
    log_predict=lambda q, lx: _barnett_log(q, lx["p"], lx["f"]),
    grid={"A": [0.0, 5.0, 10.0, 15.0], "G": [-6.0, -3.0, 0.0], "E": [-1.0, 0.0, 1.0],
          "alpha": [0.1, 0.5, 1.0], "beta": [0.1, 0.5, 1.0]},
    roles=("gap",),
    template="L(p,f) = ({A} p^-{alpha} + {G}) f^-{beta} + {E}",
    hints={"A": Param(log_scale=True, profile=False), "alpha": Param(fmt=".2f"),
           "G": Param(log_scale=True, headline=True, zero=True, explain=_gap_reach), "beta": Param(fmt=".2f"),
           "E": Param(log_scale=True, profile=False)},
))


def _pretrain_joint(scratch: str, log_fn, rename: dict, grid: dict) -> Law:
  """The joint law with the pre-training amount p as a covariate: D_T = k D_F^alpha N^beta p^gamma.

  One model for advise's two options (more fine-tuning data D_F, more pre-training p), fitted to every
  fine-tuned run at every kept p and every size together with the from-scratch runs it shares its scratch
  law with. gamma is the elasticity of the transferred data in p: doubling pre-training multiplies D_T by
  2^gamma. From-scratch rows carry p = 1 (unused: their D is their data).
  """
  s = get_law(scratch)
  names = tuple(rename.get(p, p) for p in s.params)

  def log_dt(q, lN, lDF, lp):
    return _transfer_log(q, lN, lDF) + q["gamma"] * lp

  def log_predict(q, lx):
    sq = {p: q[rename.get(p, p)] for p in s.params}
    l_eff = logaddexp(lx["D"], log_dt(q, lx["N"], lx["D"], lx["p"]))  # log(D_F + D_T)
    return log_fn(sq, lx["N"], jnp.where(lx["pretrained"] > 0.5, l_eff, lx["D"]))

  def inputs(N, D_F, p):
    N, D_F, p = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (N, D_F, p)))
    return {"N": N, "D": D_F, "p": p, "pretrained": np.ones(N.shape)}

  def d_t(params, N, D_F, p):
    # Replicates' parameters [B] against inputs [n] give [B, n], as law.predict does.
    col = lambda v: np.asarray(v, np.float64)[..., None] if np.ndim(v) else np.asarray(v, np.float64)
    q = {"k": np.log(col(params["k"])), **{k: col(params[k]) for k in ("alpha", "beta", "gamma")}}
    with np.errstate(over="ignore"):
      return np.exp(log_dt(q, *(np.log(np.asarray(v, np.float64)) for v in (N, D_F, p))))

  law = Law(
      name=f"pretrain_{scratch}",
      doc=f"{s.doc.split(' (')[0]} from scratch; fine-tuned from p pre-training steps: the same with "
          "D = D_F + k D_F^alpha N^beta p^gamma, both arms and every p fitted together",
      params=names + ("k", "alpha", "beta", "gamma"),
      log_params=tuple(rename.get(p, p) for p in s.log_params) + ("k",),
      covariates=("N", "D", "p", "pretrained"), linear_covariates=("pretrained",), target="loss",
      log_predict=log_predict, grid=grid,
      derived={"beta/alpha": lambda p: p["beta"] / p["alpha"]},
      functions={
          "D_T": d_t,
          "multiplier": lambda params, N, D_F, p: 1.0 + d_t(params, N, D_F, p) / np.asarray(D_F, np.float64),
          "finetuned_loss": lambda params, N, D_F, p: law.predict(params, inputs(N, D_F, p)),
          "scratch_params": lambda p: {o: p[rename.get(o, o)] for o in s.params}},
  )
  return law


register(_pretrain_joint("chinchilla", _chinchilla_log, {"alpha": "alpha_N", "beta": "beta_D"},
                         {"E": [-0.5, 0.5], "A": [0.0, 5.0, 10.0], "B": [0.0, 5.0, 10.0], "alpha_N": [0.25, 0.75],
                          "beta_D": [0.25, 0.75], "k": [-5.0, 0.0, 5.0], "alpha": [0.2, 0.6], "beta": [0.2, 0.6],
                          "gamma": [0.0, 0.5]}))
register(_pretrain_joint("kaplan", _kaplan_log, {},
                         {"N_c": [10.0, 20.0, 30.0], "D_c": [10.0, 20.0, 30.0], "alpha_N": np.log([0.05, 0.2]),
                          "alpha_D": np.log([0.05, 0.2]), "k": [-5.0, 0.0, 5.0], "alpha": [0.2, 0.6],
                          "beta": [0.2, 0.6], "gamma": [0.0, 0.5]}))
