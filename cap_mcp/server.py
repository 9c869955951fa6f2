"""The MCP server: one handler per MCP method, each delegating to the module of its feature."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable
from typing import Any, TypeVar

import mcp_types as types
from mcp import MCPError
from mcp.server import Server, ServerRequestContext
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity

from . import __version__, tools
from .guards import caller_name, principal_of
from .list_cache import ToolListCache
from .observe import observed_call
from .policy import Policy
from .results import text_result
from .runtime import Runtime

log = logging.getLogger("cap_mcp.server")
T = TypeVar("T")

SERVER_NAME = "cap-mcp"

INSTRUCTIONS = """\
Tools for a brand's Capillary CRM and loyalty programme, grouped by area (customer_, points_, coupon_,
transaction_, ...). Most work starts by finding the customer: customer_lookup by mobile, email or external id
gives the user id that other tools take. Reads run at once. Anything that changes data or moves value
(transfers, redemptions, issuing coupons, adding transactions) asks the user to confirm that exact call first:
either the client shows a prompt, or the tool answers CONFIRMATION REQUIRED with a preview and a
confirmation_token — show the preview to the user and call again with the token only if they agree.
If a result says OUTCOME UNKNOWN, check with the read tool it names before trying again.
For "what is going on with this customer?", customer_overview gathers profile, points, tier, expiring points,
coupons and the latest points events in one call. Resources: capillary://guides/{toolset} (a toolset's tools
and the usual order of calls), capillary://errors (what an error code means and what to do),
capillary://policy (what you may do here)."""

DISCOVERY_INSTRUCTIONS = (
    "\nOnly some operations are listed as tools; every other one is reachable through search_operations (finds "
    "the operation for a request in everyday words), describe_operation (its arguments) and call_operation (runs "
    "it, with the same confirmations)."
)


def build_server(runtime: Runtime) -> Server[Any]:
    """The MCP server: a thin dispatcher over one module per MCP feature."""

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools.tool_definitions(runtime, runtime.policy_for(caller_name(ctx))))

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        try:
            return await observed_call(runtime.observer, params.name, caller_name(ctx), ctx.request_id,
                                       lambda: tools.call_tool(runtime, ctx, params))  # fmt: skip
        except MCPError:
            raise
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("tools/call %s failed (reference %s)", params.name, reference)
            return text_result(
                f"cap-mcp failed unexpectedly while handling {params.name} (reference {reference}); nothing was "
                "sent to Capillary. The operator can find the details in the server log under that reference.",
                error=True,
                structured={"status": "internal_error", "outcome": "not_done", "reference": reference},
            )

    async def list_resources(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        from . import resources  # each feature module loads when first used, not at start-up

        return types.ListResourcesResult(resources=resources.list_resources(runtime, _policy(ctx)))

    async def list_resource_templates(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        from . import resources

        return types.ListResourceTemplatesResult(resource_templates=resources.list_templates(runtime, _policy(ctx)))

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        from . import resources

        return await _safely("resources/read", resources.read(runtime, _policy(ctx), params.uri, principal_of(ctx)))

    async def list_prompts(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        from . import prompts

        listed = prompts.listed(runtime.catalog, _policy(ctx))
        return types.ListPromptsResult(prompts=[prompts.definition(spec) for spec in listed])

    async def get_prompt(ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> types.GetPromptResult:
        from . import prompts

        return prompts.get(runtime.catalog, _policy(ctx), params.name, params.arguments)

    async def complete(ctx: ServerRequestContext[Any], params: types.CompleteRequestParams) -> types.CompleteResult:
        from . import completions

        return completions.complete(runtime.catalog, _policy(ctx), params)

    def _policy(ctx: ServerRequestContext[Any]) -> Policy:
        return runtime.policy_for(caller_name(ctx))

    server: Server[Any] = Server(
        SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS + (DISCOVERY_INSTRUCTIONS if runtime.policy.profile.discovery else ""),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_resource_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_completion=complete,
        get_tool_input_schema=lambda name: tools.input_schema(runtime, name),
    )
    keys = runtime.settings.state_keys()
    ttl = float(runtime.settings.confirmation_ttl)
    security = RequestStateSecurity(keys=keys, ttl=ttl) if keys else RequestStateSecurity.ephemeral(ttl=ttl)
    server.middleware.append(RequestStateBoundary(security, default_audience=SERVER_NAME))
    server.middleware.append(ToolListCache(server))
    return server


async def _safely(method: str, work: Awaitable[T]) -> T:
    """Protocol errors pass; anything unexpected becomes an internal error with a reference, never its text."""
    try:
        return await work
    except MCPError:
        raise
    except Exception:
        reference = secrets.token_hex(4)
        log.exception("%s failed (reference %s)", method, reference)
        raise MCPError(
            code=types.INTERNAL_ERROR, message=f"cap-mcp failed unexpectedly (reference {reference})"
        ) from None
