"""How much of a target corpus is a translation of documents its source corpus already holds.

Two detectors, one stated and one as a check on it:

  key     a target document whose translation key (multilingual.translation_key: the page's path,
          manual section, package Description-md5 or man page name, without the language) is the key
          of a source document. Exact where the packages align their pages; blind to anything else.
  tokens  a target document whose language-independent tokens (runs of ASCII letters, digits and
          _ . / - of at least 6 characters with a digit or one of _ . /: numbers, paths, URLs,
          options, identifiers) are mostly (CONTAINMENT) found in one single source document. Keys
          play no part, so it catches a translation whatever its key; a document with fewer than
          MIN_TOKENS such tokens (a short package description, a poem) cannot be judged and is
          counted as not overlapping.

Each gives the share of the target's bytes in documents it flags (`measure`).
"""
import re
from collections import Counter

from transfer_scaling.data.sources.multilingual import translation_key

# Thresholds, read off english against german/spanish/french/chinese (docs/corpora.md, "Targets
# without shared documents"): documents whose key matches share a median of most of their tokens with
# one English document; documents of sources with no English counterpart (fortunes, news, man pages)
# rarely share more than a fifth.
MIN_TOKENS = 4        # fewer distinct tokens than this: too little to judge
CONTAINMENT = 0.5     # share of a target document's tokens found in one source document
MAX_SOURCE_DOCS = 50  # a token in more source documents than this (a licence URL, "/usr/bin") says nothing

_RUN = re.compile(r"[A-Za-z0-9_./-]{6,}")
_MARK = re.compile(r"[0-9_./]")  # a hyphen alone makes a compound word (CSV-Dateien), not a token


def tokens(body: str) -> set[str]:
  """The document's language-independent tokens (edge punctuation stripped: 'file.' is not a token)."""
  out = set()
  for run in _RUN.findall(body):
    t = run.strip("./-")
    if len(t) >= 6 and _MARK.search(t):
      out.add(t)
  return out


def keys(docs) -> set[str]:
  """The translation keys of (id, text) documents (documents without one contribute nothing)."""
  return {k for k in (translation_key(i) for i, _ in docs) if k}


class TokenIndex:
  """Which source documents hold each informative token."""

  def __init__(self, docs, max_docs: int = MAX_SOURCE_DOCS):
    postings = {}
    for n, (_, body) in enumerate(docs):
      for t in tokens(body):
        postings.setdefault(t, []).append(n)
    self.postings = {t: p for t, p in postings.items() if len(p) <= max_docs}
    self.common = {t for t, p in postings.items() if len(p) > max_docs}

  def containment(self, body: str) -> tuple[int, float]:
    """(informative tokens of body, the largest share of them held by one source document)."""
    mine = tokens(body) - self.common
    if not mine:
      return 0, 0.0
    hits = Counter(n for t in mine for n in self.postings.get(t, ()))
    return len(mine), (max(hits.values()) / len(mine) if hits else 0.0)


def flags(target_docs, source_docs, min_tokens: int = MIN_TOKENS, threshold: float = CONTAINMENT):
  """Per target (id, text): (translation key matches a source key, tokens contained in one source doc, containment)."""
  source_docs = list(source_docs)
  shared_keys, index = keys(source_docs), TokenIndex(source_docs)
  for doc_id, body in target_docs:
    n, share = index.containment(body)
    yield translation_key(doc_id) in shared_keys, n >= min_tokens and share >= threshold, share


def measure(target_docs, source_docs, **kw) -> dict:
  """Sizes of the target and the share of its bytes that overlaps the source, by each detector."""
  target_docs = list(target_docs)
  out = {"documents": len(target_docs), "bytes": 0, "characters": 0, "key_bytes": 0, "token_bytes": 0,
         "either_bytes": 0}
  for (_, body), (by_key, by_tokens, _) in zip(target_docs, flags(target_docs, source_docs, **kw)):
    n = len(body.encode("utf-8"))
    out["bytes"] += n
    out["characters"] += len(body)
    out["key_bytes"] += n * by_key
    out["token_bytes"] += n * by_tokens
    out["either_bytes"] += n * (by_key or by_tokens)
  for k in ("key", "token", "either"):
    out[f"{k}_share"] = out[f"{k}_bytes"] / max(out["bytes"], 1)
  return out


def corpus_documents(name: str) -> list[tuple[str, str]]:
  """(id, text) of every document of a prepared corpus, all splits."""
  from transfer_scaling.data import prepared
  prepared.content_hash(name)  # not prepared or an older format -> UsageError naming the command
  return [(i, t) for docs in prepared.read_documents(name).values() for t, i in docs]
