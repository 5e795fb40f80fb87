"""The joint fit's noise model: the runs' seed structure as variance components, a GLS fit, and its intervals.

A seed fixes the initialisation, the batch order and the D_F subset (nested across D) of runs of every
size and of both arms. So the log loss of run i (seed s, design point c at data D, arm a) is modelled as

  log L_i = law(x_i) + u[s, D] + v[s] + g[c] + m[N, p] + e_i

  u[s, D]  seed-by-subset effect, shared by every size and both arms at that D   variance seed_d
  v[s]     seed effect, shared by all the seed's runs (so u + v correlate across nested D)   seed
  g[c]     the cell's departure from the law, shared by its seeds (lack of fit)   cell
  m[N, p]  the pre-trained model's effect, shared by every fine-tuned run from the model of size N and
           pre-training seed p (only with 2 or more pre-training seeds; with one it is part of the law)   pretrain
  e_i      the run's own noise, per arm (heteroscedastic)   run[a]

The seed components and the run variances are moment (ANOVA) estimates from the runs' deviations from
their cell means, which no law enters: with S seeds per cell, sum_s d[s, c] d[s, c'] / (S - 1) estimates
the covariance of two cells' runs of one seed. The cell component is the Pearson moment estimate:
the value at which the GLS fit's whitened residual sum of squares equals its degrees of freedom, so a
law that misses the cell means widens the intervals instead of hiding in them.

The law is then fitted by generalised least squares with that covariance (every parameter at once),
and its intervals come from a parametric bootstrap under the fitted covariance: new losses drawn from
the fitted law plus correlated noise, each refitted with weights from the components re-estimated on its
own losses (the weights are estimated, so the estimator's spread includes theirs). The variance components
are themselves estimated from few seeds, so the replicates' deviations from the estimate are widened
by t_df / z, df the Satterthwaite degrees of freedom of the estimator's variance (linearised).
"""
import dataclasses
import functools
import math
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from transfer_scaling.laws import solver
from transfer_scaling.laws.registry import Law


@dataclasses.dataclass
class Components:
  """Variances of log loss (nats^2 of log) of the noise model's parts, and their degrees of freedom."""
  seed_d: float
  seed: float
  run: dict            # arm (0 from scratch, 1 fine-tuned) -> variance of a run's own noise
  cell: float = 0.0
  seeds: int = 0
  pretrain: float = 0.0  # the pre-trained model's effect on its fine-tuned runs (2 or more pre-training seeds)
  df: dict = dataclasses.field(default_factory=dict)  # component -> degrees of freedom

  def to_dict(self) -> dict:
    return {"seed_d": self.seed_d, "seed": self.seed, "run_scratch": self.run.get(0.0, math.nan),
            "run_finetuned": self.run.get(1.0, math.nan), "cell": self.cell, "seeds": self.seeds,
            "pretrain": self.pretrain,
            "df": dict(self.df)}

  def text(self) -> str:
    sd = lambda v: f"{math.sqrt(max(v, 0.0)):.3g}"
    return (f"standard deviations of log loss: seed x D {sd(self.seed_d)}, seed {sd(self.seed)}, "
            f"run {sd(self.run.get(0.0, 0.0))} (from scratch) / {sd(self.run.get(1.0, 0.0))} (fine-tuned), "
            f"lack of fit per cell {sd(self.cell)}"
            + (f", pre-trained model {sd(self.pretrain)}" if self.pretrain else "") + f"; {self.seeds} seeds")


def estimate(y, cells, seeds, D, arm, models=None) -> Components:
  """Moment estimates of seed_d, seed, pretrain and run[arm] from the runs' deviations from their cell means.

  models: per run the pre-trained model it was fine-tuned from ("" for a from-scratch run), or None; the
  pretrain component is estimated only where some size has 2 or more pre-trained models.
  """
  return moments(cells, seeds, D, arm, models).estimate(np.asarray(y, np.float64)[None])[0]


