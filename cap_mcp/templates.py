"""Plain-language templates over a call's arguments: `{a.b}` is a value, `[ ... ]` is dropped when a field is missing.

Used by preview summaries, the consequences of conditional effects and the
arguments of the read that verifies a write. A path segment `*` takes every
item of a list (`{customers.*.loyaltyPoints}`), so a batch shows all its values.
"""

from __future__ import annotations

import re
from typing import Any

from .request_builder import get_dotted

OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
FIELD = re.compile(r"\{([A-Za-z0-9_.*\-]+)\}")
_WHOLE_FIELD = re.compile(r"^\{([A-Za-z0-9_.*\-]+)\}$")


def fields(template: str) -> list[str]:
    """The dotted argument paths a template reads."""
    return FIELD.findall(template)


def value_at(arguments: Any, dotted: str) -> Any:
    """The value at a dotted path; with `*` segments, the list of every value found (None when there is none)."""
    if "*" not in dotted.split("."):
        return get_dotted(arguments, dotted)
    found = _collect(arguments, dotted.split("."))
    return found or None


def _collect(value: Any, parts: list[str]) -> list[Any]:
    if not parts:
        return [] if value is None else [value]
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = value if isinstance(value, list) else []
        return [found for item in items for found in _collect(item, rest)]
    return _collect(get_dotted(value, head), rest)


def present(value: Any) -> bool:
    return value not in (None, "", [], {})


def render(template: str, arguments: dict[str, Any]) -> str:
    """Fill a template: optional parts whose fields are all present are kept, then every field is replaced."""

    def optional(match: re.Match[str]) -> str:
        inner = match.group(1)
        return inner if all(present(value_at(arguments, f)) for f in FIELD.findall(inner)) else ""

    text = OPTIONAL.sub(optional, template)
    text = FIELD.sub(lambda m: show(value_at(arguments, m.group(1))), text)
    return re.sub(r"\s{2,}", " ", text).strip()


def render_value(template: Any, arguments: dict[str, Any]) -> tuple[bool, Any]:
    """One argument for another call: a lone `{field}` keeps the value's type; other strings are rendered.

    Returns (False, None) when a field the template needs is missing. Lists are filled item by item;
    other values are constants.
    """
    if isinstance(template, list):
        items = [render_value(item, arguments) for item in template]
        return (True, [value for _, value in items]) if all(known for known, _ in items) else (False, None)
    if not isinstance(template, str):
        return True, template
    if not all(present(value_at(arguments, f)) for f in FIELD.findall(template)):
        return False, None
    whole = _WHOLE_FIELD.match(template)
    if whole is not None:
        return True, value_at(arguments, whole.group(1))
    return True, FIELD.sub(lambda m: str(value_at(arguments, m.group(1))), template)


def show(value: Any) -> str:
    if value is None:
        return "(not given)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        shown = [_label(v) for v in value[:5]]
        if all(shown):
            more = f" and {len(value) - 5} more" if len(value) > 5 else ""
            return ", ".join(str(s) for s in shown) + more
        return f"{len(value)} item" + ("" if len(value) == 1 else "s")
    if isinstance(value, dict):
        return argument_digest(value)
    return str(value)


def _label(value: Any) -> str | None:
    """A short name for a list item: itself if scalar, else its code, name or id."""
    if not isinstance(value, dict | list):
        return str(value)
    if isinstance(value, dict):
        for key in ("code", "name", "labelName", "couponCode", "id", "billNumber", "value"):
            if isinstance(value.get(key), str | int) and not isinstance(value.get(key), bool):
                return str(value[key])
    return None


def argument_digest(arguments: dict[str, Any], limit: int = 6) -> str:
    parts = []
    for key, value in list(arguments.items())[:limit]:
        parts.append(f"{key} {show(value)}" if not isinstance(value, dict) else f"{key} ({argument_digest(value, 3)})")
    if len(arguments) > limit:
        parts.append(f"and {len(arguments) - limit} more")
    return ", ".join(parts) if parts else "no arguments"
