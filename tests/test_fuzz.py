"""Adversarial fuzzing of every tool through a real MCP client over stdio, against the recording "Capillary".

Each tool `cap-mcp tools --json` lists gets hypothesis examples (fixed seed per tool, no database): valid
arguments from its schema and example, and hostile ones (traversal and injection strings, control characters,
odd unicode, wrong types, 100 KB strings, 500-deep nesting, ...); guarded tools are confirmed, left, confirmed
twice, confirmed with altered arguments or with another tool's token. Every call is checked (tests/fuzzing.py):
an answer that is a tool result with an outcome class, strict JSON, every upstream request on its tool's
template, no guarded write without a valid confirmation, "nothing was sent" true. Then malformed JSON-RPC lines
go straight to a server's stdin, and each must be answered while the process keeps serving.

16 examples per tool by default; CAP_MCP_FUZZ=long runs 200 (reads retried once, the explicit strings in body
fields too), CAP_MCP_FUZZ_EXAMPLES=N sets the number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_strategies import nested
from fuzzing import (
    MALFORMED,
    OUTCOMES,
    Harness,
    Malformed,
    RawServer,
    call_line,
    catalogue_ops,
    foreign_for,
    fuzz_examples,
    fuzz_tool,
    loose_template_problems,
    same_template,
    server_pids,
)
from mcp import Client
from recorder import Recorder

from cap_mcp.audit import MAX_DEPTH as AUDIT_DEPTH
from cap_mcp.audit import AuditLog
from cap_mcp.catalog import load_catalog
from cap_mcp.profiles import build_profile
from cap_mcp.server import build_server
from cap_mcp.validation import argument_errors

OPS = catalogue_ops()
FOREIGN = foreign_for(OPS)
EXAMPLES = fuzz_examples()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Harness]:
    with Harness(OPS, tmp_path_factory.mktemp("fuzz")) as harness:
        harness.pids = server_pids()  # type: ignore[attr-defined]
        yield harness
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line("\n" + harness.stats.summary(f"fuzz, {EXAMPLES} examples per tool"))


def test_the_server_lists_exactly_the_catalogued_tools(harness: Harness) -> None:
    assert len(harness.pids) == 1  # type: ignore[attr-defined]
    listed = build_profile(load_catalog(validate=False), toolsets=("all",)).listed
    assert sorted(tool.name for tool in harness.list_tools()) == sorted(op.name for op in listed)
    assert {op.name for op in OPS} - {op.name for op in listed} == {"otp_get"}, "only the opt-in tool is not listed"


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_fuzz_every_tool(harness: Harness, op: Any) -> None:
    fuzz_tool(harness, op, EXAMPLES, strict=True, foreign=FOREIGN(op))


def test_the_zero_targets_hold_and_the_server_never_exited(harness: Harness) -> None:
    assert harness.stats.failures() == {}, harness.stats.findings[:20]
    assert harness.alive()
    assert server_pids() == harness.pids  # type: ignore[attr-defined]


# --- malformed lines, straight to stdin ----------------------------------------------------------------


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RawServer, Recorder]]:
    with Recorder() as recorder:
        server = RawServer(recorder.url, tmp_path_factory.mktemp("raw"))
        try:
            hello = server.handshake()
            assert hello is not None and "result" in hello
            yield server, recorder
        finally:
            server.close()


@pytest.mark.parametrize("case", MALFORMED, ids=[case.name for case in MALFORMED])
def test_every_malformed_line_is_answered_and_the_server_keeps_serving(
    raw: tuple[RawServer, Recorder], case: Malformed
) -> None:
    server, recorder = raw
    before = len(recorder.requests)
    answer = server.send(case.line)
    assert answer is not None, "no answer"
    assert answer.get("jsonrpc") == "2.0" and answer.get("id") == case.id
    if case.code is not None:
        assert answer["error"]["code"] == case.code, answer
    else:
        result = answer["result"]
        assert result["structuredContent"]["outcome"] in OUTCOMES
        if case.status is not None:
            assert result["structuredContent"]["status"] == case.status, result["content"][0]["text"]
            assert recorder.requests[before:] == []
        lookup = next(op for op in OPS if op.name == "customer_lookup")
        for request in recorder.requests[before:]:
            assert same_template(lookup, request) and loose_template_problems(lookup, request) == []
    assert server.send(b'{"jsonrpc":"2.0","id":"after","method":"ping"}') == {
        "jsonrpc": "2.0",
        "id": "after",
        "result": {},
    }
    assert server.process.poll() is None


# --- what the fuzz found, pinned down --------------------------------------------------------------------


def test_a_write_with_arguments_500_deep_is_refused_before_anything_walks_them(
    raw: tuple[RawServer, Recorder], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Open nested objects accept any field, so a model may send a deep value; the SDK's parser stops at ~200
    # levels, and validation, conversion and masking all recurse: such arguments are refused up front, clearly.
    server, recorder = raw
    transfer = next(op for op in OPS if op.name == "points_transfer")
    arguments = dict(transfer.example["arguments"])
    arguments["fromCustomerIdentifier"] = {**arguments["fromCustomerIdentifier"], "extra": nested(500)}
    before = len(recorder.calls("POST", transfer.path))
    first = server.send(call_line(31, "points_transfer", arguments))
    assert first is not None and first["id"] == 31
    structured = first["result"]["structuredContent"]
    assert structured["status"] == "invalid_arguments" and structured["outcome"] == "not_done"
    assert "deeper than 64 levels" in first["result"]["content"][0]["text"]
    assert len(recorder.calls("POST", transfer.path)) == before


def test_the_audit_log_keeps_the_top_of_deep_arguments(tmp_path: Path) -> None:
    entry = AuditLog(str(tmp_path / "audit.jsonl"), load_catalog(validate=False).get).call(
        "points_transfer", "destructive", {"value": nested(900), "code": "482913"}, confirmed_by="token"
    )
    assert entry["arguments"]["code"] == "***"
    assert json.dumps(entry["arguments"]).count('{"a"') == AUDIT_DEPTH - 1


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_number_that_is_not_finite_is_refused_by_name(value: float) -> None:
    op = next(op for op in OPS if op.name == "user_group_transactions")
    problems = argument_errors(op, {**op.example["arguments"], "min_amount": value})
    assert problems == ["'min_amount' must be a finite number"]


@pytest.mark.anyio
async def test_a_whole_number_sent_as_a_float_goes_on_the_wire_in_digits(make_runtime: Any, recorder: Recorder) -> None:
    async with Client(build_server(make_runtime()), mode="legacy") as client:
        result = await client.call_tool("customer_points_balance", {"userId": 5100001.0})
    assert result.structured_content["outcome"] == "done"
    [request] = recorder.calls()
    assert request.path == "/v2/customers/points/balance/5100001"
