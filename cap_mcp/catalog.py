"""The catalogue: every Capillary operation, loaded from `tool_schemas/*.json`.

A tool is data. Each toolset file is validated against `meta.schema.json` and
then checked for what a schema cannot say (unique names, path placeholders
that match path arguments, the toolset prefix). The result is a `Catalog` of
immutable `Operation` objects from which the server builds MCP tools and the
client builds HTTP requests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic_core import from_json

Effect = Literal["read", "write", "destructive"]
EFFECT_RANK: dict[str, int] = {"read": 0, "write": 1, "destructive": 2}
Location = Literal["path", "query", "header", "body", "payload", "form", "file"]

META_SCHEMA_FILE = "meta.schema.json"
ERROR_CODES_FILE = "error_codes.json"
VOCABULARY_FILE = "vocabulary.json"  # catalogue search's words (cap_mcp/vocabulary.py), not a toolset
GUIDES_FILE = "guides.json"  # the usual order of calls per core toolset (resources.py)
PROMPTS_FILE = "prompts.json"  # support-desk workflows (prompts.py)
_NOT_TOOLSETS = {META_SCHEMA_FILE, ERROR_CODES_FILE, VOCABULARY_FILE, GUIDES_FILE, PROMPTS_FILE}
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# Marks a schema node whose value is a secret (password, OTP, token...): masked wherever arguments are shown.
SECRET_MARK = "x-secret"

# The shape a multipart file argument takes: the model passes the file's text.
FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "filename": {"type": "string", "description": "File name to send, e.g. coupons.csv"},
        "content": {"type": "string", "description": "The file's full text (CSV)"},
        "content_type": {"type": "string", "default": "text/csv"},
    },
    "required": ["filename", "content"],
    "additionalProperties": False,
}


class CatalogError(ValueError):
    """A toolset file is malformed; the message names the file and the fault."""


@dataclass(frozen=True, slots=True)
class Arg:
    """One tool argument and where it goes in the HTTP request."""

    name: str
    location: Location
    wire: str
    required: bool
    schema: Mapping[str, Any]
    style: Literal["csv", "repeat"] = "csv"
    # Dotted paths (from this argument's name, `*` for array items and map values) of x-secret nodes.
    secret_paths: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Condition:
    """A stronger effect that applies when the call's arguments match a JSON Schema (`effect_when`)."""

    schema: Mapping[str, Any]
    effect: Effect
    consequence: str


def strongest(effects: Iterable[Effect]) -> Effect:
    """The strongest of some effects: destructive beats write beats read."""
    return max(effects, key=lambda e: EFFECT_RANK[e], default="read")


