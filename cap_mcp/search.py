"""Catalogue search: the operations for a request in everyday words, best first.

Search ranks operations with BM25 over their name, title, keywords, toolset and description,
for the terms a request is read into (`cap_mcp.search_terms`: Hinglish and shorthand
translated, typos corrected, everyday words, idioms and described problems mapped to
Capillary's terms; the words are data in `tool_schemas/vocabulary.json`). On top of BM25: a
bonus for the operation's best keyword phrase found in the request, and light priors —
questions lean to reads and requests to act lean to changes; the core support toolsets, and
the desk's usual choice among near twins, are slightly preferred; an operation by user id
comes after its twin that takes a mobile or email; batch operations need a request that
speaks of many; specialist toolsets need a request about their subject. A result that
needs a user id says which operation gives it.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .catalog import Operation
from .search_terms import Language, camel_split, language, stem, words_of
from .spelling import Spelling

_SENTENCE = re.compile(r"(?<=[.:;])\s+")
_IDENTIFIER = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
# A customer named by a mobile number or an email: what a look-up takes, not the user id most changes need.
# (The email is found from its "@": a pattern that starts with the name part retries from every character of a
# long request, quadratic time on 20 KB of letters.)
_GIVEN_IDENTIFIER = re.compile(r"(?<=[\w.+-])@[\w-]+\.\w|(?<![\w.])\+?\d[\d -]{8,14}\d(?![\w.])")
_VERSION = re.compile(r"(?<![\w.])v?1\.1(?![\w.])|\bv1\b", re.IGNORECASE)  # "the v1.1 api", "v1 call"


def expand(query: str) -> dict[str, float]:
    """Weighted search terms of a request (see `Language.expand`)."""
    return language().expand(query)


def intent(query: str) -> str | None:
    """'read', 'write' or None: what a request leans to (see `Language.intent`)."""
    return language().intent(query)


@dataclass(frozen=True)
class _Doc:
    op: Operation
    terms: dict[str, float]
    length: float
    phrases: tuple[tuple[str, ...], ...]
    bulk: bool
    first: tuple[str, str] | None  # (operation, argument): where a required id comes from, e.g. customer_lookup_id
    finds: tuple[tuple[str, str, tuple[str, ...]], ...]  # each required id's (finder, argument, nouns it goes by)
    prior: float  # the desk's usual choice among near twins counts a little more, a by-user-id twin less
    subject: frozenset[str]  # a specialist operation's subject: without one of these terms it counts less
    core: float  # the core support toolsets are slightly preferred
    objects: frozenset[str]  # what the operation acts on (coupon, points, label...), from its name and title
    reads: bool  # its effect is read: a question leans to it
    phrase_idf: tuple[tuple[frozenset[str], float], ...] = ()  # each keyword phrase with its terms' idf


class SearchIndex:
    """BM25F-style ranking over weighted fields, plus everyday-phrase matches and light intent priors.

    Names, titles and keywords count more than descriptions; a description's sentences that
    point to other operations ("Find the series with coupon_series_get") are not indexed, so an
    operation is not found for what it points to. Built on the first search, with each term's
    per-operation BM25 weight precomputed, so that a search only walks the postings of the
    request's terms; the spelling table is built on the first unknown word.
    """

    FIELDS: tuple[tuple[str, float], ...] = (
        ("name", 3.0), ("title", 3.0), ("keywords", 2.5), ("toolset", 1.0), ("description", 1.0), ("path", 0.5),
    )  # fmt: skip
    K1, B = 1.4, 0.6
    PHRASE_BONUS = 0.6
    INTENT_PRIOR = 1.3
    CORE_PRIOR = 1.08
    BULK_PRIOR = 0.85  # batch operations, unless the request speaks of many
    TWIN_PRIOR = 0.88  # an operation by user id whose twin finds the customer by mobile or email
    VERSION_PRIOR = 0.8  # a v1.1 operation whose v2 twin does the same, unless the request asks for v1.1
    USUAL_PRIOR = 1.06  # the support desk's usual first call among similar operations
    NAMED_WEIGHT = 0.85  # a word (or phrase, or symptom) names what the request is about; a synonym does not
    OTHER_OBJECT_PRIOR = 0.85  # an operation on something else than the request names (points for a coupon)
    SUBJECT_WEIGHT = 0.5  # a word or synonym speaks of a subject; a hint does not
    OFF_SUBJECT_PRIOR = 0.85  # a specialist operation (partner programmes, footfall...) for a request not about it

    def __init__(self, operations: Iterable[Operation], words: Language | None = None) -> None:
        self.words = words or language()
        self.objects = self.words.objects
        ops = list(operations)
        self._names = frozenset(op.name for op in ops)
        self._ops = {op.name: op for op in ops}
        self._seen: Counter[str] = Counter()  # words of what operations are called and do
        self._described: set[str] = set()  # and of how they are described
        self.docs = [self._doc(op) for op in ops]
        targets = self._seen + Counter(dict.fromkeys(self.words.target_words(), 1))
        self.spelling = Spelling(targets, self._described | self.words.known_words(), stem)
        self.avg = sum(d.length for d in self.docs) / max(len(self.docs), 1)
        frequency: Counter[str] = Counter()
        for doc in self.docs:
            frequency.update(doc.terms.keys())
        n = len(self.docs)
        self.idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}
        self.docs = [
            replace(doc, phrase_idf=tuple((frozenset(p), sum(self.idf.get(t, 0.0) for t in p)) for p in doc.phrases))
            for doc in self.docs
        ]
        self._by_name = {doc.op.name: doc for doc in self.docs}
        # v1.1 operation -> (its v2 twin, the terms that ask for what only the v1.1 one does), both in this index
        self.version_twins = {
            old: (twin.twin, frozenset(twin.only))
            for old, twin in self.words.vocab.version_twins.items()
            if old in self._by_name and twin.twin in self._by_name
        }
        k1, b = self.K1, self.B
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, doc in enumerate(self.docs):
            squash = k1 * (1 - b + b * doc.length / self.avg)
            for term, tf in doc.terms.items():
                self.postings.setdefault(term, []).append((i, self.idf[term] * tf * (k1 + 1) / (tf + squash)))

    def _keywords(self, op: Operation) -> tuple[str, ...]:
        """An operation's keywords, with its twin's: the two do the same thing (one by user id, one by mobile
        or email), so each answers the other's everyday words."""
        twins = self.words.vocab.identifier_twins
        twin = twins.get(op.name) or next((a for a, b in twins.items() if b == op.name), None)
        other = self._ops.get(twin) if twin else None
        return tuple(dict.fromkeys(op.keywords + (other.keywords if other else ())))

    def _own_description(self, text: str) -> str:
        """What the operation itself does: after the first sentence, a sentence naming another operation
        ("Find the series with coupon_series_get") says what to call around it, so it is left out."""
        sentences = _SENTENCE.split(text)
        kept = [s for i, s in enumerate(sentences) if i == 0 or not self._names_another(s)]
        return _IDENTIFIER.sub(lambda m: " " if m.group() in self._names else m.group(), " ".join(kept))

    def _names_another(self, sentence: str) -> bool:
        return any(m.group() in self._names for m in _IDENTIFIER.finditer(sentence))

    def _doc(self, op: Operation) -> _Doc:
        fields = {
            "name": op.name,
            "title": op.title,
            "keywords": " ; ".join(self._keywords(op)),
            "toolset": op.toolset,
            "description": self._own_description(op.description),
            "path": re.sub(r"\{[^}]*\}", " ", op.path),
        }
        terms: dict[str, float] = {}
        for field_name, weight in self.FIELDS:
            if field_name in ("name", "title", "keywords"):
                self._seen.update(w for w in words_of(fields[field_name]) if w not in self.words.stop)
            else:
                self._described.update(words_of(fields[field_name]))
            for token in self.words.tokens(fields[field_name]):
                terms[token] = terms.get(token, 0.0) + weight
        # "her coupons", "is she VIP": in a keyword a pronoun is the customer
        pronouns = self.words.pronouns
        keywords = (" ".join("customer" if w in pronouns else w for w in words_of(k)) for k in self._keywords(op))
        phrases = tuple(p for p in (tuple(self.words.tokens(k)) for k in keywords) if len(p) > 1)
        bulk = "bulk" in op.name.split("_")
        vocab = self.words.vocab
        finds = tuple(
            (finder, a.name, _nouns(a.name, op.toolset))
            for a in op.args
            if a.required
            and (finder := vocab.first_calls.get(f"{op.toolset}:{a.name}") or vocab.first_calls.get(a.name))
            and finder != op.name
            and finder in self._names
        )
        first = (finds[0][0], finds[0][1]) if finds else None
        prior = self.USUAL_PRIOR if op.name in vocab.usual else 1.0
        if vocab.identifier_twins.get(op.name) in self._names:
            prior *= self.TWIN_PRIOR
        words = vocab.subjects.get(op.name, vocab.subjects.get(op.toolset, ()))
        subject = frozenset(self.words.term(w) for w in words)
        core = self.CORE_PRIOR if op.toolset in vocab.core_toolsets else 1.0
        objects = frozenset(self.words.tokens(f"{op.name} {op.title}")) & self.objects
        if not objects and "customer" in op.name.split("_"):  # a customer's profile: not what "her bill id" asks for
            objects = frozenset({"customer"})
        return _Doc(
            op, terms, sum(terms.values()), phrases, bulk, first, finds, prior, subject, core, objects,
            op.effect == "read",
        )  # fmt: skip

    def _lesser_twins(self, said: set[str], versioned: bool) -> set[str]:
        """Of each v1.1 operation and its v2 twin, the one that counts less: the v1.1 one, unless the request
        names v1.1 or asks for what only it does ("the gap to renew her tier", "several customers at once")."""
        lesser = set()
        for old, (new, only) in self.version_twins.items():
            lesser.add(new if versioned or not only.isdisjoint(said) else old)
        return lesser

    def first_call(self, name: str) -> tuple[str, str] | None:
        """(operation, argument) to call first for a required id, e.g. ("customer_lookup_id", "userId")."""
        doc = self._by_name.get(name)
        return doc.first if doc else None

    def search(
        self, query: str, *, toolset: str | None = None, effect: str | None = None, limit: int = 5
    ) -> list[tuple[Operation, float]]:
        wanted, leaning = self.words.understand(query, self.spelling)
        many = self.words.speaks_of_many(query)
        has_id = "id" in words_of(query)
        versioned = _VERSION.search(query) is not None  # "using the v1.1 api": the older twin is what is wanted
        matched: dict[int, float] = {}
        for term, weight in wanted.items():
            for i, value in self.postings.get(term, ()):
                matched[i] = matched.get(i, 0.0) + weight * value
        strong = {term for term, weight in wanted.items() if weight >= self.SUBJECT_WEIGHT}
        named = {term for term, weight in wanted.items() if weight >= self.NAMED_WEIGHT} & self.objects
        present = wanted.keys()
        lesser = self._lesser_twins(set(words_of(query)), versioned)
        scored = []
        for i, score in matched.items():
            doc = self.docs[i]
            if (toolset and doc.op.toolset != toolset) or (effect and doc.op.effect != effect) or score <= 0:
                continue
            # The operation's best keyword phrase in the request; a phrase is there only as much as its weakest word.
            bonus = 0.0
            for phrase, idf in doc.phrase_idf:
                if phrase <= present:
                    bonus = max(bonus, idf * min(min(1.0, wanted[t]) for t in phrase))
            score = (score + self.PHRASE_BONUS * bonus) * doc.core
            if leaning is not None and doc.reads == (leaning == "read"):
                score *= self.INTENT_PRIOR
            if doc.bulk and not many:
                score *= self.BULK_PRIOR
            if not has_id:  # given a user id, the by-id twin is as good as the one that takes a mobile
                score *= doc.prior
            if doc.op.name in lesser:
                score *= self.VERSION_PRIOR
            if doc.subject and doc.subject.isdisjoint(strong):
                score *= self.OFF_SUBJECT_PRIOR
            if named and doc.objects and doc.objects.isdisjoint(named):  # "the coupon redemption": not points
                score *= self.OTHER_OBJECT_PRIOR
            scored.append((-score, doc.op.name, doc.op))
        found = [(op, -negative) for negative, _, op in heapq.nsmallest(limit, scored)]
        if found:
            found = self._look_up_first(query, found, toolset, effect, limit, has_id)
        return found

    def _look_up_first(
        self,
        query: str,
        found: list[tuple[Operation, float]],
        toolset: str | None,
        effect: str | None,
        limit: int,
        has_id: bool,
    ) -> list[tuple[Operation, float]]:
        """The first call to make is the one that finds an id the best operation needs and the request does not
        give: "reverse her redemption" starts with her redemptions, "take 98... out of her family group" with the
        group she is in. A customer's user id is the exception: the desk often has it, so its look-up comes first
        only when the request names the customer by mobile or email instead ("tag 9876501234 as VIP")."""
        best, score = found[0]
        finder = None
        for name, _argument, nouns in self._by_name[best.name].finds:
            if set(nouns) & _PERSON:
                if not has_id and _GIVEN_IDENTIFIER.search(query):
                    finder = name
                    break
            elif not _gives_id(query, nouns):
                finder = name
                break
        if finder is None:
            return found
        lookup = self._ops[finder]
        if (toolset and lookup.toolset != toolset) or (effect and lookup.effect != effect):
            return found
        rest = [(op, value) for op, value in found if op.name != lookup.name]
        return [(lookup, score), *rest][:limit]


_PERSON = frozenset({"user", "customer"})  # ids of the customer: named by mobile or email, looked up
_VALUE = r"[:#]?\s*(?:[a-z]*\d[\w/-]*)"  # "3021", "#R-5521", ": RED9931"


def _nouns(argument: str, toolset: str) -> tuple[str, ...]:
    """What an id goes by in a request: "redemptionIds" -> redemption; a bare "id" by its toolset (reward)."""
    words = [w for w in camel_split(argument).replace("_", " ").lower().split() if w not in ("id", "ids")]
    if not words:
        words = [toolset.split("_")[0].removesuffix("s")]
    return tuple(words)


def _gives_id(query: str, nouns: tuple[str, ...]) -> bool:
    """Whether a request gives an id itself: a value right after the id's noun ("group 3021", "redemption id
    #5521", "target no. 7") or after the word id ("its id is 88")."""
    text = query.lower()
    for noun in nouns:
        if re.search(rf"\b{noun}\w*\s+(?:(?:id|no|number|ref|code)\b\.?\s*(?:is\s+)?)?{_VALUE}", text):
            return True
    return re.search(rf"\bid\b\s*(?:is\s+|of\s+)?{_VALUE}", text) is not None
