"""A fictional encyclopedia whose distance from the source distribution is dialled by a knob.

One fixed world (about 21k people, places, organisations, species and written works, each
with attributes and links to other entities) is rendered into encyclopedia articles through
templates. Every changeable element carries a fixed number u in (0, 1), spread evenly within
its class, and the variant at knob t uses the changed version of exactly the elements with
u < t, so the set of changes grows with t (knob 0 is the source, knob 1 changes everything):

  (a) vocabulary: each word (function words, attribute words, name parts, heading words)
      has a second form drawn from a lexicon with other letters and syllable shapes;
  (b) grammar: each sentence template (and the article layout) has a second form with
      the word order reversed, another sentence terminator and another heading markup;
  (c) facts: each (entity, attribute) value has a second value drawn from the same prior.

Digits, spaces and the world's shape (entity kinds, Zipf popularity, how many facts an
entity has) are shared by all knobs, so every variant is equally structured and about
equally hard to model; only its distance from the source changes. The seed picks
documents (which entity, paraphrases, order), never the world, so two seeds of one knob
are the same distribution. `python -m transfer_scaling.data.synthetic` prints the n-gram
distance table of docs/synthetic.md and the generation speed.
"""
import bisect
import functools
import math
import operator
import random
from typing import Iterator


from transfer_scaling.errors import UsageError

KNOBS_DEFAULT = (0.0, 0.25, 0.5, 0.75, 1.0)
_WORLD_SEED = 20210201

# Source and variant word shapes (onsets, nuclei, codas): same numbers of one- and two-letter
# parts in each slot, so words are alike in length and entropy, but other letters and clusters.
_SRC = ("b c d f g h k l m n p r s t v w br cl dr fr gr pl st tr th sh ch".split(),
        "a e i o u a e i o ea ai ou".split(), ["", "", "", "n", "r", "l", "s", "m", "nd", "rt", "ck"])
_VAR = ("z x q j k y v w g d n m l r s t kh zh tl dz ts qu gn vl sk zr xh".split(),
        "y u o a y u o a y uy oa yo".split(), ["", "", "", "x", "q", "k", "z", "j", "tl", "ks", "zz"])

_ATTRS = {
    "occupation": "painter weaver sailor merchant poet healer mapmaker builder soldier priest farmer potter "
                  "judge scholar singer tailor baker hunter miner clockmaker glassblower teacher lawyer printer "
                  "fisher brewer carpenter dancer thief courier",
    "field": "weavers astronomers merchants healers miners sailors scribes masons bakers brewers archers monks "
             "poets smiths farmers hunters",
    "orgtype": "guild company society order league brotherhood academy circle",
    "climate": "dry wet cold mild windy foggy hot stormy",
    "class": "bird fish beetle moth fern lizard toad snail moss tree crab spider bat frog mushroom shrub",
    "color": "red blue green grey black white yellow brown pale golden spotted striped",
    "diet": "seeds insects leaves fish fruit moss worms roots nectar bark",
    "form": "novel poem song play map chronicle ballad treatise hymn fable",
}
# Generated name pools: (size, syllables low, high).
_POOLS = {"given_m": (300, 2, 2), "given_f": (300, 2, 3), "family": (2500, 2, 3), "stem": (3000, 1, 2),
          "suffix": (10, 1, 1), "genus": (1500, 2, 3), "epithet": (300, 2, 3), "title": (1200, 1, 3),
          "country": (40, 2, 3)}