@dataclass(frozen=True)
class Operation:
    """One Capillary operation, exposed as one MCP tool."""

    name: str
    toolset: str
    title: str
    description: str
    method: str
    path: str
    effect: Effect
    args: tuple[Arg, ...]
    example: Mapping[str, Any]
    reference: Mapping[str, Any]
    host: Literal["api", "intouch"] = "api"
    idempotent: bool | None = None
    summary: str | None = None
    verify_with: str | None = None
    keywords: tuple[str, ...] = ()
    notes: str | None = None
    constants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    require_one_of: tuple[tuple[str, ...], ...] = ()
    effect_when: tuple[Condition, ...] = ()
    effect_reason: str | None = None
    verify_args: Mapping[str, Any] = field(default_factory=dict)
    verify_reason: str | None = None
    opt_in: str | None = None
    # Dotted argument paths whose values are secrets (`*` = every array item or map value); see redaction.py.
    secret_paths: frozenset[str] = frozenset()
    _arg_index: dict[str, Arg] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def max_effect(self) -> Effect:
        """The strongest effect any call of this operation can have."""
        return strongest([self.effect, *(c.effect for c in self.effect_when)])

    @property
    def guarded(self) -> bool:
        """Whether some call of this operation needs a person's confirmation before it reaches Capillary."""
        return self.max_effect != "read"

    def effect_for(self, arguments: Mapping[str, Any]) -> Effect:
        """The effect of this call: the base effect, or a stronger one whose condition these arguments meet."""
        return strongest([self.effect, *(c.effect for c in self._matching(arguments))])

    def consequences(self, arguments: Mapping[str, Any]) -> list[str]:
        """What this call does beyond its summary, one phrase per matching condition (e.g. "credits 5000 points")."""
        from .templates import render  # templates reads request_builder, which imports this module

        return [render(c.consequence, dict(arguments)) for c in self._matching(arguments)]

    def verify_call(self, arguments: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """The read that tells whether this call took effect, with the arguments this call gives it."""
        if self.verify_with is None:
            return None
        from .templates import render_value

        call: dict[str, Any] = {}
        for name, template in self.verify_args.items():
            known, value = render_value(template, dict(arguments))
            if known:
                call[name] = value
        return self.verify_with, call

    def _matching(self, arguments: Mapping[str, Any]) -> list[Condition]:
        if not self.effect_when:
            return []
        return [c for c, v in zip(self.effect_when, self._condition_validators, strict=True) if v.is_valid(arguments)]

    @cached_property
    def _condition_validators(self) -> tuple[Any, ...]:
        # Built on first use: importing jsonschema costs start-up time that most calls never need.
        from jsonschema import Draft202012Validator

        return tuple(Draft202012Validator(c.schema) for c in self.effect_when)

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.max_effect == "read" or self.method in ("PUT", "DELETE")

    def arg(self, name: str) -> Arg | None:
        return self._arg_index.get(name)

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of the tool's arguments, as the model sees it."""
        properties = {a.name: dict(a.schema) for a in self.args}
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [a.name for a in self.args if a.required]
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    @cached_property
    def listed_schema(self) -> dict[str, Any]:
        """The input schema as `tools/list` carries it: the same facts in fewer tokens (see wire_schema)."""
        from .wire_schema import compact

        return compact(self.input_schema)

    @cached_property
    def annotations(self) -> dict[str, Any]:
        """MCP tool annotations, derived from the strongest effect a call can have."""
        return {
            "title": self.title,
            "readOnlyHint": self.max_effect == "read",
            "destructiveHint": self.max_effect == "destructive",
            "idempotentHint": self.is_idempotent,
            # Every tool acts on the brand's live Capillary organisation, outside this process.
            "openWorldHint": True,
        }

    def describe(self) -> dict[str, Any]:
        """The operation as `cap-mcp tools --json` prints it."""
        return {
            "name": self.name,
            "toolset": self.toolset,
            "title": self.title,
            "description": self.description,
            "method": self.method,
            "path": self.path,
            "host": self.host,
            "effect": self.effect,
            "effect_when": [
                {"if": dict(c.schema), "effect": c.effect, "consequence": c.consequence} for c in self.effect_when
            ],
            "max_effect": self.max_effect,
            "guarded": self.guarded,
            "opt_in": self.opt_in,
            "annotations": self.annotations,
            "input_schema": self.input_schema,
            "arguments": {a.name: {"in": a.location, "wire": a.wire, "required": a.required} for a in self.args},
            "verify_with": self.verify_with,
            "verify_args": dict(self.verify_args),
            "verify_reason": self.verify_reason,
            "reference": dict(self.reference),
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Toolset:
    name: str
    section: str
    title: str
    description: str
    operations: tuple[Operation, ...]
    error_codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    exclusions: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class Catalog:
    """Capillary's operations (iterated, counted), plus composite tools built from them (found by `get` only)."""

    toolsets: Mapping[str, Toolset]
    operations: Mapping[str, Operation]
    error_codes: Mapping[str, Any]
    exclusions: tuple[Mapping[str, Any], ...]

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations.values())

    def __len__(self) -> int:
        return len(self.operations)

    def get(self, name: str) -> Operation | None:
        return self.operations.get(name) or self.composites.get(name)

    @cached_property
    def composites(self) -> Mapping[str, Operation]:
        """Read tools made of several catalogued reads (customer_overview). Not Capillary operations: they are
        neither iterated nor counted with them, so the sandbox, `cap-mcp tools` and the reference checks see
        only the catalogue proper."""
        from .composite import composites_for

        return composites_for(self)


def schema_dir() -> Path:
    """Where the toolset files are: inside the installed package, else beside it in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "tool_schemas", here.parent / "tool_schemas"):
        if (candidate / META_SCHEMA_FILE).is_file():
            return candidate
    raise CatalogError(f"tool_schemas/ not found next to {here}")


def load_meta_schema(directory: Path | None = None) -> dict[str, Any]:
    path = (directory or schema_dir()) / META_SCHEMA_FILE
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def toolset_files(directory: Path | None = None) -> list[Path]:
    directory = directory or schema_dir()
    return sorted(p for p in directory.glob("*.json") if p.name not in _NOT_TOOLSETS)


def load_catalog(directory: Path | None = None, *, validate: bool = True) -> Catalog:
    """Load and check every toolset file. Raises `CatalogError` naming the first fault."""
    directory = directory or schema_dir()
    validator = _meta_validator(directory) if validate else None
    toolsets: dict[str, Toolset] = {}
    operations: dict[str, Operation] = {}
    for path in toolset_files(directory):
        text = path.read_text(encoding="utf-8")
        try:
            document = from_json(text)  # pydantic-core's parser: half the time of json.loads, at every start
        except ValueError as exc:
            raise CatalogError(f"{path.name}: not valid JSON: {exc}") from None
        if validator is not None:
            _validate_document(validator, document, path.name)
        # Files without references or secret marks skip those walks (most of the loading time otherwise).
        toolset = _build_toolset(document, path.name, refs='"$ref"' in text, marks=f'"{SECRET_MARK}"' in text)
        if toolset.name in toolsets:
            raise CatalogError(f"{path.name}: toolset {toolset.name!r} is defined twice")
        for op in toolset.operations:
            if op.name in operations:
                raise CatalogError(f"{path.name}: duplicate tool name {op.name!r}")
            operations[op.name] = op
        toolsets[toolset.name] = toolset
    for op in operations.values():
        if op.verify_with is not None and op.verify_with not in operations:
            raise CatalogError(f"{op.name}: verify_with names unknown tool {op.verify_with!r}")
        if op.verify_args and op.verify_with is None:
            raise CatalogError(f"{op.name}: verify_args without verify_with")
    return Catalog(
        toolsets=toolsets,
        operations=operations,
        error_codes=_read_optional(directory / ERROR_CODES_FILE, {}),
        exclusions=tuple({"toolset": t.name, **item} for t in toolsets.values() for item in t.exclusions),
    )


def load_toolset_file(path: Path, *, validate: bool = True) -> Toolset:
    """Load and check one toolset file on its own."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if validate:
        _validate_document(_meta_validator(path.parent), document, path.name)
    return _build_toolset(document, path.name)


def _read_optional(path: Path, default: Any) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default


def _meta_validator(directory: Path) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_meta_schema(directory))


