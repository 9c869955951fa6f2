"""The words of catalogue search, kept as data in `tool_schemas/vocabulary.json`.

Requests use everyday words, shorthand and Hinglish; operations use Capillary's. The
vocabulary file bridges them (what each map means: `tool_schemas/README.md`). It is read
on the first search, not at server start-up, and checked as strictly as a toolset file:
an unknown key or a value of the wrong shape is refused with the file and key named.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .catalog import VOCABULARY_FILE, CatalogError, schema_dir

# The word lists the engine reads, each a set of lower-case words.
WORD_LISTS = (
    "stop", "question", "action", "lead_in", "trouble", "many", "asker", "do", "setting", "purpose", "reason",
    "then", "first", "before", "light", "where", "says", "not_a_step", "phone_words", "email_words", "person",
    "speakers", "pronouns", "modal", "content", "towards", "determiners",
)  # fmt: skip
_KEYS = {
    "$comment", "same", "phrases", "idioms", "synonyms", "hints", "translations", "symptoms", "words", "core_toolsets",
    "first_calls", "not_typos", "identifier_twins", "version_twins", "usual", "subjects", "objects",
}  # fmt: skip
_SYMPTOM_KEYS = {"all", "none", "terms", "intent"}


@dataclass(frozen=True)
class Symptom:
    """A problem described rather than named: when a request has a word of every `all` group (and none of
    `none`), the operations' own terms in `terms` are looked for too."""

    all: tuple[frozenset[str], ...]
    none: frozenset[str]
    terms: tuple[str, ...]
    intent: str | None = None  # "read" or "write" when the problem settles what the request wants


@dataclass(frozen=True)
class VersionTwin:
    """A v2 operation that does what a v1.1 one does, and the words that ask for what only the v1.1 one can do."""

    twin: str
    only: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    same: Mapping[str, str]
    phrases: Mapping[str, tuple[str, ...]]
    idioms: Mapping[str, tuple[str, ...]]
    synonyms: Mapping[str, tuple[str, ...]]
    hints: Mapping[str, tuple[str, ...]]
    translations: Mapping[str, tuple[str, ...]]
    symptoms: tuple[Symptom, ...]
    words: Mapping[str, frozenset[str]]
    core_toolsets: frozenset[str]
    first_calls: Mapping[str, str]
    not_typos: frozenset[str]
    identifier_twins: Mapping[str, str]
    version_twins: Mapping[str, VersionTwin]
    usual: frozenset[str]
    subjects: Mapping[str, tuple[str, ...]]
    objects: frozenset[str]


@cache
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, read once, on first use."""
    return load_vocabulary()


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    path = path or schema_dir() / VOCABULARY_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path.name}: cannot be read: {exc}") from None
    return parse_vocabulary(document, path.name)


def parse_vocabulary(document: Any, where: str = VOCABULARY_FILE) -> Vocabulary:
    if not isinstance(document, Mapping):
        raise CatalogError(f"{where}: must be a JSON object")
    unknown = sorted(set(document) - _KEYS)
    if unknown:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(unknown)}")
    words = _mapping(document.get("words", {}), f"{where}: words")
    missing = [name for name in WORD_LISTS if name not in words]
    extra = sorted(set(words) - set(WORD_LISTS))
    if missing or extra:
        raise CatalogError(f"{where}: words must hold exactly the lists {', '.join(WORD_LISTS)}")
    return Vocabulary(
        same={k: _word(v, f"{where}: same.{k}") for k, v in _mapping(document.get("same", {}), where).items()},
        phrases=_term_lists(document.get("phrases", {}), f"{where}: phrases"),
        idioms=_term_lists(document.get("idioms", {}), f"{where}: idioms"),
        synonyms=_term_lists(document.get("synonyms", {}), f"{where}: synonyms"),
        hints=_term_lists(document.get("hints", {}), f"{where}: hints"),
        translations=_term_lists(document.get("translations", {}), f"{where}: translations", empty=True),
        symptoms=tuple(_symptom(s, f"{where}: symptoms[{i}]") for i, s in enumerate(document.get("symptoms", []))),
        words={name: frozenset(_strings(words[name], f"{where}: words.{name}")) for name in WORD_LISTS},
        core_toolsets=frozenset(_strings(document.get("core_toolsets", []), f"{where}: core_toolsets")),
        first_calls={
            k: _word(v, f"{where}: first_calls.{k}")
            for k, v in _mapping(document.get("first_calls", {}), f"{where}: first_calls").items()
        },
        not_typos=frozenset(_strings(document.get("not_typos", []), f"{where}: not_typos")),
        identifier_twins={
            k: _word(v, f"{where}: identifier_twins.{k}")
            for k, v in _mapping(document.get("identifier_twins", {}), f"{where}: identifier_twins").items()
        },
        version_twins={
            k: _version_twin(v, f"{where}: version_twins.{k}")
            for k, v in _mapping(document.get("version_twins", {}), f"{where}: version_twins").items()
        },
        usual=frozenset(_strings(document.get("usual", []), f"{where}: usual")),
        subjects=_term_lists(document.get("subjects", {}), f"{where}: subjects"),
        objects=frozenset(_strings(document.get("objects", []), f"{where}: objects")),
    )


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: must be an object")
    return value


def _word(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or value != value.lower():
        raise CatalogError(f"{where}: must be a lower-case word")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v == v.lower() and v for v in value):
        raise CatalogError(f"{where}: must be a list of lower-case words")
    return value


def _term_lists(value: Any, where: str, *, empty: bool = False) -> dict[str, tuple[str, ...]]:
    table = {}
    for key, terms in _mapping(value, where).items():
        if key != key.lower() or not key.strip():
            raise CatalogError(f"{where}: {key!r} must be lower-case words")
        if not empty and not terms:
            raise CatalogError(f"{where}.{key}: must list at least one word")
        table[key] = tuple(_strings(terms, f"{where}.{key}"))
    return table


def _version_twin(value: Any, where: str) -> VersionTwin:
    value = _mapping(value, where)
    if "twin" not in value or set(value) - {"twin", "only"}:
        raise CatalogError(f"{where}: needs 'twin' (and optionally 'only'), nothing else")
    return VersionTwin(_word(value["twin"], f"{where}.twin"), tuple(_strings(value.get("only", []), f"{where}.only")))


def _symptom(value: Any, where: str) -> Symptom:
    value = _mapping(value, where)
    unknown = sorted(set(value) - _SYMPTOM_KEYS)
    if unknown or "all" not in value or "terms" not in value:
        raise CatalogError(f"{where}: needs 'all' and 'terms' (and optionally 'none', 'intent'), nothing else")
    if value.get("intent") not in (None, "read", "write"):
        raise CatalogError(f"{where}: 'intent' is 'read' or 'write'")
    groups = value["all"]
    if not isinstance(groups, list) or not groups:
        raise CatalogError(f"{where}: 'all' must be a non-empty list of word lists")
    return Symptom(
        all=tuple(frozenset(_strings(g, f"{where}.all")) for g in groups),
        none=frozenset(_strings(value.get("none", []), f"{where}.none")),
        terms=tuple(_strings(value["terms"], f"{where}.terms")),
        intent=value.get("intent"),
    )
