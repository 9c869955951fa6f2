"""Serving over stdio, hardened at the edges of the SDK's transport.

The SDK's stdio transport hands a line it cannot parse to the server as an exception, which the server
only logs, so the client waits for an answer forever; and a message it cannot serialise ends the process.
Two small relays between the transport and the server fix both without changing the SDK:
- inbound, a line that is not JSON gets a JSON-RPC parse error (-32700), and JSON that is not a valid message
  (a batch, a request without a method, ...) an invalid-request error (-32600), with the request's id when it
  can be read, else null;
- outbound, a message that cannot be serialised is replaced by an internal error for the same request,
  so one odd answer costs that call, never the connection.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

log = logging.getLogger("cap_mcp.stdio")


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (transport_read, transport_write):
        to_server, server_read = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        server_write, from_server = anyio.create_memory_object_stream[SessionMessage](0)

        async def inbound() -> None:
            async with to_server:
                async for item in transport_read:
                    if isinstance(item, Exception):
                        await transport_write.send(SessionMessage(error_for_unparsable(item)))
                    else:
                        await to_server.send(item)

        async def outbound() -> None:
            async with from_server:
                async for message in from_server:
                    await transport_write.send(serialisable(message))

        async with transport_write, anyio.create_task_group() as tasks:
            tasks.start_soon(inbound)
            tasks.start_soon(outbound)
            async with server_write:
                await server.run(server_read, server_write, server.create_initialization_options())
            tasks.cancel_scope.cancel()


def error_for_unparsable(exc: Exception) -> types.JSONRPCError:
    """The JSON-RPC error answering a line the transport could not turn into a message."""
    errors = exc.errors() if isinstance(exc, ValidationError) else []
    if not errors or any(e.get("type") == "json_invalid" for e in errors):
        log.warning("stdio: a line that is not JSON was answered with a parse error")
        return _error(None, types.PARSE_ERROR, "Parse error: the message is not valid JSON")
    request_id = None
    for error in errors:
        candidate = error.get("input")
        if isinstance(candidate, dict) and isinstance(candidate.get("id"), str | int):
            request_id = candidate["id"]
            if not isinstance(request_id, bool):
                break
            request_id = None
    log.warning("stdio: a JSON value that is not a JSON-RPC message was answered with invalid request")
    return _error(
        request_id, types.INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 message (batches are not supported)"
    )


def serialisable(message: SessionMessage) -> SessionMessage:
    """The message if it can be written; otherwise an internal error for the same request."""
    try:
        message.message.model_dump_json(by_alias=True, exclude_unset=True)
    except Exception as exc:  # a value no JSON can carry; the transport would die on it
        request_id = getattr(message.message, "id", None)
        log.error("stdio: could not serialise a message for request %r (%s)", request_id, type(exc).__name__)
        return SessionMessage(_error(request_id, types.INTERNAL_ERROR, "The server could not encode its answer"))
    return message


def _error(request_id: Any, code: int, message: str) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message))
