"""MCP tools: `tools/list` from the caller's policy, `tools/call` through `calls.run_call`."""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp import MCPError
from mcp.server import ServerRequestContext

from . import discovery
from .calls import Caller, UnknownOperation, run_call
from .catalog import Operation
from .guards import TOKEN_ARG, Proceed, Stop, caller_name, principal_of
from .observe import report_guard
from .policy import Policy
from .results import text_result
from .runtime import Runtime

# Listings longer than this leave out tool titles (see tool_for).
TITLED_TOOLS = 100


def tool_for(op: Operation, titled: bool = True) -> types.Tool:
    """One operation as the model sees it.

    A tool that may ask for a confirmation also takes `confirmation_token`, but does not list it: the model passes
    it only when a CONFIRMATION REQUIRED answer hands it one and says so (the server instructions say it too), and
    listing it on every such tool cost about 1,400 tokens with every toolset listed. With more than
    `TITLED_TOOLS` tools listed the display titles are left out too (clients show the name instead): they are for
    people, cost about 2,300 tokens over the whole catalogue, and tell the model nothing the name and description
    do not."""
    title = op.title if titled else None
    return types.Tool(
        name=op.name, title=title, description=op.description, input_schema=op.listed_schema, annotations=_hints(op)
    )


def _hints(op: Operation) -> types.ToolAnnotations:
    """The annotations that differ from the protocol's defaults (not read-only, destructive, not idempotent,
    open world): every tool acts on the live Capillary organisation, so openWorldHint stays at its default, and the
    title is the tool's own."""
    annotations = op.annotations
    if annotations["readOnlyHint"]:
        return types.ToolAnnotations(read_only_hint=True)
    if annotations["idempotentHint"]:  # unset fields stay off the wire (the transport drops unset, not None)
        return types.ToolAnnotations(destructive_hint=annotations["destructiveHint"], idempotent_hint=True)
    return types.ToolAnnotations(destructive_hint=annotations["destructiveHint"])


def tool_definitions(runtime: Runtime, policy: Policy) -> list[types.Tool]:
    """The tools this policy lists, built once per policy."""
    key = id(policy)
    tools = runtime.tool_lists.get(key)
    if tools is None:
        listed = policy.profile.listed
        tools = [tool_for(op, titled=len(listed) <= TITLED_TOOLS) for op in listed]
        if policy.profile.discovery:
            tools += discovery.definitions()
        runtime.tool_lists[key] = tools
    return tools


def input_schema(runtime: Runtime, name: str) -> dict[str, Any] | None:
    """A tool's input schema by name, for any caller (the SDK asks before it knows who is calling)."""
    op = runtime.catalog.get(name)
    if op is not None:
        return op.listed_schema
    for tool in discovery.DISCOVERY_TOOLS:
        if tool["name"] == name:
            schema: dict[str, Any] = tool["inputSchema"]
            return schema
    return None


async def call_tool(
    runtime: Runtime, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
) -> types.CallToolResult | types.InputRequiredResult:
    policy = runtime.policy_for(caller_name(ctx))
    arguments = dict(params.arguments or {})
    name = params.name
    if policy.profile.discovery and name in discovery.NAMES:
        return await _discovery(runtime, policy, ctx, params, name, arguments)
    token = arguments.pop(TOKEN_ARG, None)
    try:
        return await _run(runtime, policy, ctx, params, name, arguments, token)
    except UnknownOperation:
        raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {name}") from None


async def _discovery(
    runtime: Runtime,
    policy: Policy,
    ctx: ServerRequestContext[Any],
    params: types.CallToolRequestParams,
    name: str,
    arguments: dict[str, Any],
) -> types.CallToolResult | types.InputRequiredResult:
    if name == "search_operations":
        return discovery.search_operations(runtime, policy, arguments)
    if name == "describe_operation":
        op = policy.profile.get(str(arguments.get("name")))
        schema = op.listed_schema if op is not None else None
        return discovery.describe_operation(runtime, policy, arguments, schema)
    inner = arguments.get("name")
    if not isinstance(inner, str):
        return text_result("call_operation needs 'name': an operation name from search_operations.", error=True)
    inner_args = arguments.get("arguments") or {}
    if not isinstance(inner_args, dict):
        return text_result("call_operation's 'arguments' must be an object.", error=True)
    try:
        return await _run(runtime, policy, ctx, params, inner, dict(inner_args), arguments.get(TOKEN_ARG))
    except UnknownOperation:
        return text_result(f"No operation named {inner!r}; use search_operations to find one.", error=True)


async def _run(
    runtime: Runtime,
    policy: Policy,
    ctx: ServerRequestContext[Any],
    params: types.CallToolRequestParams,
    name: str,
    arguments: dict[str, Any],
    token: Any,
) -> types.CallToolResult | types.InputRequiredResult:
    if token is not None and not isinstance(token, str):
        return text_result("confirmation_token must be a string from a confirmation_required result.", error=True)

    async def confirm(op: Operation, checked: dict[str, Any]) -> Proceed | Stop:
        decision = await runtime.guard.check(ctx, params, op, checked, token, policy)
        report_guard(runtime.observer, decision)
        return decision

    who = {"caller": caller_name(ctx), "session": runtime.guard.session_key(ctx), "protocol": ctx.protocol_version}
    return await run_call(runtime, policy, name, arguments, confirm=confirm, caller=Caller(principal_of(ctx), who))
