"""The input schema as listed to the model: complete, and no longer than it needs to be.

The catalogue's schema (used for validation) is strict and self-contained. What `tools/list` carries says the
same to the model in fewer tokens:
- `additionalProperties: false` is left out: the server refuses unknown arguments itself and names the valid
  ones, so the keyword only costs tokens on every object;
- `type` is left out where an `enum` already says it (every value a string, or every value an integer): the
  enum alone admits exactly the same values;
- a sub-schema repeated within one tool (the same profile or line-item shape, the same long list of sources) is
  written once under `$defs`, named after the properties that hold it, and referenced with `$ref` (JSON Schema
  2020-12, the dialect MCP tool schemas use). A shape is shared only when that is clearly shorter, counting
  the references and the definition.
Every property, type, enum value, required name, constraint and description stays: `expand` writes a listed
schema out in full again, and `facts` lists what it says, for the checks.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

# What a reference costs in characters besides the definition's name: {"$ref":"#/$defs/"}.
REF_CHARS = 18
# A repeated sub-schema moves to $defs only when it is at least MIN_SHAPE_CHARS long and sharing saves at least
# MIN_SAVED_CHARS: below that the tokenizer packs the text in place about as tightly as references and a
# definition (a reference is mostly punctuation), and the model reads a property more easily in place.
MIN_SAVED_CHARS = 40
MIN_SHAPE_CHARS = 80

# Keywords whose value is a schema, a list of schemas or a map of names to schemas (JSON Schema 2020-12).
_ONE = ("items", "additionalProperties", "propertyNames", "contains", "not", "if", "then", "else")
_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "patternProperties", "dependentSchemas", "$defs")

Visit = Callable[[Any, str], Any]


# Each node's keywords in this order: what it is first, then its constraints, then what it contains. Key order
# means nothing in JSON Schema; this one reads naturally (required names before the properties) and tokenizes
# into fewer tokens, since closing brackets then come in runs.
_FIRST = ("type", "description", "required")
_LAST = ("items", "properties", "$defs")


def compact(schema: dict[str, Any]) -> dict[str, Any]:
    lean = _without_implied_types(_without_closed_objects(schema))
    assert isinstance(lean, dict)
    ordered: dict[str, Any] = _in_reading_order(_share_repeats(lean), "")
    return ordered


def _in_reading_order(node: Any, holder: str) -> Any:
    if not isinstance(node, dict):
        return node
    inner = _map_subschemas(node, holder, _in_reading_order)
    middle = [key for key in inner if key not in _FIRST and key not in _LAST]
    return {key: inner[key] for key in (*_FIRST, *middle, *_LAST) if key in inner}


def _without_closed_objects(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _without_closed_objects(value)
            for key, value in node.items()
            if not (key == "additionalProperties" and value is False)
        }
    if isinstance(node, list):
        return [_without_closed_objects(item) for item in node]
    return node


def _without_implied_types(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: _without_implied_types(value) for key, value in node.items()}
        if "type" in out and out["type"] == enum_type(out):
            del out["type"]
        return out
    if isinstance(node, list):
        return [_without_implied_types(item) for item in node]
    return node


def enum_type(node: dict[str, Any]) -> str | None:
    """The one JSON type every value of the node's `enum` has (string, integer or boolean), if there is one."""
    values = node.get("enum")
    if not isinstance(values, list) or not values:
        return None
    kinds = {
        "boolean"
        if isinstance(v, bool)
        else "integer"
        if isinstance(v, int)
        else "string"
        if isinstance(v, str)
        else "other"
        for v in values
    }
    kind = kinds.pop() if len(kinds) == 1 else None
    return kind if kind != "other" else None


