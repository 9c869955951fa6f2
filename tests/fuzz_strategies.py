"""Hypothesis strategies for adversarial tool calls: valid arguments from each tool's schema, and hostile ones.

Valid arguments start from the tool's own example and replace, drop or add values generated from its input
schema. Hostile arguments take such a call and break it on purpose: traversal and injection strings, control
characters and odd unicode in string fields (nested body fields included), wrong types, missing required and
unknown keys, 100 KB strings, 500-deep nesting, numbers and booleans as strings, very large and negative numbers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from cap_mcp.catalog import Operation

Path = tuple[str | int, ...]

TRAVERSAL = [
    "..", ".", "", " ", " .. ", "../../v2/points/transfer", "..%2f..%2fv2%2fpoints", "%2e%2e", "%2E%2E%2F", "%2e",
    "/", "//", "a/../b", "./", "\\..\\", "?x=1", "#frag", "&x=1", "=", "%", "%00", "%zz", "+", ";x=1",
]  # fmt: skip
INJECTION = [
    "\r\nX-Injected: 1", "\nX-Injected: 1", "x\rX-Injected: 1", "' OR 1=1 --", '" OR ""="', "{{7*7}}", "${7*7}",
    "${jndi:ldap://127.0.0.1/a}", "<script>alert(1)</script>", "{{constructor.constructor('x')()}}", "%s%s%n",
    "$(id)", "`id`", "; DROP TABLE customers; --", "\\u0000", '{"$ne": null}',
]  # fmt: skip
ODD_TEXT = [
    "\x00", "a\x00b", "\x1b[31mred\x1b[0m", "\x07", "\t", "\x7f", "\u0085", "\u2028", "\ufeff", "\ufffe",
    "\u202eevil\u202c", "\u05e9\u05dc\u05d5\u05dd", "\u0627\u0644\u0633\u0644\u0627\u0645", "e\u0301\u0301\u0301",
    "Z\u0351\u0362\u036e\u0489", "\U0001f600", "\U00010348\U0001d11e", "\U0010fffd", "\u200b", "\u00a0..\u00a0",
    "caf\u00e9", "\uff0e\uff0e",
]  # fmt: skip
NUMERIC_TEXT = ["NaN", "nan", "Infinity", "-Infinity", "1e400", "-0", "0x10", "1_000", "12", "-1", "0", "1.5", " 7 "]
BOOLEAN_TEXT = ["true", "false", "True", "1", "0", "yes", "null", "None"]
# Sent to every tool with free text in its path, query or headers (every tool in the long run), in every such field.
EXPLICIT = [
    "..", ".", "", "../../v2/points/transfer", "%2e%2e", "/", "?x=1", "#frag", "\r\nX-Injected: 1", "' OR 1=1 --",
    "{{7*7}}", "${jndi:ldap://127.0.0.1/a}",
]  # fmt: skip
HUGE = ["x" * 100_000, "\u00e9" * 50_000, "\U0001f600" * 25_000, ("../" * 40_000)[:100_000]]
BIG_NUMBERS = [10**30, -(10**30), 2**63, -(2**63) - 1, 2**53 + 1, -1, 0, -999_999_999, 1e308, -1e308, 5e-324, 1.5]
DEEP = 500
UNICODE = st.characters(codec="utf-8", exclude_categories=["Cs"])  # what JSON on the wire can carry


def nested(depth: int, *, lists: bool = False) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value] if lists else {"a": value}
    return value


def _concat(a: str, b: str) -> str:
    return a + b


_PIECES = st.sampled_from(TRAVERSAL + INJECTION + ODD_TEXT + NUMERIC_TEXT + BOOLEAN_TEXT)
_HOSTILE_TEXT = st.one_of(
    _PIECES,
    st.builds(_concat, _PIECES, _PIECES),
    st.text(UNICODE, max_size=12),
    st.text(st.sampled_from("./%\\?#&\r\n\x00 e\u0301\u202e\U0001f600"), max_size=8),
    st.sampled_from(HUGE),
)


def hostile_text() -> st.SearchStrategy[str]:
    """Traversal, injection, control characters, odd unicode, numbers and booleans as text, 100 KB strings."""
    return _HOSTILE_TEXT


# --- valid values from a JSON Schema ---------------------------------------------------------------------


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    return [kind] if isinstance(kind, str) else []


_BUILT: dict[tuple[str, int], st.SearchStrategy[Any]] = {}


def from_schema(schema: Mapping[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values valid against this (subset of) JSON Schema: type, enum, properties/required, items, bounds, patterns."""
    key = (json.dumps(schema, sort_keys=True), depth)
    if key not in _BUILT:  # built once per schema: hypothesis caches what a strategy object learns
        _BUILT[key] = _from_schema(schema, depth)
    return _BUILT[key]


