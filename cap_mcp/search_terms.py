"""Reading a request for catalogue search: its words, what they mean in Capillary's terms, and its intent.

The words themselves are data (`tool_schemas/vocabulary.json`, loaded by `cap_mcp.vocabulary`);
this module applies them. Operations and requests go through the same `term()` (equivalents
replaced, light stemming), so that "vouchers" in a request meets "coupon" in an operation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from .vocabulary import Vocabulary, vocabulary

_TOKEN = re.compile(r"[a-z0-9]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_PHONE = re.compile(r"(?<![\w-])\+?\d{10,13}\b")

SYNONYM_WEIGHT, HINT_WEIGHT = 0.6, 0.3


def camel_split(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text).replace("_", " ").replace("'", "").lower()


def stem(word: str) -> str:
    """A light English stemmer: plurals, -ed, -ing and a final -e, so that change/changes/changed/changing meet."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        word = _undouble(word[:-2])
    elif (word.endswith("es") and len(word) > 4 and word[-3] in "sxz") or word.endswith(("ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    if word.endswith("e") and len(word) > 3 and not word.endswith("ee"):
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeioulsz":
        return word[:-1]
    return word


def words_of(text: str) -> list[str]:
    return [w for w in _TOKEN.findall(camel_split(text)) if len(w) > 1 or w.isdigit()]


class Language:
    """A vocabulary made ready for matching: its phrases stemmed, its word lists as sets, a term cache."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        lists = vocab.words
        self.stop, self.question, self.action = lists["stop"], lists["question"], lists["action"]
        self.lead_in, self.trouble, self.many, self.asker = (
            lists["lead_in"],
            lists["trouble"],
            lists["many"],
            lists["asker"],
        )
        self._terms: dict[str, str] = {}
        self.phrases = {
            tuple(self.term(w) for w in phrase.split()): tuple(self.term(w) for w in meaning)
            for phrase, meaning in vocab.phrases.items()
        }

    def term(self, word: str) -> str:
        """A word's index term: everyday equivalents replaced, then stemmed."""
        found = self._terms.get(word)
        if found is None:
            same = self.vocab.same.get(word)
            if same is None:
                same = self.vocab.same.get(stem(word), word)
            found = self._terms[word] = stem(same)
        return found

    def tokens(self, text: str) -> list[str]:
        """Index terms of a text: camelCase and snake_case split, stop words dropped, equivalents replaced, stemmed."""
        return [self.term(w) for w in words_of(text) if w not in self.stop]

    def expand(self, query: str) -> dict[str, float]:
        """Weighted terms of a request: its own words (1.0), phrases (1.0), synonyms (0.6) and hints (0.3)."""
        words = words_of(query)
        weights: dict[str, float] = {}

        def put(term: str, weight: float) -> None:
            if weight > weights.get(term, 0.0):
                weights[term] = weight

        stems = [self.term(w) for w in words]
        kept = [t for w, t in zip(words, stems, strict=True) if w not in self.stop]
        for sequence in (stems, kept):  # "sign up" needs its stop word; "send her an email" reads as "send email"
            for size in (4, 3, 2):
                for i in range(len(sequence) - size + 1):
                    for term in self.phrases.get(tuple(sequence[i : i + size]), ()):
                        put(term, 1.0)
        start = self._start(words)
        acts = start < len(words) and self._is_action(words[start])
        for i, (word, term) in enumerate(zip(words, stems, strict=True)):
            # "send an OTP to confirm her email": the verb of a purpose clause is not the request
            scale = 0.5 if acts and i > start + 1 and words[i - 1] == "to" and self._is_action(word) else 1.0
            if word not in self.stop:
                put(term, scale)
            for synonym in _lookup(self.vocab.synonyms, word):
                put(self.term(synonym), SYNONYM_WEIGHT * scale)
            for hint in _lookup(self.vocab.hints, word):
                put(self.term(hint), HINT_WEIGHT * scale)
        if self._modal_question(words):  # "can she use 1000 points today": a check, not the act
            put("check", 0.6)
            put(self.term("redeemable"), 0.3)
            put(self.term("transferrable"), 0.3)
        if _EMAIL.search(query):  # a full identifier: look the customer up rather than search
            put("email", 1.0)
            put("lookup", 0.6)
        if _PHONE.search(query):
            put(self.term("mobile"), 0.6)
            put("lookup", 0.6)
        return weights

    def intent(self, query: str) -> str | None:
        """'read' for a question ("what tier is he", "did the transfer go through"), 'write' for a request to act."""
        words = words_of(query)
        if self._modal_question(words):
            return "read"
        start = self._start(words)
        if start < len(words):
            if words[start] in self.question:
                return "read"
            if self._is_action(words[start]):
                return "write"
        if query.rstrip().endswith("?") or any(w in self.trouble for w in words):
            return "read"  # a question, or a problem to look into ("she can't use her voucher")
        return None

    def speaks_of_many(self, query: str) -> bool:
        return any(w in self.many for w in words_of(query))

    def _start(self, words: list[str]) -> int:
        """Index of the first word after lead-ins such as "please", "can you", "the customer wants to"."""
        start = 0
        while start < len(words) and words[start] in self.lead_in and words[start] not in self.question:
            start += 1
        return start

    def _is_action(self, word: str) -> bool:
        return word in self.action or stem(word) in self.action

    def _modal_question(self, words: list[str]) -> bool:
        return len(words) > 1 and words[0] in ("can", "could", "may") and words[1] not in self.asker


def _lookup(table: Mapping[str, tuple[str, ...]], word: str) -> tuple[str, ...]:
    found = table.get(word)
    if found is None:
        found = table.get(stem(word), ())
    return found


@cache
def language() -> Language:
    """The shipped vocabulary, compiled on the first search."""
    return Language(vocabulary())
