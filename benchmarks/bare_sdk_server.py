"""The baseline for the benchmarks: a bare MCP SDK server doing the same work as cap-mcp.

    python benchmarks/bare_sdk_server.py --port N --upstream http://127.0.0.1:M --tokens c1:tok1,c2:tok2
    python benchmarks/bare_sdk_server.py --stdio --tools-file tools.json

HTTP (load_http.py): a low-level `mcp.server.Server` with one tool, `customer_lookup`, that sends the
same GET to the sandbox through one shared httpx client with the same Basic credentials, and answers
with the same shape (structuredContent plus the payload as text); Streamable HTTP at /mcp, stateless,
with the same bearer tokens checked by a minimal TokenVerifier.

stdio (surface.py, cold start): the same server over stdio listing the tool definitions in
--tools-file (cap-mcp's own tools/list result, saved by the benchmark), so that start-up to the first
tools/list can be compared for the same tools.

It imports only what such a server needs (no cap_mcp), so its time and memory are what the SDK itself
costs for this work.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext

LOOKUP_PATH = "/v2/customers/lookup/customerDetails"
TOOL = types.Tool(
    name="customer_lookup",
    description="Find a customer by mobile, email, external id or card number",
    input_schema={
        "type": "object",
        "properties": {
            "identifierName": {"type": "string", "enum": ["mobile", "email", "externalId", "cardnumber"]},
            "identifierValue": {"type": "string"},
            "source": {"type": "string"},
        },
        "required": ["identifierName", "identifierValue", "source"],
    },
)


class Tokens:
    def __init__(self, pairs: str) -> None:
        self.names = dict(reversed(item.split(":", 1)) for item in pairs.split(","))

    async def verify_token(self, token: str) -> Any:
        from mcp.server.auth.provider import AccessToken

        name = self.names.get(token)
        return AccessToken(token="redacted", client_id=name, scopes=[], subject=name) if name else None


def stdio_server(tools_file: str) -> Server[Any]:
    with open(tools_file, encoding="utf-8") as handle:
        tools = [types.Tool.model_validate(tool) for tool in json.load(handle)]
    schemas = {tool.name: tool.input_schema for tool in tools}

    async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        return types.CallToolResult(content=[types.TextContent(type="text", text="not served here")], is_error=True)

    server: Server[Any] = Server("bare", version="0", on_list_tools=list_tools, on_call_tool=call_tool,
                                 get_tool_input_schema=schemas.get)  # fmt: skip
    return server


async def serve_stdio(tools_file: str) -> None:
    from mcp.server.stdio import stdio_server as stdio

    server = stdio_server(tools_file)
    async with stdio() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def build(upstream: str, user: str, password: str, tokens: str) -> Any:
    import httpx  # only the HTTP baseline needs these; the stdio one starts without them
    from mcp.server.auth.settings import AuthSettings
    from pydantic import AnyHttpUrl

    digest = hashlib.md5(password.encode()).hexdigest()
    basic = "Basic " + base64.b64encode(f"{user}:{digest}".encode()).decode()
    http = httpx.AsyncClient(base_url=upstream, headers={"Authorization": basic, "Accept": "application/json"})

    async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[TOOL])

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        response = await http.get(LOOKUP_PATH, params=params.arguments or {})
        payload = response.json()
        structured = {"status": "success" if response.is_success else "failure", "http_status": response.status_code,
                      "data": payload.get("data", payload) if isinstance(payload, dict) else payload}  # fmt: skip
        text = f"customer_lookup: HTTP {response.status_code}\n" + json.dumps(structured["data"])
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)],
            structured_content=structured,
            is_error=not response.is_success,
        )

    server: Server[Any] = Server(
        "bare", version="0", on_list_tools=list_tools, on_call_tool=call_tool,
        get_tool_input_schema=lambda name: TOOL.input_schema if name == TOOL.name else None,
    )  # fmt: skip
    return server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        auth=AuthSettings(issuer_url=AnyHttpUrl("https://bare.invalid"), resource_server_url=None),
        token_verifier=Tokens(tokens),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stdio", action="store_true", help="serve over stdio (with --tools-file)")
    parser.add_argument("--tools-file", help="stdio: a JSON list of tool definitions to list")
    parser.add_argument("--port", type=int)
    parser.add_argument("--upstream")
    parser.add_argument("--user", default="sandbox.till")
    parser.add_argument("--password", default="sandbox123")
    parser.add_argument("--tokens", help="name:token pairs, comma-separated")
    args = parser.parse_args()
    if args.stdio:
        import anyio

        anyio.run(serve_stdio, args.tools_file)
        return
    if not (args.port and args.upstream and args.tokens):
        parser.error("HTTP needs --port, --upstream and --tokens")
    import uvicorn

    app = build(args.upstream, args.user, args.password, args.tokens)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