def _from_schema(schema: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    if "const" in schema:
        return st.just(schema["const"])
    kinds = _types(schema)
    if not kinds:
        return _any_json(depth)
    return st.one_of([_of_type(kind, schema, depth) for kind in kinds])


def _of_type(kind: str, schema: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        low = schema.get("minimum")
        if "exclusiveMinimum" in schema:
            low = int(schema["exclusiveMinimum"]) + 1
        return st.integers(min_value=low, max_value=schema.get("maximum")).filter(lambda v: abs(v) < 10**12)
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        return st.floats(
            min_value=low,
            max_value=schema.get("maximum"),
            exclude_min="exclusiveMinimum" in schema,
            allow_nan=False,
            allow_infinity=False,
        ) | st.integers(min_value=None if low is None else int(low) + 1, max_value=schema.get("maximum"))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = schema.get("items")
        element = from_schema(items, depth + 1) if isinstance(items, Mapping) else _any_json(depth + 1)
        low = int(schema.get("minItems", 0))
        high = min(int(schema.get("maxItems", low + 3)), low + 3)
        return st.lists(element, min_size=low, max_size=high)
    if kind == "object":
        return _object(schema, depth)
    return _any_json(depth)


def _string(schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True, alphabet=st.characters(codec="ascii"))
    if schema.get("format") == "date-time":
        return st.datetimes().map(lambda d: d.replace(microsecond=0).isoformat() + "Z")
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    plain = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=max(low, 1), max_size=high or 16)
    return st.one_of(plain, st.text(UNICODE, min_size=low, max_size=high or 16))


def _object(schema: Mapping[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    if depth > 4:
        return st.fixed_dictionaries({k: from_schema(v, depth + 1) for k, v in properties.items() if k in required})
    fixed = st.fixed_dictionaries(
        {k: from_schema(v, depth + 1) for k, v in properties.items() if k in required},
        optional={k: from_schema(v, depth + 1) for k, v in properties.items() if k not in required},
    )
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    if isinstance(extra, Mapping) or names is not None:
        keys = from_schema(names, depth + 1) if isinstance(names, Mapping) else st.text(min_size=1, max_size=8)
        values = from_schema(extra, depth + 1) if isinstance(extra, Mapping) else _any_json(depth + 1)
        low = int(schema.get("minProperties", 0))
        more = st.dictionaries(keys, values, min_size=low, max_size=max(low, 2))
        return st.builds(lambda a, b: {**b, **a}, fixed, more)
    return fixed


def _any_json(depth: int) -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8)
    if depth > 3:
        return leaves
    return st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=6,
    )  # fmt: skip


# --- walking and editing an argument tree ----------------------------------------------------------------


def nodes(value: Any, schema: Mapping[str, Any], path: Path = (), limit: int = 8) -> Iterator[tuple[Path, Any, Any]]:
    """Every (path, value, schema) in an argument tree, the root first; schema is {} where none is declared."""
    yield path, value, schema
    if len(path) >= limit:
        return
    if isinstance(value, dict):
        properties = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
        extra = schema.get("additionalProperties", {}) if isinstance(schema, Mapping) else {}
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, Mapping) else {})
            yield from nodes(item, sub, (*path, key), limit)
    elif isinstance(value, list):
        items = schema.get("items", {}) if isinstance(schema, Mapping) else {}
        for index, item in enumerate(value[:5]):
            yield from nodes(item, items if isinstance(items, Mapping) else {}, (*path, index), limit)


