"""Scaling laws for transfer: fit them, measure effective data transferred, allocate budgets.

  from transfer_scaling import laws
  fit = laws.fit("chinchilla", laws.chinchilla_data(), bootstrap=1000)
  eff = laws.effective_data(scratch_df, finetuned_df)
"""
from transfer_scaling.laws.data import chinchilla_data
from transfer_scaling.laws.fitting import FitResult, fit
from transfer_scaling.laws.registry import Law, get_law, law_names, register
from transfer_scaling.laws.transfer import TransferFit, data_for_saturation, effective_data, fit_transfer, interpolate_data
from transfer_scaling.laws.allocate import Allocation, allocate_budget, barnett_loss, compute_optimal, isoloss_grid