@dataclasses.dataclass
class _Moments:
  """The moment equations of `estimate` for one design, as quadratic forms d' W d of the deviations d from the
  cell means: built once, then read for many loss vectors at once (the bootstrap's replicates)."""
  inv: np.ndarray       # run -> cell
  m_c: np.ndarray       # runs per cell
  W: dict               # name -> [n, n] weights (each pair's product, divided by its count and shrinkage)
  same_seed_share: float  # share of the pretrain pairs that also share a seed
  arms: dict            # arm -> (total weights [n], shared weight name, own factor)
  df: dict
  seeds: int

  def estimate(self, Y_BxN: np.ndarray) -> list:
    mean_BxC = np.stack([np.bincount(self.inv, y, minlength=len(self.m_c)) for y in Y_BxN]) / self.m_c
    d = Y_BxN - mean_BxC[:, self.inv]
    q = {k: ((d @ w) * d).sum(1) for k, w in self.W.items()}
    B = len(Y_BxN)
    seed = q["other_d"] if "other_d" in q else np.zeros(B)
    both = q["same_d"] if "same_d" in q else seed
    seed = np.maximum(seed, 0.0)
    seed_d = np.maximum(both - seed, 0.0)
    pretrain = np.maximum(q["pretrain"] - seed * self.same_seed_share, 0.0) if "pretrain" in q else np.zeros(B)
    run = {}
    for a, (w_total, shared_name, own_factor) in self.arms.items():
      total = (d ** 2) @ w_total
      shared = q[shared_name] if shared_name else seed + seed_d
      own = pretrain * own_factor
      run[a] = np.maximum.reduce([total - np.maximum(shared, 0.0) - own, 0.01 * total, np.full(B, 1e-10)])
    return [Components(seed_d=float(seed_d[b]), seed=float(seed[b]), run={a: float(v[b]) for a, v in run.items()},
                       seeds=self.seeds, df=dict(self.df), pretrain=float(pretrain[b])) for b in range(B)]


def moments(cells, seeds, D, arm, models=None) -> _Moments:
  """The moment equations of `estimate` for the runs' labels (see the module docstring)."""
  cells, seeds = np.asarray(cells), np.asarray(seeds)
  D, arm = np.asarray(D, np.float64), np.asarray(arm, np.float64)
  models = _models(models, len(cells))
  codes, inv, m_c = np.unique(cells, return_inverse=True, return_counts=True)
  m = m_c[inv].astype(np.float64)
  shrink = 1.0 - 1.0 / m  # E[d_i d_j] = cov (1 - 1/m) for runs of one seed in two cells of m seeds
  scale = 1.0 / np.sqrt(np.outer(shrink, shrink).clip(1e-12))
  same_seed = seeds[:, None] == seeds[None, :]
  other_cell = inv[:, None] != inv[None, :]
  multi = (m > 1)[:, None] & (m > 1)[None, :]
  same_model = (models[:, None] == models[None, :]) & (models != "")[:, None]
  pair = same_seed & other_cell & multi & ~same_model
  same_d = pair & (D[:, None] == D[None, :])
  other_d = pair & (D[:, None] != D[None, :])
  mean_of = lambda mask, sc: np.where(mask, sc, 0.0) / mask.sum()
  W = {}
  if other_d.any():
    W["other_d"] = mean_of(other_d, scale)
  if same_d.any():
    W["same_d"] = mean_of(same_d, scale)
  several, share, n_models = _several_models(models), 0.0, 0
  P = np.ones(len(cells))
  if several:
    # Pairs of one pre-trained model's fine-tuned runs in two cells (so at two D_F): they share the model's
    # effect, and the seed's where the fine-tuning seeds are the same. A cell's mean holds 1/P of a model's
    # effect (P models in it), which the (1 - 1/P) below undoes, as shrink does for the seeds.
    P = np.array([len(set(models[inv == c])) for c in range(len(codes))], np.float64)[inv]
    mp = same_model & other_cell & multi
    if mp.any():
      W["pretrain"] = mean_of(mp, 1.0 / np.sqrt(np.outer(1 - 1 / P, 1 - 1 / P).clip(1e-12)))
      share = float(same_seed[mp].mean())
    n_models = len(set(models[models != ""]))
  arms = {}
  for a in np.unique(arm):
    sel = (arm == a) & (m > 1)
    w_total = np.where(sel, 1.0, 0.0) / np.sum(shrink[sel]) if sel.any() else np.zeros(len(cells))
    # The shared part from the pairs this arm's runs are in: the same draws of u[s, D] enter both
    # terms of the difference and cancel, where the pooled estimate would add their noise.
    mine = same_d & sel[:, None]
    name = None
    if mine.any():
      name = f"mine{a:g}"
      W[name] = mean_of(mine, scale)
    # A fine-tuned run's deviation holds its model's effect too, less the 1/P of it in its cell's mean.
    own = float(np.sum((1 - 1 / P)[sel]) / np.sum(shrink[sel])) if a == 1.0 and several and sel.any() else 0.0
    arms[float(a)] = (w_total, name, own)
  S = len(np.unique(seeds))
  n_D = len(np.unique(D))
  df = {"seed": max(S - 1, 1), "seed_d": max((S - 1) * (n_D - 1), 1),
        "run": max(int(np.sum(m_c - 1)) - (S - 1) * n_D, 1)}
  if n_models:
    df["pretrain"] = max(n_models - _sizes_with_models(models), 1)  # (P - 1) per size
  return _Moments(inv=inv, m_c=m_c.astype(np.float64), W=W, same_seed_share=share, arms=arms,
                  df=df, seeds=S)


