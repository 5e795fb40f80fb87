"""Distance proxies and generation speed of the synthetic family (the tables of docs/synthetic.md).

  python -m benchmarks.synthetic_distance

Byte n-gram models with add-one smoothing (no training): cross-entropy of each knob's text
under the knob-0 model against its own entropy, the share of sentences shared with knob 0,
and how fast documents are generated.
"""
import random
import re
import time

import numpy as np

from transfer_scaling.data.sources.synthetic import KNOBS_DEFAULT, _generate, _view, _world, documents


def _text(parts, seed, n_bytes):
  """At least n_bytes of UTF-8 documents at knobs (words, grammar, facts), NUL-joined as when packed."""
  out, size = [], 0
  for doc in _generate(_view(*parts), random.Random(f"synthetic/{parts!r}/{seed}"), None):
    out.append(doc.encode("utf-8"))
    size += len(out[-1]) + 1
    if size >= n_bytes:
      return b"\0".join(out)


def _ngram_codes(data, n):
  x = np.frombuffer(data, np.uint8).astype(np.int64)
  codes = np.zeros(len(x) - n + 1, np.int64)
  for j in range(n):
    codes = (codes << 8) | x[j:len(x) - n + 1 + j]
  return codes


def _ngram_model(data, n):
  """(codes, counts) of the byte n-grams in data and of their (n-1)-byte contexts."""
  codes = _ngram_codes(data, n)
  return np.unique(codes, return_counts=True), np.unique(codes >> 8, return_counts=True)


def _lookup(table, keys):
  uniq, counts = table
  pos = np.minimum(np.searchsorted(uniq, keys), len(uniq) - 1)
  return np.where(uniq[pos] == keys, counts[pos], 0)


def _ngram_bits(model, data, n):
  """Cross-entropy of data under an add-one smoothed byte n-gram model, in bits per byte."""
  codes = _ngram_codes(data, n)
  p = (_lookup(model[0], codes) + 1) / (_lookup(model[1], codes >> 8) + 256)
  return float(-np.log2(p).mean())


def _sentences(data):
  return re.split(r"(?<=[.;])\s+|\n|\0", data.decode("utf-8"))


def _distance_table(settings=[(t, t, t) for t in KNOBS_DEFAULT], n=4, n_bytes=2_000_000):
  """Per setting (words, grammar, facts): H(text | knob-0 model), H(text | own model), difference, shared sentences.

  Entropies in bits per byte on held-out text (seed 2); the knob-0 model is fitted on seed 0,
  the setting's own model on seed 1, both on n_bytes. Shared sentences: the share of held-out
  sentences that also occur in the knob-0 sample (seed 0), which sees facts change as well.
  """
  source_text = _text((0.0, 0.0, 0.0), 0, n_bytes)
  source, source_sentences = _ngram_model(source_text, n), set(_sentences(source_text))
  rows = []
  for parts in settings:
    held_out = _text(parts, 2, n_bytes)
    cross = _ngram_bits(source, held_out, n)
    own = _ngram_bits(_ngram_model(_text(parts, 1, n_bytes), n), held_out, n)
    sents = _sentences(held_out)
    shared = sum(x in source_sentences for x in sents) / len(sents)
    rows.append((parts, cross, own, cross - own, shared))
  return rows


def _speed(knob, n_bytes=20_000_000, repeats=3):
  """Median MB/s (wall clock, CPU time) of generating n_bytes of UTF-8 documents, the knob's view built."""
  _view(knob, knob, knob)
  wall, cpu = [], []
  for r in range(repeats):
    start, start_cpu, size = time.perf_counter(), time.process_time(), 0
    for doc in documents(knob, r):
      size += len(doc.encode("utf-8"))
      if size >= n_bytes:
        break
    wall.append(size / (time.perf_counter() - start) / 1e6)
    cpu.append(size / (time.process_time() - start_cpu) / 1e6)
  return sorted(wall)[repeats // 2], sorted(cpu)[repeats // 2]


def _main():
  start = time.perf_counter()
  _world()
  print(f"world built in {time.perf_counter() - start:.2f} s")
  knobs = [(t, t, t) for t in KNOBS_DEFAULT]
  one_part = [(t, 0.0, 0.0) for t in (0.5, 1.0)] + [(0.0, t, 0.0) for t in (0.5, 1.0)]
  one_part += [(0.0, 0.0, t) for t in (0.5, 1.0)]
  for n, settings in ((3, knobs), (4, knobs + one_part)):
    print(f"\nbyte {n}-gram, add-one, 2 MB per model, bits per byte\n")
    print("| knob (words, grammar, facts) | cross-entropy, knob-0 model | entropy, own model | distance "
          "| shared sentences |")
    print("|---|---|---|---|---|")
    for knobs, cross, own, dist, shared in _distance_table(settings, n=n):
      label = f"{knobs[0]:.2f}" if len(set(knobs)) == 1 else "(" + ", ".join(f"{t:g}" for t in knobs) + ")"
      print(f"| {label} | {cross:.3f} | {own:.3f} | {dist:.3f} | {shared:.3f} |")
  print("\n| knob | mean doc bytes | MB/s wall clock | MB/s CPU time |\n|---|---|---|---|")
  for t in KNOBS_DEFAULT:
    docs = list(documents(t, 9, 5000))
    mean = sum(len(d.encode("utf-8")) for d in docs) / len(docs)
    wall, cpu = _speed(t)
    print(f"| {t:.2f} | {mean:.0f} | {wall:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
  _main()