def _validate_document(validator: Any, document: Any, filename: str) -> None:
    error = next(iter(sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise CatalogError(f"{filename}: {where}: {error.message}")


_OP_KEYS = {
    "name", "title", "description", "reference", "method", "host", "path", "effect", "idempotent",
    "args", "summary", "verify_with", "keywords", "notes", "example", "constants", "require_one_of",
    "effect_when", "effect_reason", "verify_args", "verify_reason", "opt_in",
}  # fmt: skip
_CONDITION_KEYS = {"if", "effect", "consequence"}
_ARG_KEYS = {"in", "wire", "required", "style", "schema"}
_FILE_KEYS = {
    "$schema",
    "$defs",
    "toolset",
    "section",
    "title",
    "description",
    "operations",
    "error_codes",
    "exclusions",
}


def _build_toolset(document: Mapping[str, Any], filename: str, *, refs: bool = True, marks: bool = True) -> Toolset:
    _refuse_unknown(document, _FILE_KEYS, filename)
    name = document["toolset"]
    defs = document.get("$defs", {})
    ops = tuple(_build_operation(raw, name, filename, defs, refs=refs, marks=marks) for raw in document["operations"])
    return Toolset(
        name,
        document["section"],
        document["title"],
        document["description"],
        ops,
        error_codes=document.get("error_codes", {}),
        exclusions=tuple(document.get("exclusions", ())),
    )


def _refuse_unknown(obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _build_operation(
    raw: Mapping[str, Any],
    toolset: str,
    filename: str,
    defs: Mapping[str, Any],
    *,
    refs: bool = True,
    marks: bool = True,
) -> Operation:
    where = f"{filename}: {raw.get('name', '?')}"
    _refuse_unknown(raw, _OP_KEYS, where)
    for key in ("name", "method", "path", "effect", "args"):
        if key not in raw:
            raise CatalogError(f"{where}: missing {key!r}")
    name: str = raw["name"]
    if not name.startswith(toolset + "_") or len(name) > 64:
        raise CatalogError(f"{where}: tool names are '{toolset}_<action>', at most 64 characters")
    args = tuple(
        _build_arg(arg_name, spec, where, defs, refs=refs, marks=marks) for arg_name, spec in raw["args"].items()
    )
    _check_placeholders(raw["path"], args, where)
    _check_single_payload(args, where)
    names = {a.name for a in args}
    for group in raw.get("require_one_of", ()):
        if not set(group) <= names:
            raise CatalogError(f"{where}: require_one_of names unknown argument(s) {sorted(set(group) - names)}")
    return Operation(
        name=name,
        toolset=toolset,
        title=raw["title"],
        description=raw["description"],
        method=raw["method"],
        path=raw["path"],
        effect=raw["effect"],
        args=args,
        example=raw["example"],
        reference=raw["reference"],
        host=raw.get("host", "api"),
        idempotent=raw.get("idempotent"),
        summary=raw.get("summary"),
        verify_with=raw.get("verify_with"),
        keywords=tuple(raw.get("keywords", ())),
        notes=raw.get("notes"),
        constants=raw.get("constants", {}),
        require_one_of=tuple(tuple(group) for group in raw.get("require_one_of", ())),
        effect_when=tuple(_build_condition(item, names, where) for item in raw.get("effect_when", ())),
        effect_reason=raw.get("effect_reason"),
        verify_args=raw.get("verify_args", {}),
        verify_reason=raw.get("verify_reason"),
        opt_in=raw.get("opt_in"),
        secret_paths=frozenset(path for a in args for path in a.secret_paths),
        _arg_index={a.name: a for a in args},
    )


def _build_condition(raw: Mapping[str, Any], names: set[str], where: str) -> Condition:
    """One `effect_when` entry; its schema may only speak of the operation's own arguments."""
    _refuse_unknown(raw, _CONDITION_KEYS, f"{where}: effect_when")
    schema, effect, consequence = raw.get("if"), raw.get("effect"), raw.get("consequence")
    if not isinstance(schema, Mapping) or effect not in EFFECT_RANK or not isinstance(consequence, str):
        raise CatalogError(f"{where}: effect_when needs 'if' (a JSON Schema), 'effect' and 'consequence'")
    unknown = sorted((set(schema.get("properties", {})) | set(schema.get("required", ()))) - names)
    if unknown:
        raise CatalogError(f"{where}: effect_when speaks of unknown argument(s) {unknown}")
    return Condition(schema=schema, effect=effect, consequence=consequence)


def _build_arg(
    name: str, spec: Mapping[str, Any], where: str, defs: Mapping[str, Any], *, refs: bool = True, marks: bool = True
) -> Arg:
    if not isinstance(spec, Mapping):
        raise CatalogError(f"{where}: argument {name!r} must be an object")
    _refuse_unknown(spec, _ARG_KEYS, f"{where}: argument {name!r}")
    location = spec.get("in")
    if location not in ("path", "query", "header", "body", "payload", "form", "file"):
        raise CatalogError(f"{where}: argument {name!r} has no location ('in': path/query/header/body/...)")
    if name == "confirmation_token":
        raise CatalogError(f"{where}: 'confirmation_token' is reserved for the guards")
    schema = spec.get("schema", {})
    if refs:
        schema = _inline_refs(schema, defs, f"{where}: argument {name!r}")
    secret_paths: list[str] = []
    if marks:
        schema, secret_paths = _take_secret_marks(schema, name, f"{where}: argument {name!r}")
    if secret_paths and location == "path":
        raise CatalogError(f"{where}: argument {name!r} is x-secret; a secret never goes in the URL path")
    if location == "file":
        schema = {**FILE_SCHEMA, **({"description": schema["description"]} if "description" in schema else {})}
    required = bool(spec.get("required", False))
    if location == "path" and not required:
        raise CatalogError(f"{where}: path argument {name!r} must be required")
    return Arg(
        name=name,
        location=location,
        wire=spec.get("wire", name),
        required=required,
        schema=schema,
        style=spec.get("style", "csv"),
        secret_paths=frozenset(secret_paths),
    )


def _take_secret_marks(schema: Any, path: str, where: str) -> tuple[Any, list[str]]:
    """The schema without its x-secret marks (the model never sees them), and the paths they marked."""
    if not isinstance(schema, Mapping):
        return schema, []
    found: list[str] = []
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key == SECRET_MARK:
            if value is not True:
                raise CatalogError(f"{where}: {SECRET_MARK} at {path} must be true (or left out)")
            found.append(path)
        elif key == "properties" and isinstance(value, Mapping):
            result[key] = {}
            for prop, sub in value.items():
                result[key][prop], inner = _take_secret_marks(sub, f"{path}.{prop}", where)
                found += inner
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            result[key], inner = _take_secret_marks(value, f"{path}.*", where)
            found += inner
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            result[key] = []
            for sub in value:
                stripped, inner = _take_secret_marks(sub, path, where)
                result[key].append(stripped)
                found += inner
        else:
            result[key] = value
    return result, found


def _inline_refs(schema: Any, defs: Mapping[str, Any], where: str) -> Any:
    """Replace {"$ref": "#/$defs/x", ...} by the shared definition, sibling keys winning (unchanged parts are
    returned as they are, not copied)."""
    if type(schema) is list:
        items = [_inline_refs(item, defs, where) for item in schema]
        return schema if all(new is old for new, old in zip(items, schema, strict=True)) else items
    if type(schema) is not dict:
        return schema
    ref = schema.get("$ref")
    changed = False
    result = {}
    for key, value in schema.items():
        if key == "$ref":
            continue
        new = _inline_refs(value, defs, where) if type(value) in (dict, list) else value
        changed = changed or new is not value
        result[key] = new
    if ref is None:
        return result if changed else schema
    name = ref.removeprefix("#/$defs/")
    if name == ref or name not in defs:
        raise CatalogError(f"{where}: unknown reference {ref!r} (use #/$defs/<name> of this file)")
    return {**_inline_refs(defs[name], defs, where), **result}


def _check_placeholders(path: str, args: tuple[Arg, ...], where: str) -> None:
    placeholders = set(_PLACEHOLDER.findall(path))
    path_args = {a.wire for a in args if a.location == "path"}
    missing = placeholders - path_args
    if missing:
        raise CatalogError(f"{where}: path placeholder(s) {sorted(missing)} have no path argument")
    unused = path_args - placeholders
    if unused:
        raise CatalogError(f"{where}: path argument(s) {sorted(unused)} do not appear in the path")


def _check_single_payload(args: tuple[Arg, ...], where: str) -> None:
    locations = [a.location for a in args]
    if "payload" in locations and (locations.count("payload") > 1 or "body" in locations):
        raise CatalogError(f"{where}: a 'payload' argument is the whole body; it cannot be combined")
    if ("form" in locations or "file" in locations) and ("body" in locations or "payload" in locations):
        raise CatalogError(f"{where}: a multipart request cannot also have a JSON body")
