"""Cleaning and extraction helpers, and how prepare reports a source it cannot get."""
import pytest

from transfer_scaling.commands import corpora as corpora_cmd
from transfer_scaling.data import build, catalog, fetch, prepared, text
from transfer_scaling.data.sources.base import Doc, Source
from transfer_scaling.errors import UsageError


def test_decode_counts_undecodable_bytes():
  assert text.decode("héllo".encode()) == ("héllo", 0)
  body, bad = text.decode(b"caf\xe9 \xff ok \xef\xbf\xbd")  # the last one is a real U+FFFD, not an error
  assert bad == 2 and body.endswith("ok \ufffd")


def test_clean_removes_separator_byte_and_controls():
  assert text.clean("a\x00b\r\nc\x1b[31mred\x1b[0m\n\n\n\nd\x07") == "ab\ncred\n\nd"


def test_roff_to_text():
  src = ('.\\" comment\n.TH LS 1\n.SH NAME\nls \\- list\n.TP\n\\fB\\-a\\fP, \\fB\\-\\-all\\fR\n'
         'show \\(lqall\\(rq\n.BR ls (1)\n')
  assert text.clean(text.roff_to_text(src)) == 'NAME\nls - list\n-a, --all\nshow "all"\nls(1)'


def test_html_to_text_keeps_the_content_and_splits_at_headings():
  html = (b"<html><head><title>t</title><script>x()</script></head><body><nav>menu</nav>"
          b"<div id='main'><h2>One</h2><p>first text</p><h2>Two</h2><p>second</p></div><div>footer</div></body></html>")
  parts = [text.clean(p) for p in text.html_to_text(html, keep="//div[@id='main']", split_at=".//h2")]
  assert parts == ["", "One\nfirst text", "Two\nsecond"]
  assert "menu" not in text.clean(text.html_to_text(html)[0]) and "x()" not in text.html_to_text(html)[0]


@pytest.mark.parametrize("sample, lang", [
    ("Der Dialog erscheint, wenn ein Dokument ein oder mehrere Makros enthält und die Sicherheit nicht genügt.", "de"),
    ("El diálogo aparece cuando un documento contiene una o más macros y la seguridad no es suficiente.", "es"),
    ("La boîte de dialogue apparaît quand un document contient des macros et que la sécurité est insuffisante.", "fr"),
    ("当文档包含一个或多个宏时，将显示此对话框。", "zh")])
def test_language_filter_keeps_translations_and_drops_english(sample, lang):
  english = "The dialog appears when a document contains one or more macros and the security is not sufficient."
  assert text.is_language(sample, lang)
  assert not text.is_language(english, lang)


def _missing(_roots):
  raise fetch.SourceMissing("some-package", "apt-get download some-package")
  yield  # a generator, like every extractor


def _present(_roots):
  for i in range(50):
    yield Doc(f"d{i}", f"document number {i} " + "with some words " * 20)


def test_missing_source_is_reported_and_the_rest_is_built(tmp_path, monkeypatch, capsys):
  monkeypatch.setenv("TRANSFER_SCALING_DATA", str(tmp_path))
  corpus = catalog.Corpus("partial", "test", (Source("gone", (), "-", _missing), Source("here", (), "-", _present)))
  monkeypatch.setitem(catalog.BUILTIN, "partial", corpus)
  assert corpora_cmd.main(["prepare", "partial"]) == 0
  out = capsys.readouterr()
  assert "apt-get download some-package" in out.err and "apt-get download some-package" in out.out
  meta = prepared.read_meta("partial")
  assert meta["missing"] == [{"source": "gone", "package": "some-package", "command": "apt-get download some-package"}]
  assert [s["source"] for s in meta["sources"]] == ["here"]


def test_corpus_with_nothing_available_fails_with_the_command(tmp_path, monkeypatch, capsys):
  monkeypatch.setenv("TRANSFER_SCALING_DATA", str(tmp_path))
  monkeypatch.setitem(catalog.BUILTIN, "none", catalog.Corpus("none", "test", (Source("gone", (), "-", _missing),)))
  with pytest.raises(UsageError, match="has 0 usable document.*get the missing packages some-package "
                                       ".`apt-get download some-package`"):
    build.prepare("none")
  assert corpora_cmd.main(["prepare", "none", "nope"]) == 2
  err = capsys.readouterr().err
  assert "has 0 usable document" in err and "unknown corpus 'nope'" in err


def test_looks_like_python_finds_code_in_prose_not_prose_itself():
  from transfer_scaling.data.text import looks_like_python
  assert looks_like_python("A web framework.\n\n  from flask import Flask\n  app = Flask(__name__)\n")
  assert looks_like_python("Example:\n>>> f(2)\n4\n")
  assert looks_like_python("def hello():\n    return 1\n")
  assert not looks_like_python("To import goods from abroad, define your terms.\nPrint the page (twice).")
  assert not looks_like_python("HAMLET. To be, or not to be, that is the question:\n")
