"""Confirmation guards: a change reaches Capillary only after a person confirmed that exact call.

Each test counts the requests that reached the recording upstream on the guarded
operation's own path (previews may read other paths first).
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from conftest import REDEEM_ARGS, ROOT, TRANSFER_ARGS, answering
from mcp import Client, ClientSession, MCPError, StdioServerParameters
from recorder import Recorder, Reply

from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio

CASES = {
    "points_transfer": ("POST", "/v2/points/transfer", TRANSFER_ARGS),
    "coupon_redeem": ("POST", "/v2/coupon/redeem", REDEEM_ARGS),
}
ERAS = {"auto": "2026-07-28", "legacy": "2025-11-25"}
SECRETS = ("server123", "482913", "hunter2")


def count(recorder: Recorder, tool: str) -> int:
    method, path, _ = CASES[tool]
    return len(recorder.calls(method, path))


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@asynccontextmanager
async def connect(
    transport: str, make_runtime: Callable[..., Any], recorder: Recorder, tmp_path: Path, mode: str, **kwargs: Any
) -> AsyncIterator[Client]:
    """A client on an in-memory server, or on `cap-mcp serve` over stdio, against the recorder."""
    if transport == "memory":
        server = build_server(make_runtime(**kwargs.pop("settings", {})))
        async with Client(server, mode=mode, **kwargs) as client:
            yield client
        return
    env = {
        "CAP_MCP_BASE_URL": recorder.url,
        "CAP_MCP_USERNAME": "store.server",
        "CAP_MCP_PASSWORD": "server123",
        "CAP_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        **kwargs.pop("env", {}),
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "cap_mcp", "serve"], cwd=str(ROOT), env=env)
    async with Client(params, mode=mode, **kwargs) as client:
        yield client


# --- the honest path: elicitation, both eras, in memory and over stdio -------------------------------------


@pytest.mark.parametrize("transport", ["memory", "stdio"])
@pytest.mark.parametrize("mode", list(ERAS))
@pytest.mark.parametrize("tool", list(CASES))
@pytest.mark.parametrize(
    ("action", "confirm", "expected"),
    [("accept", True, 1), ("decline", True, 0), ("cancel", True, 0), ("accept", False, 0)],
    ids=["accept", "decline", "cancel", "accept-unticked"],
)
async def test_elicitation(
    make_runtime,
    recorder: Recorder,
    audit_path: Path,
    tmp_path: Path,
    transport: str,
    mode: str,
    tool: str,
    action: str,
    confirm: bool,
    expected: int,
) -> None:
    seen: list[str] = []
    callback = answering(action, confirm=confirm, seen=seen)
    async with connect(transport, make_runtime, recorder, tmp_path, mode, elicitation_callback=callback) as client:
        assert client.protocol_version == ERAS[mode]
        result = await client.call_tool(tool, CASES[tool][2])
    assert count(recorder, tool) == expected
    assert len(seen) == 1 and "Confirm" in seen[0]
    assert result.is_error is (expected == 0)
    if expected == 0:
        assert "Not executed" in result.content[0].text
    [line] = audit_lines(audit_path)
    assert line["tool"] == tool
    assert line["confirmed_by"] == ("elicitation" if expected else None)
    assert line["outcome"].startswith("executed") is bool(expected)
    assert not any(secret in json.dumps(line) for secret in SECRETS)


async def test_the_preview_reads_the_balance_and_the_transfer_check(make_runtime, recorder: Recorder) -> None:
    recorder.on("GET", "/v2/customers/points/balance", Reply(200, {"entityId": 5100001, "mainPoints": 340.0}))
    seen: list[str] = []
    async with Client(build_server(make_runtime()), elicitation_callback=answering("decline", seen=seen)) as client:
        await client.call_tool("points_transfer", TRANSFER_ARGS)
    assert "Transfer 120 points from customer MOBILE 919800000001 to customer ID 5100002" in seen[0]
    assert "balance 340 → 220" in seen[0]
    assert "the transfer is allowed" in seen[0]


async def test_a_failed_preview_read_is_said_and_the_person_is_still_asked(make_runtime, recorder: Recorder) -> None:
    recorder.on("GET", "/v2/customers/points/balance", Reply(500, {"errors": [{"code": 500, "message": "x"}]}))
    seen: list[str] = []
    async with Client(
        build_server(make_runtime(read_retries=0)), elicitation_callback=answering("accept", seen=seen)
    ) as c:
        result = await c.call_tool("points_transfer", TRANSFER_ARGS)
    assert "Could not read" in seen[0]
    assert not result.is_error and count(recorder, "points_transfer") == 1


# --- the fallback for clients without elicitation --------------------------------------------------------


def token_of(result: types.CallToolResult) -> str:
    assert not result.is_error and result.structured_content["status"] == "confirmation_required"
    assert "CONFIRMATION REQUIRED" in result.content[0].text
    return str(result.structured_content["confirmation_token"])


@pytest.mark.parametrize("transport", ["memory", "stdio"])
@pytest.mark.parametrize("mode", list(ERAS))
async def test_token_fallback(
    make_runtime, recorder: Recorder, audit_path: Path, tmp_path: Path, transport: str, mode: str
) -> None:
    async with connect(transport, make_runtime, recorder, tmp_path, mode) as client:
        first = await client.call_tool("points_transfer", TRANSFER_ARGS)
        token = token_of(first)
        assert token in first.content[0].text  # clients that only show text still pass it on
        assert count(recorder, "points_transfer") == 0
        done = await client.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token})
        assert not done.is_error and count(recorder, "points_transfer") == 1
        replay = await client.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token})
        assert replay.is_error and "already used" in replay.content[0].text
        fresh = token_of(await client.call_tool("points_transfer", TRANSFER_ARGS))
        changed = await client.call_tool(
            "points_transfer", {**TRANSFER_ARGS, "pointsTobeTransferred": 5000, "confirmation_token": fresh}
        )
        assert changed.is_error and "arguments differ" in changed.content[0].text
        tampered = fresh[:-6] + ("AAAAAA" if not fresh.endswith("AAAAAA") else "BBBBBB")
        bad = await client.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": tampered})
        assert bad.is_error and "damaged" in bad.content[0].text
        other_tool = await client.call_tool("coupon_redeem", {**REDEEM_ARGS, "confirmation_token": fresh})
        assert other_tool.is_error and "issued for 'points_transfer'" in other_tool.content[0].text
    assert count(recorder, "points_transfer") == 1 and count(recorder, "coupon_redeem") == 0
    outcomes = [line["outcome"] for line in audit_lines(audit_path)]
    assert outcomes[0] == "token issued" and outcomes[1] == "executed: success"
    assert "refused: token already used" in outcomes
    assert not any(secret in audit_path.read_text() for secret in SECRETS)


async def test_an_expired_token_is_refused(make_runtime, recorder: Recorder) -> None:
    runtime = make_runtime()
    runtime.guard.sealer.ttl = 0.5
    async with Client(build_server(runtime)) as client:
        token = token_of(await client.call_tool("points_transfer", TRANSFER_ARGS))
        await anyio.sleep(0.7)
        late = await client.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token})
    assert late.is_error and "expired" in late.content[0].text
    assert count(recorder, "points_transfer") == 0


async def test_a_token_from_another_session_is_refused(make_runtime, recorder: Recorder) -> None:
    server = build_server(make_runtime())
    async with Client(server, mode="legacy") as alice:
        token = token_of(await alice.call_tool("points_transfer", TRANSFER_ARGS))
    async with Client(server, mode="legacy") as bob:
        stolen = await bob.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token})
    assert stolen.is_error and "another session" in stolen.content[0].text
    assert count(recorder, "points_transfer") == 0


async def test_a_token_from_another_server_process_is_refused(recorder: Recorder, tmp_path: Path) -> None:
    shared = {"env": {"CAP_MCP_STATE_KEY": "k" * 40}}
    async with connect("stdio", lambda: None, recorder, tmp_path, "auto", **shared) as first:
        token = token_of(await first.call_tool("points_transfer", TRANSFER_ARGS))
    async with connect(
        "stdio", lambda: None, recorder, tmp_path, "auto", env={"CAP_MCP_STATE_KEY": "k" * 40}
    ) as second:
        stolen = await second.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token})
    assert stolen.is_error and "another session" in stolen.content[0].text
    assert count(recorder, "points_transfer") == 0


@pytest.mark.parametrize("mode", list(ERAS))
async def test_five_concurrent_calls_with_one_token_execute_once(make_runtime, recorder: Recorder, mode: str) -> None:
    recorder.on("POST", "/v2/points/transfer", Reply(delay=0.2))
    async with Client(build_server(make_runtime()), mode=mode) as client:
        token = token_of(await client.call_tool("points_transfer", TRANSFER_ARGS))
        results: list[types.CallToolResult] = []

        async def attempt() -> None:
            results.append(await client.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token}))

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(attempt)
    assert count(recorder, "points_transfer") == 1
    assert sorted(r.is_error for r in results) == [False, True, True, True, True]


async def test_require_elicitation_refuses_clients_without_it(make_runtime, recorder: Recorder) -> None:
    async with Client(build_server(make_runtime(require_elicitation=True))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        result = await client.call_tool("points_transfer", TRANSFER_ARGS)
    assert "confirmation_token" not in tools["points_transfer"].input_schema["properties"]
    assert result.is_error and "elicitation" in result.content[0].text
    assert count(recorder, "points_transfer") == 0


# --- forged answers on the 2026 path ----------------------------------------------------------------------


async def test_an_answer_the_server_never_asked_for_is_not_executed(make_runtime, recorder: Recorder) -> None:
    accept = types.ElicitResult(action="accept", content={"confirm": True})
    async with Client(build_server(make_runtime()), elicitation_callback=answering("accept")) as client:
        session: ClientSession = client.session
        no_state = await session.call_tool(
            "points_transfer", TRANSFER_ARGS, input_responses={"confirm": accept}, allow_input_required=True
        )
        assert isinstance(no_state, types.InputRequiredResult)  # asked again, nothing done
        with pytest.raises(MCPError, match="requestState"):
            await session.call_tool(
                "points_transfer", TRANSFER_ARGS, input_responses={"confirm": accept},
                request_state='{"kind": "confirm", "tool": "points_transfer", "nonce": "x"}', allow_input_required=True,
            )  # fmt: skip
    assert count(recorder, "points_transfer") == 0


async def test_a_confirmed_state_replayed_is_refused(make_runtime, recorder: Recorder) -> None:
    accept = types.ElicitResult(action="accept", content={"confirm": True})
    async with Client(build_server(make_runtime()), elicitation_callback=answering("accept")) as client:
        session: ClientSession = client.session
        asked = await session.call_tool("points_transfer", TRANSFER_ARGS, allow_input_required=True)
        assert isinstance(asked, types.InputRequiredResult)
        again = {"input_responses": {"confirm": accept}, "request_state": asked.request_state}
        first = await session.call_tool("points_transfer", TRANSFER_ARGS, allow_input_required=True, **again)
        second = await session.call_tool("points_transfer", TRANSFER_ARGS, allow_input_required=True, **again)
        changed = {**TRANSFER_ARGS, "pointsTobeTransferred": 999}
        with pytest.raises(MCPError, match="requestState"):
            await session.call_tool("points_transfer", changed, allow_input_required=True, **again)
    assert not first.is_error and second.is_error and "already used" in second.content[0].text
    assert count(recorder, "points_transfer") == 1


# --- policy ----------------------------------------------------------------------------------------------


async def test_read_only_hides_and_refuses_every_change(make_runtime, recorder: Recorder) -> None:
    runtime = make_runtime(read_only=True, guards="off", toolsets=("all",))
    async with Client(build_server(runtime), elicitation_callback=answering("accept")) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("points_transfer", TRANSFER_ARGS)
    assert "points_transfer" not in names and "customer_lookup" in names
    assert all(runtime.catalog.get(n).effect == "read" for n in names)
    assert result.is_error and "read-only" in result.content[0].text
    assert count(recorder, "points_transfer") == 0


async def test_relaxed_guards_run_writes_but_still_confirm_destructive(
    make_runtime, recorder: Recorder, audit_path: Path
) -> None:
    async with Client(build_server(make_runtime(guards="destructive"))) as client:
        write = await client.call_tool("customer_update", {"customerId": 5100001, "source": "INSTORE"})
        destructive = await client.call_tool("points_transfer", TRANSFER_ARGS)
    assert not write.is_error and len(recorder.calls("PUT", "/v2/customers/5100001")) == 1
    assert destructive.structured_content["status"] == "confirmation_required"
    assert count(recorder, "points_transfer") == 0
    assert audit_lines(audit_path)[0]["confirmed_by"] == "policy"


async def test_guards_off_logs_a_warning(make_runtime, caplog) -> None:
    make_runtime(guards="off")
    assert any("GUARDS ARE OFF" in r.message for r in caplog.records)


# --- exactly once --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(ERAS))
async def test_a_dropped_connection_after_sending_is_an_unknown_outcome(
    make_runtime, recorder: Recorder, audit_path: Path, mode: str
) -> None:
    recorder.on("POST", "/v2/points/transfer", Reply(drop=True))
    async with Client(build_server(make_runtime()), mode=mode, elicitation_callback=answering("accept")) as client:
        result = await client.call_tool("points_transfer", TRANSFER_ARGS)
    assert result.is_error and "OUTCOME UNKNOWN" in result.content[0].text
    assert "points_transfer_history" in result.content[0].text
    assert count(recorder, "points_transfer") == 1
    assert audit_lines(audit_path)[-1]["outcome"] == "executed: unknown"
