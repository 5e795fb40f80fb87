"""Batched damped Newton for small robust fits: many starts (or bootstrap weights) in one jitted call.

Why not plain vmapped L-BFGS: with 3-7 parameters an exact Hessian costs a few gradients, and damped
Newton reaches machine precision in a few dozen steps where L-BFGS needs hundreds plus a line search,
whose inner while_loop under vmap runs every member at the pace of the slowest. Each iteration here
is one Hessian and one objective evaluation per member.

The step is "saddle-free" Levenberg-Marquardt: d = -V diag(1/(|w| + lam*|w|max)) V^T g from the
eigendecomposition H = V diag(w) V^T, so it is a descent direction even where the Huber
objective's Hessian is indefinite or singular (residuals in its linear part contribute almost
no curvature). lam shrinks after a step that lowers the objective and grows after one that does
not. A member stops when a step lowers the objective by less than ftol (relative) and moves
no coordinate by more than xtol, or when the Newton decrement g^T |H|^-1 g says no step could
lower it by more than ftol; a member whose damping hits its ceiling has stalled (done, not
converged). Stopped members are frozen and the loop ends as soon as none is left.
"""
import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


MAX_STEP = 4.0  # largest change of any coordinate in one step (log units for positive parameters)


class State(NamedTuple):
  theta: jax.Array  # [..., P] fitted coordinates
  f: jax.Array      # [...] objective
  lam: jax.Array    # [...] damping, relative to the largest |eigenvalue| (or |gradient|)
  done: jax.Array   # [...] stopped (converged, or stuck: see `converged`)
  converged: jax.Array
  iters: jax.Array  # [...] iterations taken


def huber(r, delta):
  a = jnp.abs(r)
  return jnp.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _init(objective, theta, *args):
  f = objective(theta, *args)
  f = jnp.where(jnp.isfinite(f), f, jnp.inf)
  false = jnp.zeros((), bool)
  return State(theta, f, jnp.asarray(1e-3, theta.dtype), false, false, jnp.zeros((), jnp.int32))


def _step(objective, ftol, xtol, s: State, *args) -> State:
  # one damped Newton step of one member
  grad = lambda th: jax.grad(objective)(th, *args)
  H, g = jax.jacfwd(lambda th: (grad(th), grad(th)), has_aux=True)(s.theta)  # Hessian and gradient in one pass
  w, V = jnp.linalg.eigh(H)
  # Damping relative to the curvature, or to the gradient where there is none (all residuals in
  # Huber's linear part: a linear model's Hessian is then exactly zero).
  scale = jnp.maximum(jnp.max(jnp.abs(w)), jnp.max(jnp.abs(g))) + 1e-300
  Vg = V.T @ g
  d = -V @ (Vg / (jnp.abs(w) + s.lam * scale))
  d = d * jnp.minimum(1.0, MAX_STEP / (jnp.max(jnp.abs(d)) + 1e-300))
  # Newton decrement: the decrease a full undamped step would predict
  decrement = jnp.sum(Vg * Vg / (jnp.abs(w) + 1e-12 * scale))
  f_new = objective(s.theta + d, *args)
  accept = jnp.isfinite(f_new) & (f_new < s.f)
  # absolute floor: an exact fit has objective 0, and nothing is relatively small next to 0
  tol = ftol * jnp.abs(s.f) + 1e-30
  small = (s.f - f_new <= tol) & (jnp.max(jnp.abs(d)) <= xtol)
  conv = jnp.isfinite(s.f) & ((accept & small) | (decrement <= tol))
  # lam at its ceiling: no step lowers the objective; stop, converged only if the decrement says so
  stalled = s.lam >= 1e10
  keep = s.done
  move = ~keep & accept
  theta = jnp.where(move, s.theta + d, s.theta)
  f = jnp.where(move, f_new, s.f)
  lam = jnp.where(keep, s.lam, jnp.clip(jnp.where(accept, s.lam * 0.2, s.lam * 10.0), 1e-12, 1e10))
  done = keep | conv | stalled | ~jnp.isfinite(s.f)
  return State(theta, f, lam, done, s.converged | (~keep & conv), s.iters + (~keep).astype(jnp.int32))


def init(objective: Callable, theta_SxP, args, in_axes) -> State:
  """The starting State of every member (theta_SxP rows; args batched where in_axes is 0)."""
  return jax.vmap(functools.partial(_init, objective), in_axes=(0,) + in_axes)(theta_SxP, *args)


def _loop(step, s: State, args, min_iter, max_iter) -> State:
  def cond(c):
    i, s = c
    return (i < max_iter) & ((i < min_iter) | ~jnp.all(s.done))

  def body(c):
    i, s = c
    return i + 1, step(s, *args)

  return jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), s))[1]


def run(objective: Callable, s: State, args, in_axes, min_iter=0, max_iter=200, ftol=1e-12, xtol=1e-8) -> State:
  """Iterate every member of s until all are done (at least min_iter, at most max_iter steps).

  Call inside jax.jit; iteration counts may be traced values, so changing them does not recompile.
  Members' done / converged flags are reset first, so a screened State can be resumed.
  """
  step = jax.vmap(functools.partial(_step, objective, ftol, xtol), in_axes=(0,) + in_axes)
  s = s._replace(done=jnp.zeros_like(s.done), converged=jnp.zeros_like(s.converged))
  return _loop(step, s, args, min_iter, max_iter)


def run_compacted(objective: Callable, s: State, args, in_axes, chunk: int, first_iters=16, max_iter=200,
                  ftol=1e-12, xtol=1e-8) -> State:
  """run(...) for many members whose iteration counts vary (bootstrap refits from a warm start).

  Under vmap a done member still costs a full step until the last one finishes. So: every member
  gets first_iters steps (most finish), then the stragglers are gathered `chunk` at a time and
  run on (up to max_iter steps in all), until none is left. `chunk` is static (it sets a shape).
  """
  step = jax.vmap(functools.partial(_step, objective, ftol, xtol), in_axes=(0,) + in_axes)
  s = run(objective, s, args, in_axes, max_iter=first_iters, ftol=ftol, xtol=xtol)
  batched = [i for i, a in enumerate(in_axes) if a == 0]

  def body(s):
    idx = jnp.argsort(s.done, stable=True)[:chunk]  # not-done first; done fillers stay frozen
    sub = _loop(step, jax.tree.map(lambda a: a[idx], s),
                tuple(a[idx] if i in batched else a for i, a in enumerate(args)), 0, max_iter - first_iters)
    sub = sub._replace(done=jnp.ones_like(sub.done))  # converged, stalled or out of steps: finished
    return jax.tree.map(lambda a, b: a.at[idx].set(b), s, sub)

  return jax.lax.while_loop(lambda s: ~jnp.all(s.done), body, s)
