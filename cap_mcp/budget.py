"""Keeping every tool result within a budget the model can afford.

A result carries the answer twice (as text for every client, as structured content for those that read it), so
the answer may use about half the budget. When it is larger, the largest list in it is cut to a prefix of whole
records (then the next largest, and so on), and failing that, long strings are shortened; the result then says
what was left out ("showing 120 of 6,000 entries of data.ledger") and how to get the rest — the operation's own
paging arguments where it has them, its narrowing filters where it does not. Nothing is dropped silently.

Size is measured in characters of compact JSON, cheap to count; `CHARS_PER_TOKEN` is a conservative ratio
for JSON (the benchmark checks the real token count of a cut result).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .catalog import Operation

CHARS_PER_TOKEN = 3.0
_PAGING_OFFSET = ("offset", "start", "startIndex", "startLimit")
_PAGING_SIZE = ("limit", "size", "pageSize", "page_size", "count")
_PAGING_PAGE = ("page", "pageNumber", "page_no")
_CURSOR = re.compile(r"(?i)^(start_?id|last_?id|cursor|next_?token)$")
_FILTER_HINT = re.compile(r"(?i)(date|from|to$|till|since|until|type|status|id$|ids$|name$|code$|mode|source)")


@dataclass(frozen=True)
class Cut:
    """What was left out of an answer."""

    path: str
    shown: int
    total: int
    unit: str = "entries"

    def describe(self) -> str:
        return f"showing {self.shown:,} of {self.total:,} {self.unit} of {self.path}"


def size_of(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def fit(payload: Any, limit: int) -> tuple[Any, list[Cut]]:
    """A copy of payload whose compact JSON is at most `limit` characters, and what was cut to get there."""
    cuts: list[Cut] = []
    if size_of(payload) <= limit:
        return payload, cuts
    value = _copy(payload)
    for _ in range(64):
        size = size_of(value)
        if size <= limit:
            break
        found = _largest_container(value)
        if found is None or found[1] < 2 * 64:
            value = _shorten_strings(value, max(64, limit // 8))
            if size_of(value) <= limit:
                cuts.append(Cut("long text values", 0, 0, "characters"))
                break
            return _summary_only(payload, limit), [Cut("the answer", 0, 1, "answer")]
        path, container_size = found
        container = _at(value, path)
        keep = _prefix_that_fits(container, container_size - (size - limit))
        total = len(container)
        shorter = container[:keep] if isinstance(container, list) else dict(list(container.items())[:keep])
        value = _replace(value, path, shorter)
        where = ".".join(str(part) for part in path) or "the answer"
        previous = next((c for c in cuts if c.path == where), None)
        if previous is not None:
            cuts.remove(previous)
            total = previous.total
        cuts.append(Cut(where, keep, total, "entries" if isinstance(container, list) else "keys"))
    return value, cuts


def how_to_get_more(op: Operation, arguments: dict[str, Any], cuts: list[Cut]) -> str:
    """What the model can do to see what was left out, in this operation's own terms."""
    names = {arg.name for arg in op.args}
    shown = min((c.shown for c in cuts if c.unit == "entries" and c.shown), default=0)
    offset = next((n for n in _PAGING_OFFSET if n in names), None)
    size = next((n for n in _PAGING_SIZE if n in names), None)
    page = next((n for n in _PAGING_PAGE if n in names), None)
    cursor = next((n for n in sorted(names) if _CURSOR.match(n)), None)
    if offset and size and shown:
        start = _int(arguments.get(offset)) + shown
        return f"to see more, call {op.name} again with {offset}={start} and {size}={shown}"
    if page and size and shown:
        return f"to see more, call {op.name} with {size}={shown} and {page}=1, 2, ... (pages of {shown})"
    if size and shown:
        extra = f" and {cursor} after the last one shown" if cursor else ""
        return f"ask for fewer at a time: call {op.name} with {size}={shown}{extra}, or narrow it with filters"
    filters = [a.name for a in op.args if not a.required and a.location in ("query", "body") and
               _FILTER_HINT.search(a.name)][:6]  # fmt: skip
    if filters:
        return f"narrow the request with its filters ({', '.join(filters)}) to see the rest"
    return "the full answer is too large to show; narrow the request if the operation allows it"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


Path = tuple[str | int, ...]


def _largest_container(value: Any) -> tuple[Path, int] | None:
    """The path and size of the largest list with more than one item; failing that, of the largest object with
    more than one key (an object is larger than anything in it, so objects only count when no list does)."""
    best: tuple[Path, int] | None = None
    best_object: tuple[Path, int] | None = None
    stack: list[tuple[Any, Path]] = [(value, ())]
    while stack:
        node, where = stack.pop()
        children: list[tuple[str | int, Any]]
        if isinstance(node, list):
            children = list(enumerate(node))
        elif isinstance(node, dict):
            children = list(node.items())
        else:
            continue
        if len(children) > 1:
            size = size_of(node)
            if isinstance(node, list) and (best is None or size > best[1]):
                best = (where, size)
            elif isinstance(node, dict) and (best_object is None or size > best_object[1]):
                best_object = (where, size)
        for key, child in children:
            if isinstance(child, dict | list):
                stack.append((child, (*where, key)))
    return best if best is not None and best[1] >= 2 * 64 else best_object


def _at(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


def _replace(value: Any, path: Path, new: Any) -> Any:
    """value with the node at path replaced by new (the root itself when path is empty)."""
    if not path:
        return new
    holder = _at(value, path[:-1])
    holder[path[-1]] = new
    return value


def _prefix_that_fits(container: Any, room: int) -> int:
    """How many leading items (whole records) of a list or object fit in `room` characters; at least one."""
    items = container if isinstance(container, list) else [{k: v} for k, v in container.items()]
    used, count = 2, 0
    for item in items:
        used += size_of(item) + 1
        if used > room:
            break
        count += 1
    return max(1, min(count, len(items) - 1))


def _shorten_strings(value: Any, longest: int) -> Any:
    if isinstance(value, str) and len(value) > longest:
        return value[:longest] + f"… [{len(value) - longest:,} more characters]"
    if isinstance(value, dict):
        return {k: _shorten_strings(v, longest) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten_strings(v, longest) for v in value]
    return value


def _summary_only(payload: Any, limit: int) -> Any:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    keep = max(0, limit - 120)
    while True:
        summary = {"partial_text": text[:keep], "note": "cut: the answer could not be shortened by records"}
        if size_of(summary) <= limit or keep == 0:
            return summary
        keep = max(0, keep - max(16, (size_of(summary) - limit) * 2))
