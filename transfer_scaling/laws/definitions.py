"""The built-in laws. Each is one register(...) call; change a form here and everything follows.

Grids are in fitted coordinates (log for log_params). The Chinchilla grid is the one of
Hoffmann et al. (2022) approach 3 (4,500 starts); the others are wide enough for losses in
nats per byte and data from 1e4 to 1e12.
"""
import jax.numpy as jnp
import numpy as np
from jax.numpy import logaddexp

from transfer_scaling.laws.registry import Law, register


def _kaplan_log_loss(q, lN, lD):
  # log L = alpha_D * log[(N_c/N)^(alpha_N/alpha_D) + D_c/D], with log D possibly an expression
  aN, aD = jnp.exp(q["alpha_N"]), jnp.exp(q["alpha_D"])
  return aD * logaddexp(aN / aD * (q["N_c"] - lN), q["D_c"] - lD)


def _chinchilla_opt(p):
  # Compute-optimal split of C = 6 N D (Hoffmann et al. 2022, eq. 4): N_opt ~ C^a, D_opt ~ C^b.
  s = p["alpha"] + p["beta"]
  return {"a": p["beta"] / s, "b": p["alpha"] / s, "G": (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / s)}


register(Law(
    name="chinchilla",
    doc="L(N, D) = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022)",
    params=("E", "A", "B", "alpha", "beta"),
    log_params=("E", "A", "B"),
    covariates=("N", "D"),
    target="loss",
    log_predict=lambda q, lx: jnp.logaddexp(
        logaddexp(q["A"] - q["alpha"] * lx["N"], q["B"] - q["beta"] * lx["D"]), q["E"]),
    grid={"E": np.arange(-1, 1.01, 0.5), "A": np.arange(0, 26, 5.0), "B": np.arange(0, 26, 5.0),
          "alpha": np.arange(0, 2.01, 0.5), "beta": np.arange(0, 2.01, 0.5)},
    derived={"a": lambda p: _chinchilla_opt(p)["a"], "b": lambda p: _chinchilla_opt(p)["b"],
             "G": lambda p: _chinchilla_opt(p)["G"]},
))

register(Law(
    name="kaplan",
    doc="L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (Kaplan et al. 2020, eq. 1.5)",
    params=("N_c", "D_c", "alpha_N", "alpha_D"),
    log_params=("N_c", "D_c", "alpha_N", "alpha_D"),  # exponents positive: alpha_D divides
    covariates=("N", "D"),
    target="loss",
    log_predict=lambda q, lx: _kaplan_log_loss(q, lx["N"], lx["D"]),
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
    log_predict=lambda q, lx: q["k"] + q["alpha"] * lx["D_F"] + q["beta"] * lx["N"],
    grid={"k": np.arange(-10.0, 11, 5), "alpha": [0.0, 0.25, 0.5, 1.0], "beta": [0.0, 0.25, 0.5, 1.0]},
    derived={"beta/alpha": lambda p: p["beta"] / p["alpha"]},
))

register(Law(
    name="hernandez_unified",
    doc="L(N, D_F) = Kaplan's L(N, D) at D = D_F + k D_F^alpha N^beta (Hernandez et al. 2021, eq. 6.1)",
    params=("N_c", "D_c", "alpha_N", "alpha_D", "k", "alpha", "beta"),
    log_params=("N_c", "D_c", "alpha_N", "alpha_D", "k"),
    covariates=("N", "D_F"),
    target="loss",
    log_predict=lambda q, lx: _kaplan_log_loss(
        q, lx["N"], logaddexp(lx["D_F"], q["k"] + q["alpha"] * lx["D_F"] + q["beta"] * lx["N"])),
    grid={"N_c": [10.0, 20.0, 30.0], "D_c": [10.0, 20.0, 30.0], "alpha_N": np.log([0.05, 0.2]),
          "alpha_D": np.log([0.05, 0.2]), "k": [0.0, 5.0, 10.0], "alpha": [0.1, 0.5], "beta": [0.2, 0.5]},
))

register(Law(
    name="barnett",
    # Reconstructed form (not verified against Barnett 2024's text): correct it here only.
    doc="L(p, f) = (A p^-alpha + G) f^-beta + E (Barnett 2024, transfer gap G)",
    params=("A", "G", "E", "alpha", "beta"),
    log_params=("A", "G", "E"),
    covariates=("p", "f"),
    target="loss",
    log_predict=lambda q, lx: logaddexp(
        logaddexp(q["A"] - q["alpha"] * lx["p"], q["G"]) - q["beta"] * lx["f"], q["E"]),
    grid={"A": [0.0, 5.0, 10.0, 15.0], "G": [-6.0, -3.0, 0.0], "E": [-1.0, 0.0, 1.0],
          "alpha": [0.1, 0.5, 1.0], "beta": [0.1, 0.5, 1.0]},
))