def replaced(tree: Any, path: Path, value: Any) -> Any:
    """A copy of tree with the node at path replaced (path () replaces the whole tree)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {**tree, head: replaced(tree[head], rest, value) if rest else value}
    copied = list(tree)
    copied[head] = replaced(copied[head], rest, value)  # type: ignore[call-overload]
    return copied


def removed(tree: Any, path: Path) -> Any:
    head, rest = path[0], path[1:]
    if not rest:
        if isinstance(tree, dict):
            return {k: v for k, v in tree.items() if k != head}
        return [v for i, v in enumerate(tree) if i != head]
    if isinstance(tree, dict):
        return {**tree, head: removed(tree[head], rest)}
    copied = list(tree)
    copied[head] = removed(copied[head], rest)  # type: ignore[call-overload]
    return copied


def is_free_text(schema: Any) -> bool:
    """A string field whose schema allows any text (no enum, pattern or format)."""
    return (
        isinstance(schema, Mapping)
        and "string" in _types(schema)
        and not {"enum", "pattern", "format", "const", "maxLength"} & set(schema)
    )


# --- whole calls -----------------------------------------------------------------------------------------


@st.composite
def valid_arguments(draw: st.DrawFn, op: Operation) -> dict[str, Any]:
    """The tool's example, with some values regenerated from the schema, optional ones dropped or added."""
    example: Mapping[str, Any] = op.example.get("arguments", {})
    arguments: dict[str, Any] = {}
    for arg in op.args:
        choices = ["keep", "generate"] if arg.required else ["keep", "generate", "drop"]
        choice = draw(st.sampled_from(choices), label=f"{arg.name}: keep/generate/drop")
        if choice == "keep" and arg.name in example:
            arguments[arg.name] = copy.deepcopy(example[arg.name])
        elif choice == "generate" or (choice == "keep" and arg.required):
            arguments[arg.name] = draw(from_schema(arg.schema), label=arg.name)
    return arguments


MUTATIONS = [
    "hostile_strings",  # every free-text string in the call, path/query/header/body alike
    "hostile_string",  # one string anywhere, enum fields included
    "wrong_type",
    "missing_required",
    "unknown_key",
    "deep",
    "numbers",
    "as_string",
    "null",
]


@st.composite
def hostile_arguments(draw: st.DrawFn, op: Operation) -> dict[str, Any]:
    """A call broken in one to three ways; in half of them, every free-text field holds a hostile string."""
    arguments: Any = draw(valid_arguments(op))
    if draw(st.booleans(), label="every free-text field hostile"):
        arguments = _mutate(draw, "hostile_strings", op, arguments)
    for _ in range(draw(st.integers(0 if arguments else 1, 2), label="mutations")):
        kind = draw(st.sampled_from(MUTATIONS), label="mutation")
        arguments = _mutate(draw, kind, op, arguments)
    return arguments  # type: ignore[no-any-return]


def _mutate(draw: st.DrawFn, kind: str, op: Operation, arguments: dict[str, Any]) -> dict[str, Any]:
    everything = list(nodes(arguments, op.input_schema))
    inner = everything[1:]
    if kind == "hostile_strings":
        for path, _, schema in reversed(everything):
            if is_free_text(schema):
                arguments = replaced(arguments, path, draw(hostile_text(), label="/".join(map(str, path))))
        return arguments
    if kind == "hostile_string":
        strings = [path for path, value, schema in inner if isinstance(value, str) or "string" in _types(schema)]
        if strings:
            arguments = replaced(arguments, draw(st.sampled_from(strings)), draw(hostile_text()))
        return arguments
    if kind == "missing_required":
        required = [
            (*path, key)
            for path, value, schema in everything
            if isinstance(value, dict) and isinstance(schema, Mapping)
            for key in schema.get("required", ())
            if key in value
        ]
        return removed(arguments, draw(st.sampled_from(required))) if required else arguments
    if kind == "unknown_key":
        objects = [path for path, value, _ in everything if isinstance(value, dict)]
        where = draw(st.sampled_from(objects))
        key = draw(st.sampled_from(["mobile", "__proto__", "constructor", "$where", "a" * 300, "", "x.y", "../id"]))
        value = draw(st.one_of(hostile_text(), st.just(nested(DEEP)), st.integers()))
        return replaced(arguments, (*where, key), value) if where else {**arguments, key: value}
    if not inner:
        return arguments
    path, value, schema = draw(st.sampled_from(inner), label="target")
    if kind == "deep":
        return replaced(arguments, path, nested(draw(st.sampled_from([DEEP, 250, 64])), lists=draw(st.booleans())))
    if kind == "numbers":
        return replaced(arguments, path, draw(st.sampled_from(BIG_NUMBERS)))
    if kind == "as_string":
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = str(value)
        else:
            text = draw(st.sampled_from(NUMERIC_TEXT + BOOLEAN_TEXT))
        return replaced(arguments, path, text)
    if kind == "null":
        return replaced(arguments, path, None)
    # wrong_type: a value of another JSON type than the schema asks for
    others = {
        "string": [12, 1.5, True, ["a"], {"a": 1}],
        "integer": ["12", "NaN", 1.5, True, [1], {"n": 1}],
        "number": ["1.5", "Infinity", False, [1.5]],
        "boolean": ["true", 1, 0, [True]],
        "array": ["a,b", {"0": "a"}, 1],
        "object": ["{}", [{}], 1, True],
    }
    candidates = [v for kind_ in _types(schema) for v in others.get(kind_, [])] or ["x", 1, [], {}]
    return replaced(arguments, path, draw(st.sampled_from(candidates)))


