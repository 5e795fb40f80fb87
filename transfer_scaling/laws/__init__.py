"""Scaling laws for transfer: fit them, measure effective data transferred, allocate budgets.

  from transfer_scaling import laws
  fit = laws.fit("chinchilla", laws.chinchilla_data(), bootstrap=1000)  # FitResult: params, stderr, ci95, ...
  eff = laws.effective_data(scratch_df, finetuned_df)   # DataFrame: D_E, D_T, multiplier, flags, ossified
  tf = laws.fit_transfer(eff)                            # D_T = k D_F^alpha N^beta on the low-data regime
  laws.compute_optimal(fit, [1e21, 1e23])                # N_opt(C), D_opt(C)
  laws.allocate_budget(gap_params, budget, cost_p, cost_f)  # loss-minimising (p, f) under the gap law

Built-in laws: laws/definitions.py; laws.law_names() lists them, laws.law_names(role) those of a study role;
add one with laws.register(laws.Law(...)) (see laws/registry.py). Command line:
`transfer-scaling fit LAW --csv FILE --json OUT` and `transfer-scaling allocate compute|budget ...`.
"""
# definitions registers the built-in laws; the registry itself imports nothing of the package.
from transfer_scaling.laws import definitions  # noqa: F401
from transfer_scaling.laws.allocate import Allocation, allocate_budget, compute_optimal, isoloss_grid, loss_at
from transfer_scaling.laws.measurements import chinchilla_data
from transfer_scaling.laws.fitting import FitResult, fit
from transfer_scaling.laws.registry import Law, get_law, law_names, register
from transfer_scaling.laws.transfer import (TransferFit, data_for_saturation, effective_data, fit_transfer,
                                           interpolate_data)

__all__ = ["Allocation", "FitResult", "Law", "TransferFit", "allocate_budget", "chinchilla_data", "compute_optimal",
           "data_for_saturation", "effective_data", "fit", "fit_transfer", "get_law", "interpolate_data",
           "isoloss_grid", "law_names", "loss_at", "register"]
