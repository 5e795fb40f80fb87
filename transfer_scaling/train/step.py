"""Pure train and eval steps for ONE member; ensembles are jax.vmap of these.

Loss: mean cross-entropy in nats per byte of next-byte prediction
(inputs batch[:, :-1], targets batch[:, 1:]).
"""
import functools

import jax
import jax.numpy as jnp
import optax

from transfer_scaling import model as model_lib
from transfer_scaling.train import optim
from transfer_scaling.train import state as state_lib


def loss_fn(params, batch_BxT1, cfg: model_lib.ModelConfig):
  """Mean next-byte cross-entropy (nats/byte) of one batch."""
  logits_BxTxV = model_lib.Transformer(cfg).apply({"params": params}, batch_BxT1[:, :-1])
  return optax.softmax_cross_entropy_with_integer_labels(logits_BxTxV, batch_BxT1[:, 1:]).mean()


def _where(pred, a, b):
  return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def train_step(state, batch_BxT1, min_ratio, *, cfg, tx):
  """One AdamW step; a done or diverged member comes back unchanged.

  The schedule (peak rate, warm-up, decay start and end) is the member's own, in its state, and
  min_ratio a traced number: runs that differ only in their schedules share one compiled step.
  """
  loss, grads = jax.value_and_grad(loss_fn)(state.params, batch_BxT1, cfg)
  grad_norm = optax.global_norm(grads)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  lr = optim.schedule(state.step, state.peak_lr, state.warmup, state.decay_steps, min_ratio, state.decay_from)
  params = jax.tree.map(lambda p, u: p - lr * u.astype(p.dtype), state.params, updates)

  frozen = state.done | (state.diverged != state_lib.OK)
  code = jnp.where(jnp.isnan(loss), state_lib.LOSS_NAN,
                   jnp.where(jnp.isinf(loss), state_lib.LOSS_INF,
                             jnp.where(jnp.isfinite(grad_norm), state_lib.OK, state_lib.GRAD_NONFINITE)))
  diverges = ~frozen & (code != state_lib.OK)
  keep = frozen | diverges
  new = state.replace(
      step=state.step + 1, params=params, opt_state=opt_state,
      diverged=jnp.where(diverges, code, state.diverged),
      diverged_step=jnp.where(diverges, state.step, state.diverged_step))
  # A diverging member keeps its last finite parameters but records why it stopped.
  out = _where(keep, state.replace(diverged=new.diverged, diverged_step=new.diverged_step), new)
  metrics = {"loss": loss, "grad_norm": grad_norm, "lr": lr, "active": ~keep}
  return out, metrics


def eval_loss(params, batches_NxBxL1, cfg):
  """Mean loss over n held-out batches (a scan, so memory stays at one batch)."""
  def body(total, batch_BxT1):
    return total + loss_fn(params, batch_BxT1, cfg), None
  total, _ = jax.lax.scan(body, jnp.zeros((), jnp.float32), batches_NxBxL1)
  return total / batches_NxBxL1.shape[0]


def early_stop_update(state, loss, *, stop):
  """Records an evaluation: the best loss/step/params, early stopping, budgets, blow-ups.

  stop = (patience, min_delta, ceiling, extend) as traced numbers. A member stops after
  `patience` evaluations without an improvement of min_delta (patience 0: never early);
  at the end of its budget it stops too, unless its loss improved at this evaluation and
  `extend` is set: then the budget doubles, up to `ceiling`. A member that reaches the
  ceiling still improving is marked cut_off: its loss is an upper bound, not a result.
  """
  patience, min_delta, ceiling, extend = stop
  frozen = state.done | (state.diverged != state_lib.OK)
  bad_value = ~jnp.isfinite(loss)
  blew_up = ~bad_value & (loss > state_lib.BLOWUP_FACTOR * state.best_loss)
  ok = ~frozen & ~bad_value & ~blew_up
  improved = ok & (loss < state.best_loss - min_delta)
  bad_evals = jnp.where(improved, 0, jnp.where(ok, state.bad_evals + 1, state.bad_evals))
  early = ok & (patience > 0) & (bad_evals >= patience)
  at_budget = ok & ~early & (state.step >= state.budget)
  grow = at_budget & improved & extend & (state.budget < ceiling)
  ends = at_budget & ~grow
  code = jnp.where(bad_value, state_lib.EVAL_NONFINITE, state_lib.EVAL_BLOWUP)
  diverges = ~frozen & (bad_value | blew_up)
  return state.replace(
      best_loss=jnp.where(improved, loss, state.best_loss),
      best_step=jnp.where(improved, state.step, state.best_step),
      best_params=_where(improved, state.params, state.best_params),
      bad_evals=bad_evals,
      budget=jnp.where(grow, jnp.minimum(2 * state.budget, ceiling), state.budget),
      done=state.done | early | ends,
      cut_off=state.cut_off | (ends & improved & (patience > 0)),
      diverged=jnp.where(diverges, code, state.diverged),
      diverged_step=jnp.where(diverges, state.step, state.diverged_step))


def ensemble_train_steps(state_M, batches_SxMxBxL1, min_ratio, **kw):
  """S consecutive steps of a M-member ensemble, scanned so one dispatch runs them all."""
  step_fn = jax.vmap(functools.partial(train_step, min_ratio=min_ratio, **kw))
  return jax.lax.scan(step_fn, state_M, batches_SxMxBxL1)


def ensemble_losses(params_M, batches_NxBxL1, *, cfg):
  """Held-out loss of every member's parameters on the same batches."""
  return jax.vmap(eval_loss, in_axes=(0, None, None))(params_M, batches_NxBxL1, cfg)


def ensemble_eval(state_M, batches_NxBxL1, stop, *, cfg):
  """Validation loss of every member, then the early-stopping and budget update."""
  loss_M = ensemble_losses(state_M.params, batches_NxBxL1, cfg=cfg)
  return jax.vmap(functools.partial(early_stop_update, stop=stop))(state_M, loss_M), loss_M
