"""Corpora as byte streams: TFDS ArrayRecord builders, nested subsets, packed batches.

  from transfer_scaling import data
  train_U8, valid_U8, test_U8 = data.load_splits("python")  # prepared with `transfer-scaling corpora prepare python`
  d_f_U8 = data.subset("python", n_bytes=10**6, seed=0)     # a prefix of one fixed shuffled document order
  batches = data.PackedBatches([d_f_U8], valid_U8, test_U8, batch_size=32, seq_len=256, seeds=[0])
"""
from transfer_scaling.data.pipeline import PackedBatches, subset, subset_of
from transfer_scaling.data.prepared import load_splits, load_documents

__all__ = ["PackedBatches", "subset", "subset_of", "load_splits", "load_documents"]