def _key(node: Any) -> str:
    return json.dumps(node, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# A scalar as `_key` writes it (one encoder, not one per call).
_SCALAR = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class _Keys:
    """Each node's canonical JSON (sorted keys, no spaces), built once from its children's: serialising every
    sub-schema afresh at each level made listing the whole catalogue several times slower."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[Any, str]] = {}  # id -> (the node, kept alive so the id stays its own; key)

    def __call__(self, node: Any) -> str:
        if not isinstance(node, dict | list):
            return _SCALAR(node)
        known = self._known.get(id(node))
        if known is not None:
            return known[1]
        if isinstance(node, dict):
            inner = ",".join(f"{_SCALAR(k)}:{self(node[k])}" for k in sorted(node))
            key = "{" + inner + "}"
        else:
            key = "[" + ",".join(self(item) for item in node) + "]"
        self._known[id(node)] = (node, key)
        return key


def _map_subschemas(node: dict[str, Any], holder: str, visit: Visit) -> dict[str, Any]:
    """The node with `visit(sub, property name)` in place of each of its sub-schemas; other values as they are
    (an enum, default or example is data, never rewritten)."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _MAP and isinstance(value, dict):
            out[key] = {name: visit(sub, name) for name, sub in value.items()}
        elif key in _LIST and isinstance(value, list):
            out[key] = [visit(sub, holder) for sub in value]
        elif key in _ONE and isinstance(value, dict):
            out[key] = visit(value, f"{holder}Item" if key == "items" else holder)
        else:
            out[key] = value
    return out


def _worth_sharing(chars: int, count: int, name: str) -> bool:
    """Whether `count` copies of a shape of `chars` characters are longer than one definition (`"name":` and
    the shape) and `count` references, by enough to matter."""
    saved = (count - 1) * chars - count * (REF_CHARS + len(name)) - len(name) - 3
    return chars >= MIN_SHAPE_CHARS and saved >= MIN_SAVED_CHARS


def _census(schema: dict[str, Any], key_of: _Keys) -> tuple[Counter[str], dict[str, Any], dict[str, list[str]]]:
    """How often each sub-schema occurs below `schema`, each one's value, and the properties that hold it."""
    counts: Counter[str] = Counter()
    nodes: dict[str, Any] = {}
    holders: dict[str, list[str]] = {}

    def visit(node: Any, holder: str) -> Any:
        if isinstance(node, dict):
            key = key_of(node)
            counts[key] += 1
            nodes.setdefault(key, node)
            holders.setdefault(key, []).append(holder)
            _map_subschemas(node, holder, visit)
        return node

    _map_subschemas(schema, "", visit)
    return counts, nodes, holders


def _share_repeats(schema: dict[str, Any]) -> dict[str, Any]:
    key_of = _Keys()
    counts, nodes, holders = _census(schema, key_of)
    names: dict[str, str] = {}
    # Largest first: once a shape is shared, the copies of what is inside it are written only once too.
    for key in sorted(counts, key=len, reverse=True):
        count = counts[key]
        name = _name_for(nodes[key], holders[key], set(names.values()))
        if not _worth_sharing(len(key), count, name):
            continue
        names[key] = name
        inner, _, _ = _census(nodes[key], key_of)
        for sub, times in inner.items():
            counts[sub] -= (count - 1) * times
    if not names:
        return schema

    def visit(node: Any, holder: str) -> Any:
        if isinstance(node, dict):
            name = names.get(key_of(node))
            if name is not None:
                return {"$ref": f"#/$defs/{name}"}
            return _map_subschemas(node, holder, visit)
        return node

    defs = {names[key]: _map_subschemas(nodes[key], "", visit) for key in names}
    return {**_map_subschemas(schema, "", visit), "$defs": defs}


_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_]")
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _name_for(node: dict[str, Any], holders: list[str], taken: set[str]) -> str:
    """The name of the properties that hold a shape when they agree (`customer`), else the words their names end
    with (`fromEntity`, `toEntity`: `entity`), else the shape's own first properties (`kpi_operator`), else its
    type."""
    base = holders[0] if len(set(holders)) == 1 else _common_ending(holders)
    if not base:
        props = node.get("properties") or (node.get("items") or {}).get("properties") or {}
        kind = node.get("type")
        base = "_".join(sorted(props)[:2]) if props else kind if isinstance(kind, str) else "shape"
    base = _NOT_IN_NAME.sub("_", base)[:40]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


def _common_ending(names: list[str]) -> str:
    split = [_WORDS.findall(name) for name in names]
    ending: list[str] = []
    while all(len(words) > len(ending) for words in split):
        word = split[0][-1 - len(ending)]
        if any(words[-1 - len(ending)].lower() != word.lower() for words in split):
            break
        ending.insert(0, word)
    if not ending:
        return ""
    return ending[0].lower() + "".join(ending[1:])


def expand(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local `#/$defs/...` reference replaced by its definition, no `$defs`, and the type
    an enum implies written out: what a listed schema says, in full (the inverse of `compact`, for checks)."""
    defs = schema.get("$defs", {})

    def visit(node: Any, holder: str) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
                return visit(defs[ref.removeprefix("#/$defs/")], holder)
            implied = enum_type(node) if "type" not in node else None
            return _map_subschemas({"type": implied, **node} if implied else node, holder, visit)
        return node

    out = _map_subschemas({k: v for k, v in schema.items() if k != "$defs"}, "", visit)
    return out


# What `facts` records of each schema node besides its properties: what a value may be.
_CONSTRAINTS = ("type", "format", "pattern", "const", "default", "minimum", "maximum", "exclusiveMinimum",
                "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "minProperties",
                "maxProperties")  # fmt: skip


def facts(schema: dict[str, Any]) -> set[str]:
    """Every property, type, required name, enum value and constraint of a schema, each with where it sits
    (`$.customer.identifiers[] requires type`), references followed: what a listed schema must still say."""
    found: set[str] = set()

    def visit(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            found.update(f"{path} requires {name}" for name in node.get("required", ()))
            found.update(f"{path} allows {_key(value)}" for value in node.get("enum", ()))
            found.update(f"{path} {word} {_key(node[word])}" for word in _CONSTRAINTS if word in node)
            if "type" not in node and enum_type(node):  # an enum of strings says type string by itself
                found.add(f"{path} type {_key(enum_type(node))}")
            found.update(f"{path} has {name}" for name in node.get("properties", {}))
            for key, value in node.items():
                if key in _MAP and isinstance(value, dict):
                    for name, sub in value.items():
                        visit(sub, f"{path}.{name}")
                elif key in _LIST and isinstance(value, list):
                    for index, sub in enumerate(value):
                        visit(sub, f"{path}<{key}{index}>")
                elif key in _ONE and isinstance(value, dict):
                    visit(value, f"{path}[]" if key == "items" else f"{path}<{key}>")
        return node

    visit(expand(schema), "$")
    return found