# Columns: ("ref", kind) a link, ("attr", class) a word, ("num", lo, hi) log-uniform, ("int", lo, hi) uniform.
# A relation is (section, columns, two paraphrases); S is the subject, A and B the columns' values.
_KINDS = {
    "person": dict(count=9000, headings=("life", "later life"), cols=dict(
        occ=("attr", "occupation"), born_y=("int", 1100, 1880), span=("int", 25, 90),
        born_at=("ref", "place"), died_at=("ref", "place"), member=("ref", "org"),
        teacher=("ref", "person"), home=("ref", "place")), rels=[
        (0, ("occ",), ("S was a A", "S worked as a A")),
        (1, ("born_at", "born_y"), ("S was born in A in B", "in B , S was born in A")),
        (1, ("teacher",), ("S studied under A", "S was a student of A")),
        (1, ("member",), ("S joined A", "S was a member of A")),
        (2, ("home",), ("S lived in A for many years", "S made a home in A")),
        (2, ("died_at", "died_y"), ("S died in A in B", "in B , S died in A"))]),
    "place": dict(count=3000, headings=("history", "geography"), cols=dict(
        country=("attr", "country"), founded_y=("int", 300, 1800), pop=("num", 50, 900000),
        climate=("attr", "climate"), near=("ref", "place"), fauna=("ref", "species"), twin=("ref", "place")),
        rels=[
        (0, ("country",), ("S is a town in A", "S is a settlement in A")),
        (1, ("founded_y",), ("S was founded in A", "in A , S was founded")),
        (1, ("twin",), ("S is twinned with A", "S has close ties with A")),
        (2, ("near",), ("S lies near A", "S is close to A")),
        (2, ("pop",), ("S has a population of A", "about A people live in S")),
        (2, ("climate",), ("S has a A climate", "the climate of S is A")),
        (2, ("fauna",), ("S is known for A", "A is common around S"))]),
    "org": dict(count=2000, headings=("history", "organisation"), cols=dict(
        field=("attr", "field"), founded_y=("int", 800, 1900), founder=("ref", "person"),
        seat=("ref", "place"), members=("num", 10, 50000)), rels=[
        (0, ("field",), ("S is a society of A", "S is a group of A")),
        (1, ("founder", "founded_y"), ("S was founded by A in B", "in B , A founded S")),
        (2, ("seat",), ("S is based in A", "the seat of S is in A")),
        (2, ("members",), ("S has A members", "S counts A members"))]),
    "species": dict(count=3000, headings=("description", "discovery"), cols=dict(
        cls=("attr", "class"), color=("attr", "color"), size=("num", 1, 300), habitat=("ref", "place"),
        diet=("attr", "diet"), by=("ref", "person"), by_y=("int", 1500, 1950)), rels=[
        (0, ("cls",), ("S is a kind of A", "S is a species of A")),
        (1, ("color", "size"), ("S is A and grows to B cm", "S reaches B cm and is A")),
        (1, ("diet",), ("S feeds on A", "S eats mostly A")),
        (2, ("habitat",), ("S lives near A", "S is found around A")),
        (2, ("by", "by_y"), ("S was described by A in B", "in B , A described S"))]),
    "work": dict(count=4000, headings=("background", "content"), cols=dict(
        form=("attr", "form"), author=("ref", "person"), year=("int", 1100, 1950), setting=("ref", "place"),
        about=("ref", "person"), copies=("num", 1, 900)), rels=[
        (0, ("form", "author"), ("S is a A by B", "S is a A written by B")),
        (1, ("year",), ("S was finished in A", "S first appeared in A")),
        (1, ("setting",), ("S is set in A", "the story of S takes place in A")),
        (2, ("about",), ("S tells of A", "S is about A")),
        (2, ("copies",), ("A copies of S survive", "S survives in A copies"))]),
}
_PRONOUNS = ("he", "she", "it")
_TERMINATOR = (".", ";")  # source, variant grammar
_LAYOUT = (("= {} =", "== {} ==", "=== {} ==="), ("# {}", "## {}", "### {}"))  # title, heading, subheading
_RELATED = (1, 10)  # short sub-articles on linked entities: documents of ~300 to ~2000 bytes
_PRONOUN_P = 0.35


