"""Serving over stdio, hardened at the edges of the SDK's transport.

The SDK's stdio transport hands a line it cannot parse to the server as an exception, which the server
only logs, so the client waits for an answer forever; and a message it cannot serialise ends the process.
Two small relays between the transport and the server fix both without changing the SDK:
- inbound, a line that is not JSON gets a JSON-RPC parse error (-32700), and JSON that is not a valid message
  (a batch, a request without a method, ...) an invalid-request error (-32600), with the request's id when it
  can be read, else null; a message beyond the SDK's parser's limits (nested deeper than about 200 levels, an
  integer longer than about 4,300 digits) is parsed again here, up to `MAX_MESSAGE_DEPTH`, so a tool call with
  odd arguments gets a tool result like any other;
- outbound, a message that cannot be serialised is replaced by an internal error for the same request,
  so one odd answer costs that call, never the connection.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

log = logging.getLogger("cap_mcp.stdio")

# Deepest message parsed when the SDK's parser gives up on depth; beyond it a line is answered as unparsable
# (Python's own parser and every later step recurse, so the bound keeps them far from the interpreter's limit).
MAX_MESSAGE_DEPTH = 600
# What the SDK's parser (jiter) refuses that Python's json reads.
_PARSER_LIMITS = ("recursion limit exceeded", "number out of range")


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (transport_read, transport_write):
        to_server, server_read = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        server_write, from_server = anyio.create_memory_object_stream[SessionMessage](0)

        async def inbound() -> None:
            async with to_server:
                async for item in transport_read:
                    if isinstance(item, Exception):
                        item = parse_again(item)
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


def parse_again(exc: Exception) -> SessionMessage | Exception:
    """The message the SDK's parser refused only for one of its limits, parsed with Python's; else the error.

    Strict JSON all the same: NaN and Infinity are refused, lone surrogates too; an integer too long to be a
    Python int is read as the float it overflows to (infinity), which argument validation refuses by name.
    """
    if not isinstance(exc, ValidationError):
        return exc
    line = next(
        (
            e.get("input")
            for e in exc.errors()
            if e.get("type") == "json_invalid" and any(limit in e.get("msg", "") for limit in _PARSER_LIMITS)
        ),
        None,
    )
    if not isinstance(line, str) or _depth(line) > MAX_MESSAGE_DEPTH:
        return exc
    try:
        value = json.loads(line, parse_constant=_refuse_constant, parse_int=_int)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # lone surrogates, as the SDK's parser refuses them
    except (ValueError, RecursionError):
        return exc
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_python(value, by_name=False))
    except ValidationError as invalid:
        return invalid


def _depth(line: str) -> int:
    """How deep brackets nest in a JSON text (strings skipped), cheaply and without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in line:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _int(literal: str) -> int | float:
    limit = sys.get_int_max_str_digits()
    return int(literal) if not limit or len(literal.lstrip("-")) <= limit else float(literal)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


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