def _models(models, n: int) -> np.ndarray:
  return np.full(n, "", dtype=object) if models is None else np.asarray(models, dtype=object).astype(str)


def _several_models(models) -> bool:
  """True when some group has 2 or more pre-trained models. The model label is 'group|pre-training seed', the group
  the models that differ only by their seed: a size in the joint fit, a size and p in the (N, D_F, p) model."""
  used = models[models != ""]
  sizes = {m.split("|")[0] for m in used}
  return len(set(used)) > len(sizes)


def _sizes_with_models(models) -> int:
  return len({m.split("|")[0] for m in models[models != ""]})


def structure(cells, seeds, D, arm, models=None) -> dict:
  """The 0/1 matrices each component multiplies: Sigma = sum_j var_j K_j."""
  cells, seeds = np.asarray(cells), np.asarray(seeds)
  D, arm = np.asarray(D, np.float64), np.asarray(arm, np.float64)
  models = _models(models, len(cells))
  same_seed = (seeds[:, None] == seeds[None, :]).astype(np.float64)
  K = {"seed": same_seed, "seed_d": same_seed * (D[:, None] == D[None, :]),
       "cell": (cells[:, None] == cells[None, :]).astype(np.float64),
       "pretrain": ((models[:, None] == models[None, :]) & (models != "")[:, None]).astype(np.float64)}
  for a in np.unique(arm):
    K[f"run{a:g}"] = np.diag((arm == a).astype(np.float64))
  return K


def covariance(c: Components, K: dict) -> np.ndarray:
  var = {"seed": c.seed, "seed_d": c.seed_d, "cell": c.cell, "pretrain": c.pretrain,
         **{f"run{a:g}": v for a, v in c.run.items()}}
  return sum(var[name] * k for name, k in K.items() if name in var)


def whitener(sigma: np.ndarray, n_pad: int) -> tuple:
  """(W padded to n_pad, L): L L^T = Sigma and W = L^-1, so W r has identity covariance; padded rows weigh 0."""
  L = np.linalg.cholesky(sigma)
  W = np.zeros((n_pad, n_pad))
  W[:len(sigma), :len(sigma)] = np.linalg.inv(L)
  return W, L


@functools.lru_cache(maxsize=None)
def _gls_objective(law: Law):
  def residuals(theta_P, lx, ly):
    q = {p: theta_P[i] for i, p in enumerate(law.params)}
    return law.log_predict(q, lx) - ly

  def objective(theta_P, lx, ly, W):
    r = W @ residuals(theta_P, lx, ly)
    return 0.5 * jnp.sum(r * r)

  return residuals, objective


