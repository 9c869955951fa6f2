"""The MCP server: tools/list from the profile, tools/call through validation, guards and the shared client."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import mcp_types as types
from mcp import MCPError
from mcp.server import Server, ServerRequestContext
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity

from . import __version__
from .catalog import Operation
from .guards import TOKEN_ARG, TOKEN_SCHEMA, Proceed, caller_name, principal_of
from .list_cache import ToolListCache
from .observe import observed_call, report_guard
from .results import invalid_arguments, outcome_result, text_result
from .runtime import Runtime
from .search import DISCOVERY_TOOLS, describe_operation, search_operations
from .validation import argument_errors

log = logging.getLogger("cap_mcp.server")

SERVER_NAME = "cap-mcp"

INSTRUCTIONS = """\
Tools for a brand's Capillary CRM and loyalty programme, grouped by area (customer_, points_, coupon_,
transaction_, ...). Most work starts by finding the customer: customer_lookup by mobile, email or external id
gives the user id that other tools take. Reads run at once. Anything that changes data or moves value
(transfers, redemptions, issuing coupons, adding transactions) asks the user to confirm that exact call first:
either the client shows a prompt, or the tool answers CONFIRMATION REQUIRED with a preview and a
confirmation_token — show the preview to the user and call again with the token only if they agree.
If a result says OUTCOME UNKNOWN, check with the read tool it names before trying again."""

DYNAMIC_INSTRUCTIONS = (
    INSTRUCTIONS
    + "\nOnly three tools are listed: search_operations finds the operation for a request in everyday words, "
    "describe_operation shows its arguments, call_operation runs it (with the same confirmations)."
)


def build_tools(runtime: Runtime) -> list[types.Tool]:
    """The tool definitions this profile shows, built once."""
    if runtime.profile.dynamic:
        return [types.Tool.model_validate(tool) for tool in DISCOVERY_TOOLS]
    return [tool_for(runtime, op) for op in runtime.profile.operations]


def tool_for(runtime: Runtime, op: Operation) -> types.Tool:
    schema = op.input_schema
    if runtime.guard.accepts_token(op):
        schema = {**schema, "properties": {**schema["properties"], TOKEN_ARG: TOKEN_SCHEMA}}
    annotations = op.annotations
    return types.Tool(
        name=op.name,
        title=op.title,
        description=op.description,
        input_schema=schema,
        annotations=types.ToolAnnotations(
            title=annotations["title"],
            read_only_hint=annotations["readOnlyHint"],
            destructive_hint=annotations["destructiveHint"],
            idempotent_hint=annotations["idempotentHint"],
            open_world_hint=annotations["openWorldHint"],
        ),
    )


def build_server(runtime: Runtime) -> Server[Any]:
    tools = build_tools(runtime)
    schemas = {tool.name: tool.input_schema for tool in tools}

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        try:
            return await observed_call(runtime.observer, params.name, caller_name(ctx), ctx.request_id,
                                       lambda: _dispatch(runtime, ctx, params))  # fmt: skip
        except MCPError:
            raise
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("tools/call %s failed (reference %s)", params.name, reference)
            return text_result(
                f"cap-mcp failed unexpectedly while handling {params.name} (reference {reference}). "
                "The operator can find the details in the server log under that reference.",
                error=True,
            )

    server: Server[Any] = Server(
        SERVER_NAME,
        version=__version__,
        instructions=DYNAMIC_INSTRUCTIONS if runtime.profile.dynamic else INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        get_tool_input_schema=schemas.get,
    )
    keys = runtime.settings.state_keys()
    ttl = float(runtime.settings.confirmation_ttl)
    security = RequestStateSecurity(keys=keys, ttl=ttl) if keys else RequestStateSecurity.ephemeral(ttl=ttl)
    server.middleware.append(RequestStateBoundary(security, default_audience=SERVER_NAME))
    server.middleware.append(ToolListCache(server))
    return server


async def _dispatch(
    runtime: Runtime, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
) -> types.CallToolResult | types.InputRequiredResult:
    arguments = dict(params.arguments or {})
    name = params.name
    if runtime.profile.dynamic and name == "search_operations":
        return search_operations(runtime, arguments)
    if runtime.profile.dynamic and name == "describe_operation":
        return describe_operation(runtime, arguments, tool_for)
    if runtime.profile.dynamic and name == "call_operation":
        inner = arguments.get("name")
        if not isinstance(inner, str):
            return text_result("call_operation needs 'name': an operation name from search_operations.", error=True)
        token = arguments.get(TOKEN_ARG)
        inner_args = arguments.get("arguments") or {}
        if not isinstance(inner_args, dict):
            return text_result("call_operation's 'arguments' must be an object.", error=True)
        return await run_operation(runtime, ctx, params, inner, dict(inner_args), token)
    token = arguments.pop(TOKEN_ARG, None)
    return await run_operation(runtime, ctx, params, name, arguments, token)


async def run_operation(
    runtime: Runtime,
    ctx: ServerRequestContext[Any],
    params: types.CallToolRequestParams,
    name: str,
    arguments: dict[str, Any],
    token: Any,
) -> types.CallToolResult | types.InputRequiredResult:
    op = runtime.profile.get(name)
    if op is None:
        return _unavailable(runtime, name)
    if token is not None and not isinstance(token, str):
        return text_result("confirmation_token must be a string from a confirmation_required result.", error=True)
    problems = argument_errors(op, arguments)
    if problems:
        return invalid_arguments(op, problems)
    decision = await runtime.guard.check(ctx, params, op, arguments, token)
    report_guard(runtime.observer, decision)
    guarded = op.effect != "read"
    if not isinstance(decision, Proceed):
        if guarded and decision.decision != "asked":
            runtime.audit.call(op.name, op.effect, arguments, confirmed_by=None, decision=decision.decision,
                               **_who(runtime, ctx))  # fmt: skip
        return decision.result
    async with runtime.limiter(principal_of(ctx)):
        outcome = await runtime.client.call(op, arguments)
    if guarded:
        runtime.audit.call(op.name, op.effect, arguments, confirmed_by=decision.how, result=outcome,
                           **_who(runtime, ctx))  # fmt: skip
    return outcome_result(op, outcome)


def _unavailable(runtime: Runtime, name: str) -> types.CallToolResult:
    op = runtime.catalog.get(name)
    if op is None:
        raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {name}")
    if runtime.profile.read_only and op.effect != "read":
        why = "this server is read-only: tools that change data are neither listed nor callable"
    else:
        why = f"its toolset '{op.toolset}' is not enabled on this server (CAP_MCP_TOOLSETS / --toolsets)"
    return text_result(
        f"Not executed: {name} is not available — {why}.",
        error=True,
        structured={"status": "not_available", "reason": why},
    )


def _who(runtime: Runtime, ctx: ServerRequestContext[Any]) -> dict[str, Any]:
    """Who made a call and over what, for the audit log."""
    return {"caller": caller_name(ctx), "session": runtime.guard.session_key(ctx), "protocol": ctx.protocol_version}
