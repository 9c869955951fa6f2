"""Turn an operation and its (validated) arguments into the exact HTTP request Capillary expects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .catalog import Operation


@dataclass(frozen=True)
class HttpRequest:
    """What goes on the wire, before authentication."""

    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    json_body: Any = None
    has_json_body: bool = False
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)


class UnknownHost(ValueError):
    """The operation's host has no base URL for this cluster."""


class RequestRefused(ValueError):
    """The arguments would make a request other than the operation's (another path) or one that cannot be sent."""


# Longest path + query cap-mcp sends: common servers and proxies refuse longer request lines (8 KiB).
MAX_TARGET_CHARS = 8000
_DOT_SEGMENTS = ("", ".", "..")


def wire_problems(op: Operation, arguments: dict[str, Any]) -> list[str]:
    """What in these arguments cannot go on the wire as the operation says; one line each, naming the argument.

    A path value must stay one segment of the operation's path (empty, "." and ".." would address another
    resource); a header value must be Latin-1 without control characters; path and query together stay
    within MAX_TARGET_CHARS.
    """
    problems = []
    target = len(op.path)
    for arg in op.args:
        value = arguments.get(arg.name)
        if value is None:
            continue
        if arg.location == "path":
            text = _scalar(value)
            if text.strip() in _DOT_SEGMENTS:
                problems.append(
                    f"'{arg.name}' cannot be {text!r}: it must name one {arg.name} (a path segment that is not "
                    "empty, '.' or '..')"
                )
            target += len(quote(text, safe=""))
        elif arg.location == "header":
            text = _scalar(value)
            bad = _header_fault(text)
            if bad:
                problems.append(f"'{arg.name}' is sent as an HTTP header and cannot contain {bad}")
        elif arg.location == "query":
            items = value if isinstance(value, list) else [value]
            target += len(arg.wire) + 2 + sum(len(quote(_scalar(item), safe="")) + 1 for item in items)
    if target > MAX_TARGET_CHARS:
        problems.append(
            f"the request's path and query would be {target:,} characters, over the {MAX_TARGET_CHARS:,} that "
            "can be sent: pass fewer or shorter values (split the call)"
        )
    return problems


def _header_fault(text: str) -> str | None:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "control characters (line breaks, tabs, NUL)"
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return "characters outside Latin-1"
    return None


def build_request(op: Operation, arguments: dict[str, Any], *, hosts: dict[str, str]) -> HttpRequest:
    """Place every argument where the operation says it goes; refuse what would address another resource."""
    problems = wire_problems(op, arguments)
    if problems:
        raise RequestRefused("; ".join(problems))
    path = op.path
    params: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    body: Any = None
    has_body = False
    form: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}

    for arg in op.args:
        if arg.name not in arguments:
            continue
        value = arguments[arg.name]
        if value is None:
            continue
        if arg.location == "path":
            path = path.replace("{" + arg.wire + "}", quote(_scalar(value), safe=""))
        elif arg.location == "query":
            if isinstance(value, list):
                if arg.style == "repeat":
                    params.extend((arg.wire, _scalar(item)) for item in value)
                else:
                    params.append((arg.wire, ",".join(_scalar(item) for item in value)))
            else:
                params.append((arg.wire, _scalar(value)))
        elif arg.location == "header":
            headers[arg.wire] = _scalar(value)
        elif arg.location == "body":
            if body is None:
                body = {}
            body = _set_dotted(body, arg.wire.split("."), value)
            has_body = True
        elif arg.location == "payload":
            body = value
            has_body = True
        elif arg.location == "form":
            form[arg.wire] = _scalar(value)
        elif arg.location == "file":
            files[arg.wire] = (
                value["filename"],
                value["content"].encode("utf-8"),
                value.get("content_type", "text/csv"),
            )

    params.extend(op.constants.get("query", {}).items())
    headers.update(op.constants.get("headers", {}))
    base = hosts.get(op.host)
    if base is None:
        raise UnknownHost(
            f"the {op.host} host of this cluster is not known: set CAP_MCP_HOST_URLS={op.host}=https://..."
        )
    if op.method in ("POST", "PUT", "PATCH") and not has_body and not form and not files:
        # Capillary's POST/PUT endpoints expect a JSON body even when every field is optional.
        body, has_body = ({}, True) if _expects_body(op) else (None, False)
    return HttpRequest(
        method=op.method,
        url=base + path,
        params=params,
        headers=headers,
        json_body=body,
        has_json_body=has_body,
        form=form,
        files=files,
    )


def _expects_body(op: Operation) -> bool:
    return any(a.location in ("body", "payload") for a in op.args)


def _scalar(value: Any) -> str:
    """How a value looks in a path, a query string, a header or a form field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        # JSON Schema counts 5100001.0 as an integer; Capillary reads ids as digits, not "5100001.0" or "1e+16".
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def get_dotted(container: Any, dotted: str) -> Any:
    """The value at a dotted path such as root.redeem.0.points, or None; the reverse of placing it."""
    value = container
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _set_dotted(container: Any, keys: list[str], value: Any) -> Any:
    """Set value at a dotted path such as root.redeem.0.points; numeric keys index lists."""
    key = keys[0]
    if key.isdigit():
        index = int(key)
        items = container if isinstance(container, list) else []
        while len(items) <= index:
            items.append({})
        items[index] = value if len(keys) == 1 else _set_dotted(items[index], keys[1:], value)
        return items
    mapping = container if isinstance(container, dict) else {}
    if len(keys) == 1:
        mapping[key] = value
    else:
        child = mapping.get(key, [] if keys[1].isdigit() else {})
        mapping[key] = _set_dotted(child, keys[1:], value)
    return mapping