def _word(rng, shape, n_syl):
  onsets, nuclei, codas = shape
  parts = []
  for i in range(n_syl):
    parts.append(onsets[int(rng.random() * len(onsets))] + nuclei[int(rng.random() * len(nuclei))])
    if i == n_syl - 1 or rng.random() < 0.2:
      parts.append(codas[int(rng.random() * len(codas))])
  return "".join(parts)


def _fresh_word(rng, shape, n_syl, taken, length=None):
  """A word not yet taken, cut to `length` letters if given; longer after many misses (short shapes run out)."""
  for tries in range(10**6):
    w = _word(rng, shape, n_syl + tries // 50)
    if length is not None:
      w = w[:length + tries // 50]
    if w not in taken:
      taken.add(w)
      return w
  raise RuntimeError("word shapes exhausted")  # unreachable: words grow until they are new


def _spread(rng, n):
  """n values in (0, 1), one in each of n equal bins, in random order: each class changes evenly."""
  u = [(i + rng.random()) / n for i in range(n)]
  for i in range(n - 1, 0, -1):
    j = int(rng.random() * (i + 1))
    u[i], u[j] = u[j], u[i]
  return u


class _World:
  """Everything fixed by the world seed: lexicon (two forms per word), facts (two values), templates."""

  def __init__(self, seed):
    rng = random.Random(seed)
    src_taken, var_taken = set(), set()
    self.src, self.var, self.u = [], [], []  # per lexicon item
    self.items = {}  # class -> item ids

    def add_class(name, src_words, var_syl=None):
      """Variant forms: same syllable counts as generated source names, same length as given English words."""
      ids = list(range(len(self.src), len(self.src) + len(src_words)))
      self.items[name] = ids
      self.u += _spread(rng, len(ids))
      for k, w in enumerate(src_words):
        self.src.append(w)
        self.var.append(_fresh_word(rng, _VAR, var_syl[k], var_taken) if var_syl else
                        _fresh_word(rng, _VAR, 4, var_taken, length=len(w)))

    func = sorted({t for k in _KINDS.values() for _, _, ps in k["rels"] for p in ps for t in p.split()
                   if t.islower()} | {t for k in _KINDS.values() for h in k["headings"] for t in h.split()}
                  | set(_PRONOUNS) | {"the"})
    src_taken.update(func)
    add_class("func", func)
    for name, words in _ATTRS.items():
      ws = words.split()
      src_taken.update(ws)
      add_class(name, ws)
    for name, (n, lo, hi) in _POOLS.items():
      syl = [lo + int(rng.random() * (hi - lo + 1)) for _ in range(n)]
      add_class(name, [_fresh_word(rng, _SRC, s, src_taken) for s in syl], syl)
    self.word = {self.src[i]: i for i in self.items["func"]}

    # Entities: names as tuples of lexicon items; facts as (source value, variant value, u) columns.
    self.kinds = list(_KINDS)
    self.names, self.facts, self.gender = {}, {}, [int(rng.random() * 2) for _ in range(_KINDS["person"]["count"])]
    pick = lambda cls: self.items[cls][int(rng.random() * len(self.items[cls]))]
    n = {k: spec["count"] for k, spec in _KINDS.items()}
    self.names["person"] = [(pick(("given_m", "given_f")[g]), pick("family")) for g in self.gender]
    stems = self.items["stem"]
    self.names["place"] = [(stems[i], pick("suffix")) if rng.random() < 0.6 else (stems[i],)
                           for i in range(n["place"])]
    self.names["org"] = [(self.word["the"], pick("family"), pick("orgtype")) for _ in range(n["org"])]
    self.names["species"] = [(pick("genus"), pick("epithet")) for _ in range(n["species"])]
    self.names["work"] = [tuple(pick("title") for _ in range(1 + int(rng.random() * 2))) for _ in range(n["work"])]
    self.ref_cdf = {k: _zipf_cdf(c, 0.8) for k, c in n.items()}
    for kind, spec in _KINDS.items():
      for col, typ in spec["cols"].items():
        vals = [[self._value(rng, typ) for _ in range(n[kind])] for _ in range(2)]
        if typ[:2] == ("ref", kind):  # no entity links to itself
          vals = [[(v + 1) % n[kind] if v == j else v for j, v in enumerate(vs)] for vs in vals]
        self.facts[kind, col] = (vals[0], vals[1], _spread(rng, n[kind]))
    # Documents pick their main entity by a Zipf law over all entities in a fixed shuffled order.
    order = [(k, i) for k in self.kinds for i in range(n[k])]
    for i in range(len(order) - 1, 0, -1):
      j = int(rng.random() * (i + 1))
      order[i], order[j] = order[j], order[i]
    self.order, self.main_cdf = order, _zipf_cdf(len(order), 1.0)
    n_tpl = sum(2 * len(spec["rels"]) for spec in _KINDS.values())
    self.tpl_u = _spread(rng, n_tpl)
    self.layout_u = _spread(rng, 3)

  def _value(self, rng, typ):
    if typ[0] == "ref":
      return bisect.bisect_left(self.ref_cdf[typ[1]], rng.random())
    if typ[0] == "attr":
      ids = self.items[typ[1]]
      return ids[int(rng.random() * len(ids))]
    if typ[0] == "num":
      return int(math.exp(math.log(typ[1]) + rng.random() * math.log(typ[2] / typ[1])))
    return typ[1] + int(rng.random() * (typ[2] - typ[1] + 1))


def _zipf_cdf(n, s):
  total, cdf = 0.0, []
  for r in range(1, n + 1):
    total += r ** -s
    cdf.append(total)
  return [c / total for c in cdf[:-1]] + [1.0]


@functools.cache
def _world() -> _World:
  return _World(_WORLD_SEED)


class _View:
  """The world rendered at one knob: every name, fact value and template already a string."""

  def __init__(self, world, t_words, t_grammar, t_facts):
    w = world
    form = [v if u < t_words else s for s, v, u in zip(w.src, w.var, w.u)]
    join = {"person": lambda p: " ".join(_cap(form[i]) for i in p),
            "place": lambda p: _cap("".join(form[i] for i in p)),
            "org": lambda p: " ".join([form[p[0]]] + [_cap(form[i]) for i in p[1:]]),
            "species": lambda p: _cap(form[p[0]]) + " " + form[p[1]],
            "work": lambda p: '"' + " ".join(_cap(form[i]) for i in p) + '"'}
    self.names = {k: [join[k](parts) for parts in w.names[k]] for k in w.kinds}
    self.pronoun = [form[w.word[p]] for p in _PRONOUNS]
    self.gender = w.gender
    self.order, self.main_cdf = w.order, w.main_cdf
    self.refs, self.rels, self.headings = {}, {}, {}
    n_tpl = 0
    for kind, spec in _KINDS.items():
      raw = {col: [b if u < t_facts else a for a, b, u in zip(*w.facts[kind, col])] for col in spec["cols"]}
      text = {}
      for col, typ in spec["cols"].items():
        if typ[0] == "ref":
          text[col] = [self.names[typ[1]][i] for i in raw[col]]
          self.refs.setdefault(kind, []).append((typ[1], raw[col]))
        elif typ[0] == "attr":
          text[col] = [_cap(form[i]) if typ[1] == "country" else form[i] for i in raw[col]]
        else:
          text[col] = [str(v) for v in raw[col]]
      if kind == "person":
        text["died_y"] = [str(b + s) for b, s in zip(raw["born_y"], raw["span"])]
      rels = []
      for section, cols, paraphrases in spec["rels"]:
        tpls = tuple(self._template(p, form, w, w.tpl_u[n_tpl + j] < t_grammar) for j, p in enumerate(paraphrases))
        n_tpl += len(paraphrases)
        rels.append((section, [text[c] for c in cols], tpls))
      self.rels[kind] = rels
      self.headings[kind] = [_cap(" ".join(form[w.word[x]] for x in h.split())) for h in spec["headings"]]
    self.layout = [_LAYOUT[u < t_grammar][i] for i, u in enumerate(w.layout_u)]

  @staticmethod
  def _template(text, form, w, switched):
    tokens = text.split()
    if switched:
      tokens.reverse()
    out = ""
    for tok in tokens:
      piece = {"S": "{0}", "A": "{1}", "B": "{2}", ",": ","}.get(tok) or form[w.word[tok]]
      out += piece if tok == "," or not out else " " + piece
    return out + _TERMINATOR[switched]

  def sentence(self, i, rel, subject, rng):
    _, cols, tpls = rel
    return _cap(tpls[rng.random() < 0.5].format(subject, *(c[i] for c in cols)))

  def subject(self, kind, i, rng):
    if rng.random() >= _PRONOUN_P:
      return self.names[kind][i]
    return self.pronoun[self.gender[i] if kind == "person" else 2]

  def document(self, rng) -> str:
    kind, i = self.order[bisect.bisect_left(self.main_cdf, rng.random())]
    rels = self.rels[kind]
    name = self.names[kind][i]
    lines = [self.layout[0].format(_cap(name)), self.sentence(i, rels[0], name, rng)]
    for section in (1, 2):
      body = [r for r in rels if r[0] == section]
      _shuffle(rng, body)
      lines.append(self.layout[1].format(self.headings[kind][section - 1]))
      lines.append(" ".join(self.sentence(i, r, self.subject(kind, i, rng), rng) for r in body))
    # Linked entities, following links from the main entity onward: a short walk through the world.
    for _ in range(_RELATED[0] + int(rng.random() * (_RELATED[1] - _RELATED[0] + 1))):
      links = self.refs[kind]
      kind, col = links[int(rng.random() * len(links))]
      i = col[i]
      rels = self.rels[kind]
      body = rels[1:]
      _shuffle(rng, body)
      body = body[:1 + int(rng.random() * 3)]
      lines.append(self.layout[2].format(_cap(self.names[kind][i])))
      lines.append(" ".join([self.sentence(i, rels[0], self.names[kind][i], rng)]
                            + [self.sentence(i, r, self.subject(kind, i, rng), rng) for r in body]))
    return "\n".join(lines)


def _cap(s):
  return s[:1].upper() + s[1:]


def _shuffle(rng, xs):
  for k in range(len(xs) - 1, 0, -1):
    j = int(rng.random() * (k + 1))
    xs[k], xs[j] = xs[j], xs[k]


@functools.lru_cache(maxsize=8)
def _view(t_words: float, t_grammar: float, t_facts: float) -> _View:
  """The knob moves all three together; separately they show what each part contributes."""
  return _View(_world(), t_words, t_grammar, t_facts)


def documents(knob: float, seed: int, n_docs: int | None = None) -> Iterator[str]:
  """Documents of the variant at distance `knob` in [0, 1] (0 = source); deterministic by (knob, seed)."""
  try:
    t = float(knob)
  except (TypeError, ValueError):
    t = float("nan")
  if isinstance(knob, bool) or not 0.0 <= t <= 1.0:
    raise UsageError(f"synthetic knob {knob!r} is not a number in [0, 1]; use e.g. 0.25 (0 = source, 1 = unrelated)")
  try:
    seed = operator.index(seed)
  except TypeError:
    raise UsageError(f"synthetic seed {seed!r} is not an integer; pass e.g. seed=0") from None
  if n_docs is not None and (isinstance(n_docs, bool) or not isinstance(n_docs, int) or n_docs < 0):
    raise UsageError(f"synthetic n_docs {n_docs!r} is not a count; pass an integer >= 0, or None for no end")
  return _generate(_view(t, t, t), random.Random(f"synthetic/{t!r}/{seed}"), n_docs)


def _generate(view, rng, n_docs):
  k = 0
  while n_docs is None or k < n_docs:
    yield view.document(rng)
    k += 1
