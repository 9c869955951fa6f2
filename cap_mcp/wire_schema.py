"""The input schema as listed to the model: complete, and no longer than it needs to be.

The catalogue's schema (used for validation) is strict and self-contained. What `tools/list` carries says the
same to the model in fewer tokens:
- `additionalProperties: false` is left out: the server refuses unknown arguments itself and names the valid
  ones, so the keyword only costs tokens on every object;
- a sub-schema repeated within one tool (the same profile or line-item shape in several places) is written once
  under `$defs` and referenced with `$ref` (JSON Schema 2020-12, the dialect MCP tool schemas use).
Every property, type, enum value, required name and description stays.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

# A repeated sub-schema moves to $defs only when that saves clearly more than the reference costs.
MIN_SHARED_CHARS = 160


def compact(schema: dict[str, Any]) -> dict[str, Any]:
    lean = _without_closed_objects(schema)
    assert isinstance(lean, dict)
    # A shape worth sharing appears at least twice with a few properties each: small schemas cannot have one.
    if _count_objects(lean) < 5:
        return lean
    return _share_repeats(lean)


def _count_objects(node: Any) -> int:
    if isinstance(node, dict):
        return (node.get("type") in ("object", "array")) + sum(_count_objects(v) for v in node.values())
    if isinstance(node, list):
        return sum(_count_objects(v) for v in node)
    return 0


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


def _key(node: Any) -> str:
    return json.dumps(node, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _share_repeats(schema: dict[str, Any]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    nodes: dict[str, Any] = {}
    keys: dict[int, str] = {}  # id(node) -> canonical JSON, built bottom-up once (not re-serialised per level)

    def census(node: Any, top: bool) -> str:
        if isinstance(node, dict):
            # A canonical form for telling shapes apart (repr is cheap; it need not be JSON).
            inner = ",".join(f"{k!r}:{census(v, False)}" for k, v in sorted(node.items()))
            key = "{" + inner + "}"
            if not top and node.get("type") in ("object", "array"):
                counts[key] += 1
                nodes[key] = node
            keys[id(node)] = key
            return key
        if isinstance(node, list):
            key = "[" + ",".join(census(item, False) for item in node) + "]"
            keys[id(node)] = key
            return key
        return repr(node)

    whole = census(schema, True)
    if len(whole) < 2 * MIN_SHARED_CHARS:
        return schema
    shared = [key for key, count in counts.items() if count > 1 and len(key) >= MIN_SHARED_CHARS]
    if not shared:
        return schema
    # Largest first, so a shared shape inside another shared shape is referenced from within its definition.
    shared.sort(key=len, reverse=True)
    names: dict[str, str] = {}
    for key in shared:
        names[key] = _name_for(nodes[key], set(names.values()))

    def rewrite(node: Any, top: bool) -> Any:
        if isinstance(node, dict):
            if not top:
                key = keys.get(id(node))
                if key in names:
                    return {"$ref": f"#/$defs/{names[key]}"}
            return {k: rewrite(v, False) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(item, False) for item in node]
        return node

    defs = {names[key]: {k: rewrite(v, False) for k, v in nodes[key].items()} for key in shared}
    # Keep only definitions still referenced (one shared shape may be wholly inside another).
    out = rewrite(schema, True)
    text = json.dumps([out, defs])
    used = {name: body for name, body in defs.items() if f'"#/$defs/{name}"' in text}
    return {**out, "$defs": used} if used else schema


def _name_for(node: dict[str, Any], taken: set[str]) -> str:
    base = "list" if node.get("type") == "array" else "object"
    props = node.get("properties") or (node.get("items") or {}).get("properties") or {}
    if props:
        base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in "_".join(sorted(props)[:2]))[:40]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name
