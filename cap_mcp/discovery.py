"""Discovery: three tools through which every operation a caller may use stays reachable without being listed.

`search_operations` finds operations for a request in everyday words, `describe_operation` shows one's full
input schema, `call_operation` runs one by name — through the same path as a listed tool (`calls.run_call`):
the same policy, validation, confirmation, audit and result.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import mcp_types as types

from .catalog import Operation
from .composite import Composite
from .policy import Policy
from .results import text_result

if TYPE_CHECKING:
    from .runtime import Runtime
    from .search import SearchIndex

DISCOVERY_TOOLS: list[dict[str, Any]] = [
    {
        "name": "search_operations",
        "title": "Find a Capillary operation",
        "description": "Finds the operations for a request in plain words (e.g. 'give her points to her husband', "
        "'is this voucher still valid'). Returns names, toolsets and one-line descriptions, best first.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What you want to do, in everyday words"},
                "toolset": {"type": "string", "description": "Only this toolset, e.g. points"},
                "effect": {"type": "string", "enum": ["read", "write", "destructive"]},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    },
    {
        "name": "describe_operation",
        "title": "Describe a Capillary operation",
        "description": "Shows an operation's full input schema, effect and notes. Call before call_operation.",
        "inputSchema": {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "Operation name from search_operations"}},
            "required": ["name"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    },
    {
        "name": "call_operation",
        "title": "Run a Capillary operation",
        "description": "Runs an operation by name with its arguments, validated and confirmed exactly like the "
        "direct tool. Changes ask the user first; pass confirmation_token only from a confirmation_required result.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "arguments": {"type": "object", "description": "As describe_operation shows"},
                "confirmation_token": {"type": "string"},
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False, "openWorldHint": True},
    },
]

NAMES = frozenset(tool["name"] for tool in DISCOVERY_TOOLS)


def definitions() -> list[types.Tool]:
    return [types.Tool.model_validate(tool) for tool in DISCOVERY_TOOLS]


def index_for(runtime: Runtime, policy: Policy) -> SearchIndex:
    """The search index over what this policy can reach, built on first use and kept on the runtime."""
    key = id(policy.profile)
    index = runtime.search_indexes.get(key)
    if index is None:
        from .search import SearchIndex  # its vocabulary loads on the first search, not at start-up

        index = runtime.search_indexes[key] = SearchIndex(policy.profile.operations)
    return index


MAX_QUERY_CHARS = 1000


def search_operations(runtime: Runtime, policy: Policy, arguments: dict[str, Any]) -> types.CallToolResult:
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        return text_result("search_operations needs 'query': what you want to do, in everyday words.", error=True)
    if len(query) > MAX_QUERY_CHARS:  # a request, not a document: and parsing one is not linear in its length
        return text_result(
            f"search_operations takes a request of at most {MAX_QUERY_CHARS} characters ({len(query)} given): "
            "say what you want to do in a sentence or two.",
            error=True,
        )
    limit = arguments.get("limit", 5)
    limit = max(1, min(int(limit), 20)) if isinstance(limit, int) and not isinstance(limit, bool) else 5
    toolset, effect = arguments.get("toolset"), arguments.get("effect")
    index = index_for(runtime, policy)
    hits = index.search(
        query,
        toolset=toolset if isinstance(toolset, str) else None,
        effect=effect if isinstance(effect, str) else None,
        limit=limit,
    )
    results: list[dict[str, Any]] = []
    lines = []
    for op, _ in hits:
        result = {"name": op.name, "toolset": op.toolset, "effect": op.effect,
                  "description": _first_sentence(op.description)}  # fmt: skip
        line = f"{op.name} [{op.toolset}, {op.effect}]: {result['description']}"
        first = index.first_call(op.name)
        if first is not None:  # it needs a user id: from a mobile or email, that is one call away
            result["first_call"] = first[0]
            line += f" Needs {first[1]} from {first[0]}."
        results.append(result)
        lines.append(line)
    if not results:
        text = "No operation matches. Try other words, or a toolset such as customer, points, coupon, transaction."
    else:
        text = "\n".join(lines) + "\nNext: describe_operation with the best name, then call_operation."
    return text_result(text, structured={"results": results})


def describe_operation(
    runtime: Runtime, policy: Policy, arguments: dict[str, Any], schema: dict[str, Any] | None
) -> types.CallToolResult:
    name = arguments.get("name")
    op = policy.profile.get(name) if isinstance(name, str) else None
    if op is None or schema is None:
        return text_result(f"No operation named {name!r} is available here; use search_operations.", error=True)
    described = operation_details(op, policy, schema)
    return text_result(json.dumps(described, ensure_ascii=False), structured=described)


def operation_details(op: Operation, policy: Policy, schema: dict[str, Any]) -> dict[str, Any]:
    """One operation as describe_operation and the capillary://operations/{name} resource show it."""
    described: dict[str, Any] = {
        "name": op.name,
        "toolset": op.toolset,
        "title": op.title,
        "description": op.description,
        "effect": op.effect,
        "confirmation": "asks the user first" if policy.may_ask(op) else "runs at once",
        "input_schema": schema,
    }
    if isinstance(op, Composite):
        described["composite_of"] = list(op.reads)
    else:
        described.update(method=op.method, path=op.path)
    if op.notes:
        described["notes"] = op.notes
    if op.require_one_of:
        described["require_one_of"] = [list(group) for group in op.require_one_of]
    return described


def _first_sentence(text: str) -> str:
    head = text.split(". ")[0].strip()
    return head if head.endswith(".") else head + "."