@functools.partial(jax.jit, static_argnames=("law", "ly_batched"))
def _solve(law, theta_BxP, lx, ly, W, max_iter, ly_batched=False):
  """ly_batched: one row of ly per member, and one whitener per member (W [B, n, n])."""
  _, objective = _gls_objective(law)
  args, axes = (lx, ly, W), (None, 0 if ly_batched else None, 0 if ly_batched else None)
  s = solver.init(objective, theta_BxP, args, axes)
  if not ly_batched:
    return solver.run(objective, s, args, axes, max_iter=max_iter)
  return solver.run_compacted(objective, s, args, axes, chunk=max(1, theta_BxP.shape[0] // 8), first_iters=16,
                              max_iter=max_iter)


@functools.partial(jax.jit, static_argnames=("law",))
def _jacobian(law, theta_P, lx):
  zero = jnp.zeros_like(lx[next(iter(lx))])
  return jax.jacfwd(lambda t: _gls_objective(law)[0](t, lx, zero))(theta_P)


@dataclasses.dataclass
class GLS:
  theta: np.ndarray          # the optimum, fitted coordinates
  converged: bool
  objective: float           # half the whitened residual sum of squares
  residuals: np.ndarray      # log(predicted) - log(measured), data order
  components: Components
  sigma: np.ndarray          # the covariance of log loss, [n, n]
  replicates: Optional[np.ndarray] = None  # [B, P] converged bootstrap refits, widened
  n_bootstrap: int = 0
  factor: float = 1.0        # the t_df / z widening
  df: float = math.inf


def fit(law: Law, lx, ly, n: int, theta0_SxP, cells, seeds, D, arm, *, bootstrap: int, seed: int,
        max_iter: int = 500, refit_iter: int = 500, fallback=None, models=None) -> GLS:
  """GLS of `law` on the padded arrays (fitting.design) with the estimated covariance, and its parametric bootstrap.

  theta0_SxP: the starts (the unweighted fit's optimum); fallback: further starts, tried where none of those converges.
  """
  y = np.asarray(ly)[:n]
  comp = estimate(y, cells, seeds, D, arm, models)
  K = structure(cells, seeds, D, arm, models)
  n_pad = len(np.asarray(ly))
  theta0 = np.asarray(theta0_SxP, np.float64)
  dof = len(np.unique(np.asarray(cells))) - theta0.shape[1]
  W, L = whitener(covariance(comp, K), n_pad)
  best = _best(law, theta0, lx, ly, W, max_iter)
  if best is None and fallback is not None:
    best = _best(law, np.vstack([theta0, np.asarray(fallback, np.float64)]), lx, ly, W, max_iter)
  for _ in range(2):  # the lack-of-fit component from the GLS residuals, then GLS again (twice suffices)
    if best is None:
      return GLS(theta=theta0[0], converged=False, objective=math.nan, residuals=np.full(n, np.nan),
                 components=comp, sigma=covariance(comp, K))
    theta, r = best
    theta0 = np.asarray([theta])
    new_cell = _lack_of_fit(comp, K, cells, r[:n], dof)
    if abs(new_cell - comp.cell) <= 0.05 * max(comp.cell, new_cell) or new_cell == comp.cell:
      break
    comp = dataclasses.replace(comp, cell=new_cell)
    W, L = whitener(covariance(comp, K), n_pad)
    best = _best(law, theta0, lx, ly, W, max_iter)
  if best is None:
    return GLS(theta=theta0[0], converged=False, objective=math.nan, residuals=np.full(n, np.nan),
               components=comp, sigma=covariance(comp, K))
  theta, r = best
  comp.df["cell"] = max(len(np.unique(cells)) - theta0.shape[1], 1)
  sigma = covariance(comp, K)
  w_r = (W @ r)[:n]
  out = GLS(theta=np.asarray(theta), converged=True, objective=float(0.5 * np.sum(w_r ** 2)), residuals=r[:n],
            components=comp, sigma=sigma)
  out.df = _satterthwaite(law, theta, lx, n, sigma, K, comp)
  from scipy import stats
  out.factor = float(stats.t.ppf(0.975, out.df) / stats.norm.ppf(0.975)) if math.isfinite(out.df) else 1.0
  if bootstrap:
    rng = np.random.default_rng(seed)
    fitted = y + r[:n]
    sim = fitted[None, :] + rng.standard_normal((bootstrap, n)) @ L.T
    lx_C, ly_BxC, W_BxCxC = _replicate_problems(sim, comp, cells, seeds, D, arm, models, lx)
    with jax.enable_x64(True):
      b = jax.device_get(_solve(law, jnp.broadcast_to(jnp.asarray(theta), (bootstrap, len(theta))), lx_C,
                                jnp.asarray(ly_BxC), jnp.asarray(W_BxCxC), refit_iter, ly_batched=True))
    ok = b.converged & np.isfinite(b.theta).all(1)
    out.replicates = theta + out.factor * (b.theta[ok] - theta)
    out.n_bootstrap = bootstrap
  return out


def _replicate_problems(sim_BxN, comp, cells, seeds, D, arm, models, lx) -> tuple:
  """Each replicate's GLS fit as a whitened least-squares problem over cells: (lx_C, ly_BxC, W_BxCxC).

  Weights: each replicate's covariance comes from the components re-estimated on its own runs. The
  estimate's weights come from components estimated from few seeds; refitting every replicate with the
  estimate's weights would treat them as known and leave out the variance their estimation adds to the
  estimator (Kackar and Harville 1984); at the decision design this widens alpha's interval by about 5%.
  The lack-of-fit component is kept at the estimate's (its moment equation needs each replicate's GLS
  residuals). The moment equations are built once and read for every replicate (`moments`).

  Cells: the law predicts one value f_c per cell, so with r = A' f - y (A: cells x runs, 0/1) and Q the
  inverse covariance, r' Q r = (f - y_c)' M (f - y_c) + const with M = A Q A' and y_c = M^-1 A Q y, the
  GLS cell means. With M = R' R the replicate is a least-squares fit of C cells, not n runs, whitened by R.
  Padded cells (to a power of two, as fitting.design pads runs) weigh 0.
  """
  n = len(cells)
  _, first, inv = np.unique(np.asarray(cells), return_index=True, return_inverse=True)
  C = len(first)
  c_pad = max(16, 1 << (C - 1).bit_length())
  A = np.zeros((C, n))
  A[inv, np.arange(n)] = 1.0
  idx = np.concatenate([first, np.full(c_pad - C, first[0])])
  lx_C = {k: jnp.asarray(np.asarray(v)[idx]) for k, v in lx.items()}
  B = len(sim_BxN)
  comps = [dataclasses.replace(c, cell=comp.cell) for c in moments(cells, seeds, D, arm, models).estimate(sim_BxN)]
  M, rhs = _cell_normal_equations(comps, A, sim_BxN, seeds, D, arm, models)
  ly_BxC = np.zeros((B, c_pad))
  W_BxCxC = np.zeros((B, c_pad, c_pad))
  ly_BxC[:, :C] = np.linalg.solve(M, rhs[..., None])[..., 0]
  W_BxCxC[:, :C, :C] = np.swapaxes(np.linalg.cholesky(M), 1, 2)
  ly_BxC[:, C:] = ly_BxC[:, :1]
  return lx_C, ly_BxC, W_BxCxC


def _cell_normal_equations(comps, A, Y_BxN, seeds, D, arm, models) -> tuple:
  """(A Q_b A' [B, C, C], A Q_b y_b [B, C]) for every replicate b, Q_b its covariance's inverse.

  Sigma = R + Z G Z': R holds the seed, seed-by-D and run components, which are block-diagonal by seed; Z the
  cells' and the pre-trained models' indicators, G their variances. So only the seeds' blocks (about 40 runs
  each) are solved, and Woodbury adds the shared parts: u' Sigma^-1 v = u'R^-1 v - u'R^-1 Z (I + G Z'R^-1 Z)^-1
  G Z'R^-1 v. A replicate costs a few seed blocks instead of one solve over every run.
  """
  seeds, D, arm = np.asarray(seeds), np.asarray(D, np.float64), np.asarray(arm, np.float64)
  models = _models(models, len(seeds))
  B, n = Y_BxN.shape
  C = A.shape[0]
  labels = sorted(set(models[models != ""]))
  Zm = (models[:, None] == np.array(labels, dtype=object)[None, :]).astype(np.float64) if labels else np.zeros((n, 0))
  Z = np.concatenate([A.T, Zm], 1)  # [n, r]
  g_BxR = np.concatenate([np.array([[c.cell] * C for c in comps]), np.array([[c.pretrain] * len(labels) for c in comps])
                          if labels else np.zeros((B, 0))], 1)
  v = lambda f: np.array([f(c) for c in comps])[:, None, None]
  X = np.zeros((B, n, C + 1 + Z.shape[1]))  # R^-1 [A' | y | Z]
  for s in np.unique(seeds):
    i = np.flatnonzero(seeds == s)
    same_d = (D[i][:, None] == D[i][None, :]).astype(np.float64)
    run = np.stack([np.array([c.run[float(a)] for a in arm[i]]) for c in comps])  # [B, n_s]
    R = v(lambda c: c.seed) + v(lambda c: c.seed_d) * same_d + run[:, :, None] * np.eye(len(i))
    rhs = np.concatenate([np.broadcast_to(A.T[i], (B, len(i), C)), Y_BxN[:, i, None],
                          np.broadcast_to(Z[i], (B, len(i), Z.shape[1]))], 2)
    X[:, i] = np.linalg.solve(R, rhs)
  U = np.concatenate([np.broadcast_to(A.T, (B, n, C)), Y_BxN[:, :, None], np.broadcast_to(Z, (B, n, Z.shape[1]))], 2)
  H = np.swapaxes(U, 1, 2) @ X  # U' R^-1 U
  k = C + 1
  core = np.eye(Z.shape[1]) + g_BxR[:, :, None] * H[:, k:, k:]  # I + G Z'R^-1 Z
  corr = H[:, :k, k:] @ np.linalg.solve(core, g_BxR[:, :, None] * H[:, k:, :k])
  Q = H[:, :k, :k] - corr  # [A; y'] Sigma^-1 [A' | y]
  return Q[:, :C, :C], Q[:, :C, C]


def _best(law, theta0_SxP, lx, ly, W, max_iter):
  """(theta, residuals padded) of the best converged start, or None."""
  with jax.enable_x64(True):
    s = jax.device_get(_solve(law, jnp.asarray(theta0_SxP), lx, ly, jnp.asarray(W), max_iter))
    f = np.where(s.converged & np.isfinite(s.f), s.f, np.inf)
    if not np.isfinite(f).any():
      return None
    theta = s.theta[int(np.argmin(f))]
    r = np.asarray(_gls_objective(law)[0](jnp.asarray(theta), lx, ly))
  return theta, r


def _lack_of_fit(comp: Components, K: dict, cells, r, dof: int) -> float:
  """The cell variance at which the cell means' whitened residual sum of squares equals its degrees of freedom.

  r-bar, the residuals' cell means, has covariance A Sigma_0 A' + cell I under the model (A averages each
  cell's runs, Sigma_0 the seed and run components): the Pearson moment equation in `cell` alone, 0 when
  the law already fits the cell means as well as the noise allows.
  """
  _, inv = np.unique(np.asarray(cells), return_inverse=True)
  A = np.zeros((inv.max() + 1, len(inv)))
  A[inv, np.arange(len(inv))] = 1.0
  A /= A.sum(1, keepdims=True)
  base = A @ covariance(dataclasses.replace(comp, cell=0.0), K) @ A.T
  rbar = A @ r
  C = len(rbar)
  pearson = lambda cell: float(rbar @ np.linalg.solve(base + cell * np.eye(C), rbar))
  if dof <= 0 or pearson(0.0) <= dof:
    return 0.0
  lo, hi = 0.0, max(float(np.mean(rbar ** 2)), 1e-12)
  while pearson(hi) > dof:
    hi *= 4
  for _ in range(40):
    mid = 0.5 * (lo + hi)
    lo, hi = (mid, hi) if pearson(mid) > dof else (lo, mid)
  return hi


def _satterthwaite(law, theta, lx, n, sigma, K, comp) -> float:
  """Degrees of freedom of the GLS estimator's linearised variance: the smallest over the parameters.

  Var(theta) = sum_j var_j G K_j G^T, G = (J' S^-1 J)^-1 J' S^-1; each component's share enters
  Welch-Satterthwaite with that component's own degrees of freedom.
  """
  with jax.enable_x64(True):
    J = np.asarray(_jacobian(law, jnp.asarray(theta), lx))[:n]
  Si = np.linalg.inv(sigma)
  try:
    G = np.linalg.solve(J.T @ Si @ J, J.T @ Si)
  except np.linalg.LinAlgError:
    return math.inf
  var = {"seed": comp.seed, "seed_d": comp.seed_d, "cell": comp.cell, "pretrain": comp.pretrain}
  parts = {name: var[name] * np.einsum("pi,ij,pj->p", G, K[name], G) for name in var}
  parts["run"] = sum(v * np.einsum("pi,ij,pj->p", G, K[f"run{a:g}"], G) for a, v in comp.run.items())
  total = sum(parts.values())
  denom = sum(parts[name] ** 2 / comp.df.get(name, 1e9) for name in parts)
  df = total ** 2 / np.maximum(denom, 1e-300)
  return float(np.clip(np.min(df), 1.0, 1e6))
