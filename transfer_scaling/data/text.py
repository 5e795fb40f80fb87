"""Turning raw files into clean documents: decoding, control characters, HTML, language."""
import re

# Byte 0 separates documents in the packed stream, so it must never occur inside one.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_BLANKS = re.compile(r"\n{3,}")


def decode(raw: bytes) -> tuple[str, int]:
  """UTF-8 text and the number of undecodable bytes (replaced by U+FFFD rather than failing)."""
  try:
    return raw.decode("utf-8"), 0
  except UnicodeDecodeError:
    text = raw.decode("utf-8", errors="replace")
    return text, text.count("\ufffd") - raw.count("\xef\xbf\xbd".encode("latin-1"))


_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


def control_bytes(raw: bytes) -> int:
  """How many bytes of raw are control bytes other than tab, newline, form feed and carriage return.

  Text in any encoding has almost none; executables, images and archives are full of them.
  """
  return len(raw) - len(raw.translate(None, _CONTROL_BYTES))


def clean(text: str) -> str:
  """Normalise newlines, drop ANSI codes and control characters (NUL included), squeeze blank runs."""
  text = text.replace("\r\n", "\n").replace("\r", "\n")
  text = _ANSI.sub("", text)
  text = _CONTROL.sub("", text)
  text = _BLANKS.sub("\n\n", text)
  return text.strip()


_SECTION = "\ue000section\ue000"  # a private-use marker: lxml refuses control characters


def html_to_text(raw: bytes, keep: str = "", split_at: str = "", drop: str = "") -> list[str]:
  """Visible text of an HTML page (script, style, head, navigation dropped), as a list of sections.

  keep: an XPath selecting the part to keep (e.g. the main content div); split_at: an XPath
  of headings that start a new section (without it the list has one element); drop: an XPath
  of further parts to remove (navigation bars that are plain divs).
  """
  import lxml.html  # lazily: only HTML sources need it
  try:
    root = lxml.html.document_fromstring(raw)
  except Exception:  # empty or broken page
    return []
  for bad in root.xpath("//script|//style|//head|//nav|//noscript" + ("|" + drop if drop else "")):
    bad.drop_tree()
  if keep:
    found = root.xpath(keep)
    if not found:
      return []
    root = found[0]
  for e in root.xpath(".//br|.//p|.//div|.//li|.//h1|.//h2|.//h3|.//h4|.//tr|.//pre|.//dt|.//dd"):
    e.tail = "\n" + (e.tail or "")
  if split_at:
    for h in root.xpath(split_at):
      h.text = _SECTION + (h.text or "")
  text = root.text_content()
  text = re.sub(r"[ \t]+", " ", text)
  text = re.sub(r"\n[ \t]+", "\n", text)
  return text.split(_SECTION)


_STOPWORDS = {k: set(v.split()) for k, v in {
    "en": "the and of to is in that for it with as are this be on not you by or from can",
    "de": "der die und das ist nicht ein eine zu mit den sie von für auf werden im sich des wird",
    "es": "el la de que los las en un una es por con para del se no al como más",
    "fr": "le la les de des et est un une du en pour que dans pas qui sur au avec vous",
}.items()}


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def language_scores(text: str) -> dict[str, float]:
  """Share of words that are common stopwords of each language; 'zh' is the share of CJK characters."""
  words = re.findall(r"[^\W\d_]+", text.lower())
  n = max(len(words), 1)
  scores = {lang: sum(w in sw for w in words) / n for lang, sw in _STOPWORDS.items()}
  letters = sum(c.isalpha() for c in text)
  scores["zh"] = len(_CJK.findall(text)) / max(letters, 1)
  return scores


# Lines that only Python source or a Python session would hold.
_PYTHON_LINE = re.compile(r"^\s*(def \w+\(|import \w+$|from [\w.]+ import \w|>>> \S|print\(.*\)$)", re.M)


def looks_like_python(text: str) -> bool:
  """True if TEXT holds a line of Python (a def, an import, a >>> prompt, a print call)."""
  return _PYTHON_LINE.search(text) is not None


def is_language(text: str, lang: str) -> bool:
  """True if TEXT reads as LANG rather than (untranslated) English."""
  s = language_scores(text)
  if lang == "zh":
    return s["zh"] >= 0.3
  return s[lang] >= 0.08 and s[lang] > s["en"]


_ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\s[+-]?\d+"), ""),             # size changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),  # string registers
    (re.compile(r"\\\((em|en)"), "—"), (re.compile(r"\\\(bu"), "•"),
    (re.compile(r"\\\((aq|cq|oq)"), "'"), (re.compile(r"\\\((dq|lq|rq)"), '"'),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),      # other special characters
    (re.compile(r"\\[-e]"), lambda m: "-" if m.group(0) == "\\-" else "\\"),
    (re.compile(r"\\[&,/|^:%~ 0]"), lambda m: " " if m.group(0) in ("\\ ", "\\~", "\\0") else ""),
    (re.compile(r"\\(\\)"), "\\\\"),
]
_ROFF_TEXT_MACROS = {"SH", "SS", "B", "I", "BR", "IR", "RB", "BI", "IB", "SM", "SB", "IP", "TP", "UR", "MT", "Nm",
                     "Nd", "Sh"}


def roff_to_text(src: str) -> str:
  """Plain text of a man page's roff source (a crude, fast renderer: no hyphenation, no tables)."""
  out = []
  for line in src.splitlines():
    if line.startswith((".\\\"", "'\\\"", '.\\"')) or line.strip() in (".", "'"):
      continue
    if line.startswith((".", "'")):
      parts = line[1:].strip().split(None, 1)
      if not parts:
        continue
      macro, args = parts[0], (parts[1] if len(parts) > 1 else "")
      if macro in ("SH", "SS", "Sh"):
        out.append("\n" + args.replace('"', ""))
      elif macro in _ROFF_TEXT_MACROS:
        if args:
          out.append(args.replace('"', "") if macro not in ("BR", "IR", "RB", "BI", "IB") else
                     "".join(a.strip('"') for a in re.findall(r'"[^"]*"|\S+', args)))
      elif macro in ("PP", "LP", "P", "sp", "br", "Pp"):
        out.append("")
      continue
    out.append(line)
  text = "\n".join(out)
  for pattern, repl in _ROFF_ESCAPES:
    text = pattern.sub(repl, text)
  return text
