"""The built-in laws. Each is one register(...) call; change a form here and everything follows.

Grids are in fitted coordinates (log for log_params). The Chinchilla grid is the one of
Hoffmann et al. (2022) approach 3 (4,500 starts); the others are wide enough for losses in
nats per byte and data from 1e3 to 1e12. Every formula is written once, as a log-space
function below, and every law and consumer (allocation, report, notebooks) evaluates it
through the registry: law.predict, law.derived, law.functions.
"""
import jax.numpy as jnp
import numpy as np
from jax.numpy import logaddexp

from transfer_scaling.laws.registry import Law, get_law, register


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
  return {"a": p["beta"] / s, "b": p["alpha"] / s, "K": (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / s)}


def _compute_optimal(p, C):
  """(N_opt, D_opt) for compute budgets C (FLOPs) under a chinchilla fit."""
  o = _chinchilla_opt(p)
  C = np.asarray(C, np.float64)
  return o["K"] * (C / 6) ** o["a"], (C / 6) ** o["b"] / o["K"]


def _transfer_functions():
  """D_T, D_E and the multiplier (D_F + D_T) / D_F at (N, D_F), from a law's k, alpha, beta."""
  def d_t(p, N, D_F):
    return get_law("hernandez").predict({k: p[k] for k in ("k", "alpha", "beta")}, {"N": N, "D_F": D_F})

  def d_e(p, N, D_F):
    return np.asarray(D_F, np.float64) + d_t(p, N, D_F)

  return {"D_T": d_t, "D_E": d_e, "multiplier": lambda p, N, D_F: d_e(p, N, D_F) / np.asarray(D_F, np.float64)}


register(Law(
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
))

register(Law(
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
))

register(Law(
    name="hernandez",
    doc="D_T = k D_F^alpha N^beta (Hernandez et al. 2021, eq. 1.1), fitted on log D_T",
    params=("k", "alpha", "beta"),
    log_params=("k",),
    covariates=("N", "D_F"),
    target="D_T",
    log_predict=lambda q, lx: _transfer_log(q, lx["N"], lx["D_F"]),
    grid={"k": np.arange(-10.0, 11, 5), "alpha": [0.0, 0.25, 0.5, 1.0], "beta": [0.0, 0.25, 0.5, 1.0]},
    derived={"beta/alpha": lambda p: p["beta"] / p["alpha"]},
    functions=_transfer_functions(),
))


def _joint(scratch: str, log_fn, rename: dict, grid: dict) -> Law:
  """From-scratch L(N, D) and fine-tuned L(N, D_F + k D_F^alpha N^beta) with the same scratch parameters.

  Hernandez et al. 2021, eq. 6.1, generalised to either scratch form and fitted jointly to
  both arms: rows with pretrained = 0 are from-scratch runs on D bytes, rows with
  pretrained = 1 fine-tuned runs on D = D_F bytes.
  """
  s = get_law(scratch)
  names = tuple(rename.get(p, p) for p in s.params)

  def log_predict(q, lx):
    sq = {p: q[rename.get(p, p)] for p in s.params}
    l_eff = logaddexp(lx["D"], _transfer_log(q, lx["N"], lx["D"]))  # log(D_F + D_T)
    return log_fn(sq, lx["N"], jnp.where(lx["pretrained"] > 0.5, l_eff, lx["D"]))

  t = _transfer_functions()
  return Law(
      name=f"transfer_{scratch}",
      doc=f"{s.doc.split(' (')[0]} from scratch; fine-tuned: the same with D = D_F + k D_F^alpha N^beta "
          "(Hernandez et al. 2021, eq. 6.1), both arms fitted together",
      params=names + ("k", "alpha", "beta"),
      log_params=tuple(rename.get(p, p) for p in s.log_params) + ("k",),
      covariates=("N", "D", "pretrained"), linear_covariates=("pretrained",), target="loss",
      log_predict=log_predict, grid=grid,
      derived={"beta/alpha": lambda p: p["beta"] / p["alpha"]},
      functions={**t, "scratch_params": lambda p: {o: p[rename.get(o, o)] for o in s.params}},
  )


register(_joint("chinchilla", _chinchilla_log, {"alpha": "alpha_N", "beta": "beta_D"},
                {"E": [-0.5, 0.5], "A": [0.0, 5.0, 10.0], "B": [0.0, 5.0, 10.0], "alpha_N": [0.25, 0.75],
                 "beta_D": [0.25, 0.75], "k": [-5.0, 0.0, 5.0], "alpha": [0.2, 0.6], "beta": [0.2, 0.6]}))
register(_joint("kaplan", _kaplan_log, {},
                {"N_c": [10.0, 20.0, 30.0], "D_c": [10.0, 20.0, 30.0], "alpha_N": np.log([0.05, 0.2]),
                 "alpha_D": np.log([0.05, 0.2]), "k": [-5.0, 0.0, 5.0], "alpha": [0.2, 0.6], "beta": [0.2, 0.6]}))


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
))