# --- what the fuzzer does with one tool in one example ---------------------------------------------------

GUARD_ACTIONS = ["confirm", "leave", "alter", "reuse", "foreign"]
REPLIES = ["example", "example", "example", "error_400", "error_500", "html_502", "html_200", "partial_201",
           "empty_204", "redirect_302", "drop", "odd_json"]  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """One example: the arguments, how "Capillary" answers, and what to do with a confirmation token."""

    arguments: dict[str, Any]
    hostile: bool
    reply: str
    guard: str
    altered: dict[str, Any]


@st.composite
def plans(draw: st.DrawFn, op: Operation) -> Plan:
    hostile = draw(st.booleans(), label="hostile")
    arguments = draw(hostile_arguments(op) if hostile else valid_arguments(op), label="arguments")
    reply = draw(st.sampled_from(REPLIES), label="reply")
    guard = draw(st.sampled_from(GUARD_ACTIONS), label="guard action") if op.guarded else "none"
    altered = draw(alteration(op, arguments), label="altered arguments") if guard == "alter" else {}
    return Plan(arguments, hostile, reply, guard, altered)


def explicit_plans(op: Operation, *, everywhere: bool) -> list[Plan]:
    """One confirmed call per EXPLICIT string, in every free-text field of the tool's example at once.

    Only for tools with free text in the path, query or headers, unless `everywhere` (body fields too)."""
    example: dict[str, Any] = dict(op.example.get("arguments", {}))
    targets = [path for path, _, schema in nodes(example, op.input_schema) if path and is_free_text(schema)]
    wire = {a.name for a in op.args if a.location in ("path", "query", "header")}
    if not targets or not (everywhere or any(path[0] in wire for path in targets)):
        return []
    found = []
    for text in EXPLICIT:
        arguments: Any = example
        for path in targets:
            arguments = replaced(arguments, path, text)
        found.append(Plan(arguments, True, "example", "confirm" if op.guarded else "none", {}))
    return found


@st.composite
def alteration(draw: st.DrawFn, op: Operation, arguments: dict[str, Any]) -> dict[str, Any]:
    """The same call with one value changed, dropped or added: what a token must not be accepted for."""
    leaves = [
        (path, value)
        for path, value, _ in nodes(arguments, op.input_schema)
        if path and isinstance(value, str | int | float | bool) and value is not None
    ]
    if leaves and draw(st.booleans()):
        path, value = draw(st.sampled_from(leaves))
        if isinstance(value, bool):
            new: Any = not value
        elif isinstance(value, int):
            new = value + 1
        elif isinstance(value, float):
            new = value / 2 if value else 1.0  # value + 1 == value for large floats
        else:
            new = value + "1"
        return replaced(arguments, path, new)  # type: ignore[no-any-return]
    optional = [a.name for a in op.args if not a.required]
    if optional:
        name = draw(st.sampled_from(optional))
        if name in arguments:
            return {k: v for k, v in arguments.items() if k != name}
        return {**arguments, name: draw(from_schema(op.arg(name).schema))}  # type: ignore[union-attr]
    return {**arguments, "unexpected": 1}
