"""Argument validation against each tool's JSON Schema, with messages a model can act on."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .catalog import Operation
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


def argument_errors(op: Operation, arguments: Any) -> list[str]:
    """Every problem with these arguments, one line each, naming the field and what was expected."""
    if not isinstance(arguments, dict):
        return ["arguments must be a JSON object"]
    errors = sorted(validator_for(op).iter_errors(arguments), key=_order)
    messages = [_explain(op, error) for error in errors]
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


def _explain(op: Operation, error: ValidationError) -> str:
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
        return f"'{where}' must be one of {allowed}, got {error.instance!r}"
    if error.validator == "type":
        return (
            f"'{where}' must be of type {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
        )
    return f"'{where}': {error.message}"


def _described(op: Operation, field: str) -> str:
    arg = op.arg(field)
    description = arg.schema.get("description") if arg is not None else None
    return f" ({description})" if description else ""
