"""End to end through a real MCP client: exact requests reach "Capillary", errors come back as tool errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import BASIC_HEADER, ROOT, TRANSFER_ARGS, answering
from mcp import Client, StdioServerParameters
from recorder import Recorder, Reply

from cap_mcp.catalog import Operation
from cap_mcp.server import build_server
from cap_mcp.tools import TITLED_TOOLS

pytestmark = pytest.mark.anyio

LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE", "embed": "points"}
MODES = ["auto", "legacy"]


def stdio_params(recorder: Recorder, tmp_path: Path, *args: str, **env: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "cap_mcp", "serve", *args],
        cwd=str(ROOT),
        env={
            "CAP_MCP_BASE_URL": recorder.url,
            "CAP_MCP_USERNAME": "store.server",
            "CAP_MCP_PASSWORD": "server123",
            "CAP_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
            **env,
        },
    )


@pytest.mark.parametrize("mode", MODES)
async def test_lookup_over_stdio_sends_the_documented_request(recorder: Recorder, tmp_path: Path, mode: str) -> None:
    async with Client(stdio_params(recorder, tmp_path), mode=mode) as client:
        result = await client.call_tool("customer_lookup", LOOKUP)
    assert not result.is_error
    [request] = recorder.calls()
    assert (request.method, request.path) == ("GET", "/v2/customers/lookup/customerDetails")
    assert request.query == [
        ("identifierName", "mobile"),
        ("identifierValue", "919800000001"),
        ("source", "INSTORE"),
        ("embed", "points"),
    ]
    assert request.header("Authorization") == BASIC_HEADER
    assert request.header("Accept") == "application/json"
    assert request.body == b""


@pytest.mark.parametrize("mode", MODES)
async def test_one_operation_of_each_method_in_memory(make_runtime, recorder: Recorder, mode: str) -> None:
    server = build_server(make_runtime(toolsets=("default",)))
    async with Client(server, mode=mode, elicitation_callback=answering("accept")) as client:
        assert not (await client.call_tool("customer_lookup", LOOKUP)).is_error
        update = {
            "customerId": 5100001,
            "source": "INSTORE",
            "profiles": [{"firstName": "Asha", "fields": {"city": "Pune"}}],
        }
        assert not (await client.call_tool("customer_update", update)).is_error
        bill = {
            "identifierName": "mobile",
            "identifierValue": "919800000001",
            "source": "INSTORE",
            "type": "REGULAR",
            "billNumber": "BILL-77",
            "billAmount": 450.5,
            "lineItemsV2": [{"itemCode": "SKU-1", "qty": 1, "rate": 450.5, "value": 450.5, "amount": 450.5}],
        }
        assert not (await client.call_tool("transaction_add", bill)).is_error
        assert not (
            await client.call_tool("customer_delete_image", {"userId": 5100001, "image_ids": ["71", "72"]})
        ).is_error
    put = recorder.calls("PUT")[0]
    assert put.path == "/v2/customers/5100001" and put.query == [("source", "INSTORE")]
    assert put.json == {"profiles": [{"firstName": "Asha", "fields": {"city": "Pune"}}]}
    post = recorder.calls("POST", "/v2/transactions")[0]
    assert post.query == [("identifierName", "mobile"), ("identifierValue", "919800000001"), ("source", "INSTORE")]
    assert post.json == {k: bill[k] for k in ("type", "billNumber", "billAmount", "lineItemsV2")}
    assert post.header("Content-Type") == "application/json"
    delete = recorder.calls("DELETE")[0]
    assert delete.path == "/v2/customers/5100001/deleteImage" and delete.query == [("image_ids", "71,72")]


@pytest.mark.parametrize("mode", MODES)
async def test_a_bad_argument_is_a_tool_error_and_nothing_is_sent(make_runtime, recorder: Recorder, mode: str) -> None:
    async with Client(build_server(make_runtime()), mode=mode) as client:
        wrong_type = await client.call_tool("customer_lookup", {**LOOKUP, "identifierName": "phone"})
        missing = await client.call_tool("points_transfer", {"pointsTobeTransferred": "ten"})
        unknown = await client.call_tool("customer_lookup", {**LOOKUP, "mobile": "1"})
    assert wrong_type.is_error and "'identifierName' must be one of" in wrong_type.content[0].text
    text = missing.content[0].text
    assert (
        missing.is_error
        and "pointsTobeTransferred" in text
        and "integer" in text
        and "missing required argument 'code'" in text
    )
    assert unknown.is_error and "unknown argument" in unknown.content[0].text and "mobile" in unknown.content[0].text
    assert recorder.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_capillary_error_becomes_a_tool_error_with_a_hint(make_runtime, recorder: Recorder, mode: str) -> None:
    body = {"warnings": [], "errors": [{"status": False, "code": 816, "message": "Customer not found"}]}
    recorder.on("GET", "/v2/customers/lookup/customerDetails", Reply(404, body))
    async with Client(build_server(make_runtime()), mode=mode) as client:
        result = await client.call_tool("customer_lookup", LOOKUP)
    assert result.is_error
    text = result.content[0].text
    assert "Customer not found" in text and "816" in text and "Next:" in text
    assert result.structured_content["hint"]
    assert result.structured_content["data"] == body


async def test_an_unexpected_exception_reveals_nothing(make_runtime, recorder: Recorder, monkeypatch) -> None:
    runtime = make_runtime()

    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(runtime.client, "call", explode)
    async with Client(build_server(runtime), mode="legacy") as client:
        result = await client.call_tool("customer_lookup", LOOKUP)
    assert result.is_error and "hunter2" not in result.content[0].text and "reference" in result.content[0].text


async def test_instructions_and_annotations(make_runtime) -> None:
    async with Client(build_server(make_runtime()), mode="legacy") as client:
        instructions = client.instructions or ""
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert "customer_lookup" in instructions
    transfer = tools["points_transfer"].annotations
    assert transfer.destructive_hint and not transfer.read_only_hint and not transfer.idempotent_hint
    assert tools["customer_lookup"].annotations.read_only_hint
    # The token is explained once, in the instructions and in each CONFIRMATION REQUIRED answer, not listed per tool.
    assert "confirmation_token" in instructions
    assert "confirmation_token" not in tools["points_transfer"].input_schema["properties"]
    assert tools["points_transfer"].title == "Transfer points to another customer"


async def test_a_long_listing_leaves_display_titles_out(make_runtime) -> None:
    async with Client(build_server(make_runtime(toolsets="all")), mode="legacy") as client:
        tools = (await client.list_tools()).tools
        token = await client.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": "not-a-token"})
    assert len(tools) > TITLED_TOOLS and all(t.title is None for t in tools)
    assert token.is_error and "confirmation" in token.content[0].text  # unlisted, yet still taken and checked


# --- every operation, with its example, through the server -------------------------------------------------


def expected_path(op: Operation, arguments: dict[str, Any]) -> str:
    path = op.path
    for arg in op.args:
        if arg.location == "path":
            path = path.replace("{" + arg.wire + "}", quote(str(arguments[arg.name]), safe=""))
    return path


def dig(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


async def test_every_operation_round_trips_with_its_example(make_runtime, recorder: Recorder, catalog) -> None:
    # The operator's explicit "guards off" lets the walk run every write once; guards are tested elsewhere.
    opt_in = tuple(op.name for op in catalog if op.opt_in)  # never in a toolset: named to be walked too
    runtime = make_runtime(toolsets=("all",), tools=opt_in, guards="off")
    failures: list[str] = []
    async with Client(build_server(runtime)) as client:
        for op in catalog:
            before = len(recorder.requests)
            arguments = op.example["arguments"]
            result = await client.call_tool(op.name, arguments)
            sent = recorder.requests[before:]
            if result.is_error or len(sent) != 1:
                failures.append(
                    f"{op.name}: error={result.is_error} requests={len(sent)} {result.content[0].text[:200]}"
                )
                continue
            request = sent[0]
            if (request.method, request.path) != (op.method, expected_path(op, arguments)):
                failures.append(f"{op.name}: sent {request.method} {request.path}")
            query = dict(request.query)
            for arg in op.args:
                if arg.name not in arguments:
                    continue
                value = arguments[arg.name]
                if arg.location == "query" and arg.wire not in query:
                    failures.append(f"{op.name}: query {arg.wire} missing")
                elif arg.location == "body" and dig(request.json, arg.wire) != value:
                    failures.append(f"{op.name}: body {arg.wire} != example")
                elif arg.location == "payload" and request.json != value:
                    failures.append(f"{op.name}: payload differs")
                elif arg.location == "header" and request.header(arg.wire) is None:
                    failures.append(f"{op.name}: header {arg.wire} missing")
            for name, value in op.constants.get("query", {}).items():
                if query.get(name) != value:
                    failures.append(f"{op.name}: constant {name} missing")
    assert failures == []
    assert len(recorder.requests) == len(catalog)
