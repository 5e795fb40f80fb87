"""Turning raw files into clean documents: decoding, control characters, HTML, language."""
import re
import unicodedata

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


def clean(text: str) -> str:
  """Normalise newlines, drop ANSI codes and control characters (NUL included), squeeze blank runs."""
  text = text.replace("\r\n", "\n").replace("\r", "\n")
  text = _ANSI.sub("", text)
  text = _CONTROL.sub("", text)
  text = _BLANKS.sub("\n\n", text)
  return text.strip()


def html_to_text(raw: bytes) -> str:
  """Visible text of an HTML page (script, style, head and navigation dropped)."""
  import lxml.html  # lazily: only HTML sources need it
  try:
    root = lxml.html.document_fromstring(raw)
  except Exception:  # empty or broken page
    return ""
  for bad in root.xpath("//script|//style|//head|//nav|//noscript"):
    bad.drop_tree()
  for br in root.xpath("//br|//p|//div|//li|//h1|//h2|//h3|//h4|//tr|//pre"):
    br.tail = "\n" + (br.tail or "")
  text = root.text_content()
  text = re.sub(r"[ \t]+", " ", text)
  return re.sub(r"\n[ \t]+", "\n", text)


_STOPWORDS = {k: set(v.split()) for k, v in {
    "en": "the and of to is in that for it with as are this be on not you by or from can",
    "de": "der die und das ist nicht ein eine zu mit den sie von für auf werden im sich des wird",
    "es": "el la de que los las en un una es por con para del se no al como más",
    "fr": "le la les de des et est un une du en pour que dans pas qui sur au avec vous",
}.items()}


def language_scores(text: str) -> dict[str, float]:
  """Share of words that are common stopwords of each language; 'zh' is the share of CJK characters."""
  words = re.findall(r"[^\W\d_]+", text.lower())
  n = max(len(words), 1)
  scores = {lang: sum(w in sw for w in words) / n for lang, sw in _STOPWORDS.items()}
  letters = [c for c in text if c.isalpha()]
  scores["zh"] = sum("CJK" in unicodedata.name(c, "") for c in letters) / max(len(letters), 1)
  return scores


def is_language(text: str, lang: str) -> bool:
  """True if TEXT reads as LANG rather than (untranslated) English."""
  s = language_scores(text)
  if lang == "zh":
    return s["zh"] >= 0.3
  return s[lang] >= 0.08 and s[lang] > s["en"]
