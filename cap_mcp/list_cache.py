"""tools/list answered from its wire form, built once per protocol version and tool list.

The SDK shapes every tools/list result anew: it dumps the result model, validates the dump against the
protocol version's schema and dumps it again — about 1.3 MB of short-lived objects for the 68 tools of
the default profile, per request. Fifty copilots connecting at once made that the largest part of an
HTTP server's peak memory. This middleware still asks the list handler which tools to list (so a
listing that depends on the caller or the client stays right), and reuses the shaped result whenever
the handler answers with the same Tool objects under the same protocol version. The cache holds the
Tool objects it was keyed by, so their identities cannot be reused while an entry lives.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult

LIMIT = 32  # distinct (protocol version, tool list) pairs kept


class ToolListCache:
    """Context-tier middleware (`Server.middleware`) for tools/list."""

    def __init__(self, server: Server[Any], limit: int = LIMIT) -> None:
        self._server = server
        self._limit = limit
        self._entries: OrderedDict[tuple[Any, ...], tuple[tuple[types.Tool, ...], dict[str, Any]]] = OrderedDict()

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/list" or set(ctx.params or {}) - {"_meta"}:
            return await call_next(ctx)  # other methods, and paged requests, go the usual way
        entry = self._server.get_request_handler("tools/list")
        if entry is None:
            return await call_next(ctx)
        listed = await entry.handler(ctx, entry.params_type.model_validate(ctx.params or {}, by_name=False))
        if not isinstance(listed, types.ListToolsResult) or listed.next_cursor is not None:
            return await call_next(ctx)
        tools = tuple(listed.tools)
        key = (ctx.protocol_version, *map(id, tools))
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            return dict(cached[1])
        wire = await call_next(ctx)
        if isinstance(wire, dict):
            self._entries[key] = (tools, dict(wire))
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)
        return wire
