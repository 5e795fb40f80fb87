"""TrainState: everything a member needs to continue training exactly.

In an ensemble every leaf carries a leading member axis M.
"""
import flax.struct
import jax
import jax.numpy as jnp

from transfer_scaling import model as model_lib

# Why a member diverged; `reason()` turns the code into words.
OK, LOSS_NAN, LOSS_INF, GRAD_NONFINITE, EVAL_NONFINITE, EVAL_BLOWUP = 0, 1, 2, 3, 4, 5
# A validation loss above this multiple of the member's best is a blow-up, even when finite: a
# run that went there is not a measurement of anything (seen with from-scratch lr 3.0: 53-256 nats/byte).
BLOWUP_FACTOR = 2.0


@flax.struct.dataclass
class TrainState:
  step: jax.Array        # int32, steps this member has taken (frozen members stop counting)
  params: dict
  opt_state: tuple
  rng: jax.Array         # uint32[2], folded with the step for any randomness
  peak_lr: jax.Array     # float32, this member's peak learning rate
  warmup: jax.Array      # float32, steps of linear warm-up
  decay_from: jax.Array  # float32, the step the cosine decay starts (the end of the warm-up, or later: WSD)
  decay_steps: jax.Array  # float32, the step the cosine decay ends (the member's first budget)
  budget: jax.Array      # int32, steps this member may take; doubles while it still improves at the end
  best_loss: jax.Array   # float32, best held-out loss so far (nats/byte), inf before the first eval
  best_step: jax.Array   # int32
  best_params: dict
  bad_evals: jax.Array   # int32, evaluations since the last improvement
  done: jax.Array        # bool, early-stopped or at its budget: state frozen
  cut_off: jax.Array     # bool, stopped at the ceiling while still improving (its loss is an upper bound)
  diverged: jax.Array    # int32 code (OK, LOSS_NAN, ...): state frozen
  diverged_step: jax.Array  # int32, the step at which it diverged, -1 if it did not


def init_state(params, seed, peak_lr, warmup, budget, tx, decay_from=-1.0) -> TrainState:
  """One member's fresh state around `params` (pure: vmap it for an ensemble); decay_from < 0: at the warm-up's end."""
  f32 = jnp.float32
  return TrainState(
      step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
      rng=jax.random.fold_in(jax.random.PRNGKey(seed), 1), peak_lr=jnp.asarray(peak_lr, f32),
      warmup=jnp.asarray(warmup, f32),
      decay_from=jnp.where(decay_from < 0, jnp.asarray(warmup, f32), jnp.asarray(decay_from, f32)),
      decay_steps=jnp.asarray(budget, f32), budget=jnp.asarray(budget, jnp.int32),
      best_loss=jnp.asarray(jnp.inf, f32), best_step=jnp.zeros((), jnp.int32), best_params=params,
      bad_evals=jnp.zeros((), jnp.int32), done=jnp.zeros((), bool), cut_off=jnp.zeros((), bool),
      diverged=jnp.zeros((), jnp.int32), diverged_step=jnp.asarray(-1, jnp.int32))


def init_params(cfg: model_lib.ModelConfig, seed):
  """Fresh float32 parameters from an integer seed (traceable, so vmappable over seeds)."""
  return model_lib.init_params(cfg, jax.random.PRNGKey(seed))


def reason(code: int, step: int) -> str:
  """Human words for a divergence code."""
  what = {LOSS_NAN: "training loss became NaN", LOSS_INF: "training loss became inf",
          GRAD_NONFINITE: "gradient norm became non-finite",
          EVAL_NONFINITE: "validation loss became non-finite",
          EVAL_BLOWUP: f"validation loss rose above {BLOWUP_FACTOR:g} times its best"}[code]
  return f"{what} at step {step}; lower this member's learning rate"
