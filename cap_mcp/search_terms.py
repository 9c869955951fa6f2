"""Reading a request for catalogue search: its words, what they mean in Capillary's terms, and its intent.

The words themselves are data (`tool_schemas/vocabulary.json`, loaded by `cap_mcp.vocabulary`);
this module applies them, in this order:

1. translations: Hinglish and shorthand become English ("kitne" → how many, "cust" → customer);
2. spelling: a word neither the catalogue nor the vocabulary knows becomes the nearest known
   word ("reedem" → redeem), trusted a little less;
3. phrases, words, synonyms and hints give weighted terms; symptoms ("code" with "invalid")
   add the terms of the operation that looks into that problem.

Operations and requests go through the same `term()` (equivalents replaced, light stemming),
so that "vouchers" in a request meets "coupon" in an operation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from .spelling import Spelling, distance
from .vocabulary import Vocabulary, vocabulary

_TOKEN = re.compile(r"[a-z0-9]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_PHONE = re.compile(r"(?<![\w-])\+?\d{10,13}\b")
_CARD = re.compile(r"(?<![\w-])\d{14,19}\b")
_SHORT_NUMBER = re.compile(r"(?<![\w.,-])\d{3,9}(?![\w.,%])")
_QUOTED = re.compile(r"(?<!\w)['\u2018\"\u201c][^'\"\u2018\u2019\u201c\u201d]{1,40}['\u2019\"\u201d](?!\w)")
_COLON = re.compile(r":(?!\d)")  # not a time, "10:30"
_CLAUSE = re.compile(r"[,;:!?\n]+|\.(?!\d)")

SYNONYM_WEIGHT, HINT_WEIGHT = 0.6, 0.3
SYMPTOM_WEIGHT = 0.9
SETTING_WEIGHT = 0.4  # "at the till", "on the app": where it happened, rarely what is wanted
PURPOSE_WEIGHT = 0.5  # a purpose ("so I can update her"), a reason, a later step or a light verb counts half
QUESTIONED_WEIGHT = 0.8  # a verb inside a question ("did her voucher get issued") asks about an act
ONE_EDIT_TRUST, TWO_EDITS_TRUST = 0.9, 0.7


def camel_split(text: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text).replace("_", " ")
    return text.replace("'", "").replace("\u2019", "").lower()


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


@dataclass(frozen=True)
class Reading:
    """A request in plain English words, with how far each word is trusted and the intent its grammar shows."""

    words: list[str]
    trust: list[float]
    verb: str | None  # "read"/"write" from a Hinglish verb ("check karo", "badlo"); None when there is none
    clauses: tuple[int, ...] = (0,)  # where each clause starts ("she brought it back, log the return")


class Language:
    """A vocabulary made ready for matching: phrases and symptoms stemmed, word lists as sets, a term cache."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        lists = vocab.words
        self.stop, self.question, self.action = lists["stop"], lists["question"], lists["action"]
        self.lead_in, self.trouble, self.many = lists["lead_in"], lists["trouble"], lists["many"]
        self.asker, self.do, self.setting = lists["asker"], lists["do"], lists["setting"]
        self.purpose, self.reason, self.light = lists["purpose"], lists["reason"], lists["light"]
        self.then, self.first, self.before = lists["then"], lists["first"], lists["before"]
        self.where, self.says, self.not_a_step = lists["where"], lists["says"], lists["not_a_step"]
        self.phone_words, self.email_words = lists["phone_words"], lists["email_words"]
        self.person, self.speakers, self.pronouns, self.modal = (
            lists["person"], lists["speakers"], lists["pronouns"], lists["modal"]
        )  # fmt: skip
        self.content, self.towards, self.determiners = lists["content"], lists["towards"], lists["determiners"]
        self._terms: dict[str, str] = {}
        self.objects = frozenset(self.term(w) for w in vocab.objects)  # what operations act on: coupon, point...
        self.phrases = self._phrase_table(vocab.phrases)
        self.idioms = self._phrase_table(vocab.idioms)
        self.translations = {tuple(key.split()): value for key, value in vocab.translations.items()}
        self.longest_translation = max((len(key) for key in self.translations), default=1)
        # A listed misspelling read in any inflection: "chnage" is listed, so "chnaged" and "chnages" are change too.
        self.misspelt = {
            stem(key): value
            for key, value in vocab.translations.items()
            if " " not in key and len(value) == 1 and distance(key, value[0], 2) <= 2
        }
        self.symptoms = tuple(
            (
                tuple(frozenset(self._symptom_word(w) for w in group) for group in symptom.all),
                frozenset(self._symptom_word(w) for w in symptom.none),
                tuple(self.term(w) for w in symptom.terms),
                symptom.intent,
            )
            for symptom in vocab.symptoms
        )

    def _symptom_word(self, word: str) -> str:
        """A symptom word as matched: its term, or "=word" for exactly that word ("=getting" is not "got")."""
        return word if word.startswith("=") else self.term(word)

    def _phrase_table(self, table: Mapping[str, tuple[str, ...]]) -> dict[tuple[str, ...], tuple[str, ...]]:
        # keyed as a request is read: "is she a member" is matched as "is she member"
        return {tuple(self.term(w) for w in words_of(k)): tuple(self.term(w) for w in v) for k, v in table.items()}

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

    def target_words(self) -> set[str]:
        """The vocabulary's words for what operations do: a misspelt word may be corrected into one of them."""
        vocab = self.vocab
        found: set[str] = set()
        for table in (vocab.synonyms, vocab.hints, vocab.phrases, vocab.idioms):
            for key, values in table.items():
                found.update(key.split())
                found.update(values)
        found.update(vocab.same)
        found.update(vocab.same.values())
        for symptom in vocab.symptoms:
            found.update(symptom.terms)
            for group in symptom.all:
                found.update(w.lstrip("=") for w in group)
        # and question words, though not matched, say a request is a question: "whihc labels is she tagged with"
        return (found - self.stop) | {w for w in self.question if w.isalpha()}

    def known_words(self) -> set[str]:
        """Words that are not typos though no operation uses them: word lists, Hinglish, ordinary English."""
        vocab = self.vocab
        found: set[str] = set(vocab.not_typos)
        for words in vocab.words.values():
            found.update(words)
        for key, value in vocab.translations.items():
            found.update(key.split())
            found.update(value)
        return found

    def read(self, query: str, spelling: Spelling | None = None) -> Reading:
        """The request's words with quoted names left out, Hinglish and shorthand translated, typos corrected."""
        words: list[str] = []
        trust: list[float] = []
        clauses: list[int] = []
        verb = None
        translated = False
        # "tag her 'do not call'": a name, not the request; "add a note: called about...": the note's text
        unquoted = _QUOTED.sub(" ", _EMAIL.sub(" email ", self._without_content(query)))
        for clause in _CLAUSE.split(unquoted if words_of(unquoted) else query):
            raw = words_of(clause)
            if not raw:
                continue
            clauses.append(len(words))
            i = 0
            while i < len(raw):
                # Hindi puts the verb last: "check karo" asks to look, "add karo" / "badlo" to act.
                if raw[i] in self.do or (raw[i] == "do" and translated and i == len(raw) - 1):
                    verb = "read" if words and words[-1] in self.question else "write"
                    translated = True
                    i += 1
                    continue
                for size in range(min(self.longest_translation, len(raw) - i), 0, -1):
                    meaning = self.translations.get(tuple(raw[i : i + size]))
                    if meaning is not None:
                        break
                else:
                    size, meaning = 1, self.misspelt.get(stem(raw[i]))
                if meaning is None:
                    words.append(raw[i])
                    trust.append(1.0)
                else:
                    translated = True
                    words.extend(meaning)
                    trust.extend([1.0] * len(meaning))
                    if any(w in self.question for w in meaning):
                        verb = "read"
                    elif any(self._is_action(w) for w in meaning):
                        verb = "write"
                i += size
        if spelling is not None:
            for j, word in enumerate(words):
                corrected = spelling.correct(word)
                if corrected is not None:
                    words[j] = corrected[0]
                    trust[j] = ONE_EDIT_TRUST if corrected[1] == 1 else TWO_EDITS_TRUST
        return Reading(words, trust, verb, tuple(clauses) or (0,))

    def _without_content(self, query: str) -> str:
        """A request without the text it dictates: "add a note: called about missing points" is about a note."""
        for colon in _COLON.finditer(query):
            said = words_of(query[: colon.start()])
            if said and (said[-1] in self.content or stem(said[-1]) in self.content):
                return query[: colon.start()]
        return query

    def understand(self, query: str, spelling: Spelling | None = None) -> tuple[dict[str, float], str | None]:
        """A request's weighted terms and its intent, reading it once."""
        reading = self.read(query, spelling)
        leaning = self._intent(query, reading)
        return self._weights(query, reading, leaning), leaning

    def expand(self, query: str, spelling: Spelling | None = None) -> dict[str, float]:
        """Weighted terms of a request: its own words (1.0), phrases (1.0), symptoms (0.9), synonyms (0.6), hints (0.3)."""
        return self.understand(query, spelling)[0]

    def intent(self, query: str, spelling: Spelling | None = None) -> str | None:
        """'read' for a question ("what tier is he", "did the transfer go through"), 'write' for a request to act."""
        return self._intent(query, self.read(query, spelling))

    def _weights(self, query: str, reading: Reading, leaning: str | None) -> dict[str, float]:
        words, trust = reading.words, reading.trust
        weights: dict[str, float] = {}

        def put(term: str, weight: float) -> None:
            if weight > weights.get(term, 0.0):
                weights[term] = weight

        stems = [self.term(w) for w in words]
        later = self._later(words, reading.clauses)
        # a word's weight before its own meaning: how far it is trusted, and half in a later step
        base = [t * (PURPOSE_WEIGHT if step else 1.0) for t, step in zip(trust, later, strict=True)]
        positions = [i for i, w in enumerate(words) if w not in self.stop]
        unpronounced = [i for i, w in enumerate(words) if w not in self.pronouns]
        used: set[int] = set()  # words an idiom has explained: their own meanings would mislead
        receiving = self._recipients(words)
        background = self._background(words, reading.clauses)
        for table, consumes in ((self.idioms, True), (self.phrases, False)):
            for where in (list(range(len(stems))), positions, unpronounced):
                # "sign up" needs its stop word; "send her an email" reads as "send email"; "look her up" as "look up"
                sequence = [stems[i] for i in where]
                for size in (4, 3, 2):
                    for i in range(len(sequence) - size + 1):
                        meaning = table.get(tuple(sequence[i : i + size]))
                        if meaning:
                            span = where[i : i + size]
                            confidence = min(base[k] for k in span)
                            if not consumes and span[0] in receiving and leaning == "write":
                                confidence *= SETTING_WEIGHT  # "a voucher to the new member": who gets it
                            for term in meaning:
                                put(term, confidence)
                            if consumes:
                                used.update(span)
        marks = [(t, "=" + w) for t, w in zip(stems, words, strict=True)]
        for groups, none, terms, _ in self.symptoms:
            strength = self._symptom_strength(groups, none, marks, base)
            for term in terms:
                put(term, SYMPTOM_WEIGHT * strength)
        purpose = self._purpose_start(words)
        aside = next((i for i, w in enumerate(words) if w in self.reason and i > 0), len(words))
        asked = self._start(words)
        labels = (self.phone_words if _PHONE.search(query) else frozenset()) | (
            self.email_words if _EMAIL.search(query) else frozenset()
        )
        for i, (word, term) in enumerate(zip(words, stems, strict=True)):
            if i in used:
                continue
            scale = base[i]
            if i >= purpose and self._is_action(word):
                scale *= PURPOSE_WEIGHT
            elif leaning == "read" and i > asked and self._is_action(word):
                scale *= QUESTIONED_WEIGHT  # "did her voucher get issued": asks about an act, does not ask for one
            if i > aside:  # "change her tier because she's a VIP": the reason is not the request
                scale *= PURPOSE_WEIGHT
            if leaning == "read" and self._told_by(words, i):  # "the ticket she raised": which ticket, not an act
                scale *= PURPOSE_WEIGHT
            if i in background:  # "send the code again, she deleted the message": why, not what
                scale *= PURPOSE_WEIGHT
            if word in self.setting and self._is_setting(words, i):
                scale *= SETTING_WEIGHT
            if i in receiving and leaning == "write":
                scale *= SETTING_WEIGHT  # "issue a voucher to the new member": who gets it
            if word in labels:  # "mob 98100...": the word only names the identifier given
                scale *= SETTING_WEIGHT
            if word in self.light:  # "check the series": a verb that says little about what is wanted
                scale *= PURPOSE_WEIGHT
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
        # A full identifier: look the customer up rather than search; when asked to act, it is only an argument.
        lookup = 0.3 if leaning == "write" else 0.6
        if _EMAIL.search(query):
            put("email", 1.0)
            put("lookup", lookup)
        if _PHONE.search(query):
            put(self.term("mobile"), 0.6)
            put("lookup", lookup)
        elif _CARD.search(query):
            put("card", 0.6)
        if "search" in weights and (_EMAIL.search(query) or _PHONE.search(query)):
            weights["search"] *= PURPOSE_WEIGHT  # a whole number or address is looked up; a part is searched for
        for i, word in enumerate(words):  # "her customer id", not "user id 5512300": the id is what is wanted
            whose = words[i - 1] if i else ""
            if (
                word == "id"
                and (whose in self.person or whose[:1].isdigit())
                and (i + 1 == len(words) or not words[i + 1].isdigit())
                and not later[i]
            ):
                put("lookup", SYNONYM_WEIGHT)
        if _SHORT_NUMBER.search(query):  # "bill 88231", "txn 77812": a record's id or number
            put("id", HINT_WEIGHT)
        if "bulk" in weights:
            put("bulk", 1.0)
        return weights

    def _intent(self, query: str, reading: Reading) -> str | None:
        if reading.verb is not None:
            return reading.verb
        words = reading.words
        marks = [(self.term(w), "=" + w) for w in words]
        now = [0.0 if step else 1.0 for step in self._later(words, reading.clauses)]
        ends = (*reading.clauses[1:], len(words))
        clauses = [words[begin:end] for begin, end in zip(reading.clauses, ends, strict=True)]
        asked = self._clause_intent(clauses[0]) if clauses else None
        if asked is not None:  # the request says what it wants before it describes a problem
            return asked
        for groups, none, _, leaning in self.symptoms:
            if leaning and self._symptom_strength(groups, none, marks, now) == 1.0:
                return leaning  # "she never got the sms": the fix is to send it again
        for clause in clauses[1:]:
            asked = self._clause_intent(clause)
            if asked is not None:
                return asked
        if query.rstrip().endswith("?") or any(w in self.trouble for w in words):
            return "read"  # a question, or a problem to look into ("she can't use her voucher")
        return None

    def _clause_intent(self, clause: list[str]) -> str | None:
        if self._modal_question(clause):
            return "read"
        start = self._start(clause)
        if start < len(clause):
            if clause[start] in self.question:
                return "read"
            # "she transferred points but ...", "transferred points not received": a past event, not an order;
            # "she claims she never spent them": what someone does, not an order
            word = clause[start]
            inflected = stem(word) != word
            told = inflected and (word.endswith("ed") or (start > 0 and clause[start - 1] in self.pronouns))
            if self._is_action(word) and not told:
                return "write"
        return None

    def speaks_of_many(self, query: str) -> bool:
        return any(w in self.many for w in words_of(query))

    def _start(self, words: list[str]) -> int:
        """Index of the first word after lead-ins such as "please", "can you", "the customer wants to"."""
        start = 0
        while start < len(words) and words[start] in self.lead_in and words[start] not in self.question:
            start += 1
        return start

    @staticmethod
    def _symptom_strength(
        groups: tuple[frozenset[str], ...], none: frozenset[str], marks: list[tuple[str, str]], base: list[float]
    ) -> float:
        """How strongly a symptom is described: 0 unless a word of every group is there and none of `none`;
        else its weakest group's strongest word (so a symptom told as a later step counts half)."""
        if any(term in none or word in none for term, word in marks):
            return 0.0
        strength = 1.0
        for group in groups:
            found = (b for (term, word), b in zip(marks, base, strict=True) if term in group or word in group)
            strength = min(strength, max(found, default=0.0))
            if strength == 0.0:
                break
        return strength

    def _later(self, words: list[str], clauses: tuple[int, ...]) -> list[bool]:
        """Words of a later step: "look her up first, then send an OTP", "get her id, then tag her",
        "before issuing her coupon, find the series". The first call is what is asked for now."""
        later = [False] * len(words)
        ends = (*clauses[1:], len(words))
        spans = list(zip(clauses, ends, strict=True))
        for i, word in enumerate(words):
            if word in self.then and 0 < i < len(words) - 1:
                later[i + 1 :] = [True] * (len(words) - i - 1)
                break
        for i, word in enumerate(words):
            begin, end = next((b, e) for b, e in spans if b <= i < e)
            if word in self.before:  # up to the clause's end, or to "I need..." when no comma says where it ends
                stop = next((j for j in range(i + 3, end) if words[j] in self.speakers), end)
                later[i:stop] = [True] * (stop - i)
            elif word in self.first and (i + 1 == len(words) or words[i + 1] not in self.not_a_step):
                start = max((j + 1 for j in range(begin, i) if words[j] in ("but", "and")), default=begin)
                for j in range(len(words)):
                    later[j] = later[j] or not start <= j < end
                break
        return later

    def _purpose_start(self, words: list[str]) -> int:
        """Where a purpose clause begins: "send an OTP to confirm her email", "her id so I can update her"."""
        start = self._start(words)
        acts = start < len(words) and self._is_action(words[start])
        for i in range(start + 1, len(words) - 1):
            if words[i] in self.purpose and (
                words[i + 1] in self.pronouns or words[i + 1] in ("that", "can", "we", "you")
            ):
                return i + 1
            if acts and i > start and words[i] == "to" and self._is_action(words[i + 1]):
                return i + 1
        return len(words)

    def _is_setting(self, words: list[str], i: int) -> bool:
        """'at the till', 'on the app', 'the till says': where something happened, not what is wanted."""
        before = words[max(0, i - 3) : i]
        after = words[i + 1 : i + 2]
        # "the cashier added it twice": who did it, in a story, is not what is wanted
        told = any(w in self.says or (w.endswith("ed") and len(w) > 4) for w in after)
        return any(w in self.where for w in before) or told

    def _recipients(self, words: list[str]) -> set[int]:
        """Positions of a person after 'to the' / 'for this' ("to the new member"), up to the next stop word."""
        found: set[int] = set()
        for i in range(2, len(words)):
            if self._is_recipient(words, i):
                j = i
                while j < len(words) and words[j] not in self.stop:
                    j += 1
                if any(w in self.person for w in words[i:j]):
                    found.update(range(i, j))
        return found

    def _background(self, words: list[str], clauses: tuple[int, ...]) -> set[int]:
        """Words of a clause that tells what someone did ("she deleted the message") when another clause asks."""
        ends = (*clauses[1:], len(words))
        spans = [(b, e) for b, e in zip(clauses, ends, strict=True) if e > b]
        asking = [(b, e) for b, e in spans if self._clause_intent(words[b:e])]
        # "process it" leans on the story for what "it" is; "send her the code again" says it all itself
        if not any(sum(w not in self.stop for w in words[b:e]) >= 2 for b, e in asking):
            return set()
        told: set[int] = set()
        for b, e in spans:
            first, verb = words[b], words[b + 1] if e > b + 1 else ""
            if first in self.pronouns and verb.endswith("ed") and stem(verb) != verb:
                told.update(range(b, e))
        return told

    def _told_by(self, words: list[str], i: int) -> bool:
        """A past act told of a thing ("the ticket she raised", "the points he redeemed"): which one, not an act;
        or of what she stopped or started doing ("she stopped getting our sms")."""
        word = words[i]
        past = word.endswith("ed") and stem(word) != word
        if not past or i == 0 or words[i - 1] not in self.pronouns:
            return False
        # "she stopped getting our sms, is she unsubscribed": what happened to her, asked about, is not an order
        of_a_thing = i > 1 and self.term(words[i - 2]) in self.objects
        return of_a_thing or (i + 1 < len(words) and words[i + 1].endswith("ing"))

    def _is_recipient(self, words: list[str], i: int) -> bool:
        """'to the new member', 'for this new customer': a phrase that names who receives, not what is done."""
        return i > 1 and words[i - 1] in self.determiners and words[i - 2] in self.towards

    def _is_action(self, word: str) -> bool:
        return word in self.action or stem(word) in self.action

    def _modal_question(self, words: list[str]) -> bool:
        return len(words) > 1 and words[0] in self.modal and words[1] not in self.asker


def _lookup(table: Mapping[str, tuple[str, ...]], word: str) -> tuple[str, ...]:
    found = table.get(word)
    if found is None:
        found = table.get(stem(word), ())
    return found


@cache
def language() -> Language:
    """The shipped vocabulary, compiled on the first search."""
    return Language(vocabulary())
