"""Argument validation against each tool's JSON Schema, with messages a model can act on."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .catalog import Operation
from .redaction import redact
from .request_builder import wire_problems

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_validators: dict[str, Draft202012Validator] = {}


def validator_for(op: Operation) -> Draft202012Validator:
    validator = _validators.get(op.name)
    if validator is None:
        from jsonschema import Draft202012Validator  # imported on the first call, not at start-up

        validator = _validators[op.name] = Draft202012Validator(op.input_schema)
    return validator


_INTEGER = re.compile(r"^[+-]?\d{1,300}$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# Deeper arguments are refused before anything walks them (validation, conversion, masking all recurse).
MAX_ARGUMENT_DEPTH = 64


def too_deep(arguments: Any, limit: int = MAX_ARGUMENT_DEPTH) -> bool:
    """Whether a value nests objects or arrays more than `limit` levels (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(arguments, 0)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict | list):
            continue
        children = list(value.values()) if isinstance(value, dict) else value
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def coerce_arguments(op: Operation, arguments: dict[str, Any]) -> dict[str, Any]:
    """Arguments with values converted to the schema's type where models often send another and the conversion
    is exact: an integer where a string is expected (a mobile number, an OTP), a numeric string where an integer or
    number is expected, "true"/"false" where a boolean is. Nothing lossy (1.5 is no integer, "12abc" no number),
    and nothing inside objects whose schema names no properties."""
    coerced = _coerce(op.input_schema, arguments)
    assert isinstance(coerced, dict)
    return coerced


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    return set(declared) if isinstance(declared, list) else set()


def _coerce(schema: Any, value: Any) -> Any:
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return value
        return {key: _coerce(properties.get(key), item) for key, item in value.items()}
    if isinstance(value, list):
        return [_coerce(schema.get("items"), item) for item in value]
    types = _types(schema)
    if not types or _fits(value, types):
        return value
    converted = _convert(value, types)
    return value if converted is _NO else converted


_NO = object()


def _fits(value: Any, types: set[str]) -> bool:
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return bool(types & {"integer", "number"})
    if isinstance(value, float):
        return "number" in types
    if isinstance(value, str):
        return "string" in types
    return value is None and "null" in types


def _convert(value: Any, types: set[str]) -> Any:
    if isinstance(value, bool):
        return _NO
    if "string" in types and isinstance(value, int):
        return str(value)
    if "integer" in types and isinstance(value, float) and value.is_integer():
        return int(value)  # 120.0 is exactly 120; sent as 120, never as "120.0"
    if isinstance(value, str):
        text = value.strip()
        if "integer" in types and _INTEGER.match(text):
            return int(text)
        if "number" in types and _NUMBER.match(text):
            number = float(text)
            if not math.isfinite(number):
                return _NO
            return int(text) if _INTEGER.match(text) else number
        if "boolean" in types and text.lower() in ("true", "false"):
            return text.lower() == "true"
    return _NO


def argument_errors(op: Operation, arguments: Any) -> list[str]:
    """Every problem with these arguments, one line each, naming the field and what was expected."""
    if not isinstance(arguments, dict):
        return ["arguments must be a JSON object"]
    errors = sorted(validator_for(op).iter_errors(arguments), key=_order)
    shown = redact(op, arguments) if errors else arguments  # what a message may quote: secrets are *** here
    messages = [_explain(op, error, _quotable(error, shown)) for error in errors]
    # JSON has no NaN or Infinity, yet parsers accept them (and 1e400 overflows to infinity); no schema refuses them.
    messages += [f"'{where}' must be a finite number" for where in _non_finite(arguments)]
    for group in op.require_one_of:
        if not any(arguments.get(name) not in (None, "") for name in group):
            messages.append(f"give at least one of: {', '.join(group)}")
    if not messages:
        messages = wire_problems(op, arguments)
    return list(dict.fromkeys(messages))


def _non_finite(arguments: dict[str, Any]) -> Iterator[str]:
    """Where NaN or an infinity sits in the arguments (walked without recursion: arguments may be deep)."""
    stack: list[tuple[str, Any]] = [(name, value) for name, value in arguments.items()]
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            yield where
        elif isinstance(value, dict):
            stack.extend((f"{where}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}.{index}", item) for index, item in enumerate(value))


def _order(error: ValidationError) -> tuple[int, str]:
    return (len(error.absolute_path), error.message)


def _field(error: ValidationError) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    return path or "arguments"


def _quotable(error: ValidationError, shown: Any) -> bool:
    """Whether the offending value may be quoted: not if it is, or holds, a secret."""
    value = shown
    for part in error.absolute_path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return bool(value == error.instance)


def _got(instance: Any, quotable: bool) -> str:
    kind = type(instance).__name__
    return f"{kind} {instance!r}" if quotable else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _explain(op: Operation, error: ValidationError, quotable: bool = True) -> str:
    where = _field(error)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = missing if where == "arguments" else f"{where}.{missing}"
        return f"missing required argument '{field}'" + _described(op, field)
    if error.validator == "additionalProperties" and where == "arguments":
        known = ", ".join(a.name for a in op.args)
        return (
            f"{error.message.replace('Additional properties are not allowed', 'unknown argument(s)')}; valid: {known}"
        )
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        got = repr(error.instance) if quotable else _got(error.instance, quotable)
        return f"'{where}' must be one of {allowed}, got {got}"
    if error.validator == "type":
        return f"'{where}' must be of type {error.validator_value}, got {_got(error.instance, quotable)}"
    if not quotable:
        # jsonschema's own message starts with the value; name the rule instead.
        rule = f" {error.validator_value!r}" if isinstance(error.validator_value, int | float | str) else ""
        return f"'{where}' does not meet {error.validator}{rule} (the value is secret, so it is not repeated here)"
    return f"'{where}': {error.message}"


def _described(op: Operation, field: str) -> str:
    arg = op.arg(field)
    description = arg.schema.get("description") if arg is not None else None
    return f" ({description})" if description else ""
