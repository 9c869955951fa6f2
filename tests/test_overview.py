"""customer_overview: one call, concurrent reads through the shared client, small answers, failures named, policy kept."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client, MCPError
from recorder import Recorded, Recorder, Reply

from cap_mcp.config import load_settings
from cap_mcp.overview import BUDGET, SHOWN
from cap_mcp.runtime import build_runtime
from cap_mcp.sandbox import SandboxApp
from cap_mcp.sandbox.seed import CUSTOMERS
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]  # 2026-07-28, and 2025-11-25 with the handshake


def sandbox_runtime(app: SandboxApp, tmp_path: Any, **settings: Any) -> Any:
    values: dict[str, Any] = {"sandbox": True, "base_url": "http://sandbox.test", "audit_log": str(tmp_path / "a")}
    values.update(settings)
    return build_runtime(load_settings(**values), catalog=app.catalog, transport=httpx.ASGITransport(app=app))


def active_codes(app: SandboxApp, user_id: int) -> list[str]:
    state = app.state
    return sorted(
        c["code"]
        for c in state.coupons.values()
        if c["userId"] == user_id and not c["redeemed"] and not state.series_expired(state.series[c["seriesId"]])
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", CUSTOMERS, ids=lambda c: c["firstName"])
async def test_each_seed_customer_matches_the_sandbox(catalog, tmp_path, mode: str, seed: dict[str, Any]) -> None:
    app = SandboxApp(catalog)
    async with Client(build_server(sandbox_runtime(app, tmp_path)), mode=mode) as client:
        result = await client.call_tool(
            "customer_overview", {"identifierName": "mobile", "identifierValue": seed["mobile"]}
        )
        by_id = await client.call_tool(
            "customer_overview", {"identifierName": "id", "identifierValue": str(seed["userId"])}
        )
        resource = await client.read_resource(f"capillary://customers/mobile/{seed['mobile']}")
    customer = app.state.customers[seed["userId"]]
    s = result.structured_content
    assert not result.is_error and s["status"] == "success" and s["outcome"] == "done"
    assert s["customer"]["user_id"] == seed["userId"]
    assert s["customer"]["name"] == f"{seed['firstName']} {seed['lastName']}"
    assert s["customer"]["fraud_status"] == ("MARKED" if seed["status"] == "FRAUD" else "NOT_FRAUD")
    assert s["loyalty"]["points"] == customer.points == seed["points"]
    assert s["loyalty"]["tier"] == customer.tier
    assert s["loyalty"].get("next_tier") == (customer.program_details()["nextSlab"] or None)
    assert [c["code"] for c in s["coupons"]["active_shown"]] == active_codes(app, seed["userId"])
    assert s["coupons"]["total"] == sum(1 for c in app.state.coupons.values() if c["userId"] == seed["userId"])
    assert s["expiring_points"]["total"] == customer.points
    assert s["points_events"]["latest"][0]["event"] == "OpeningBalance"
    assert len(json.dumps(s)) <= BUDGET and len(result.content[0].text) <= BUDGET
    assert f"{customer.points:g} points" in result.content[0].text.replace(".0 points", " points")
    assert by_id.structured_content["loyalty"] == s["loyalty"]
    content = resource.contents[0]
    assert content.mime_type == "application/json"
    assert json.loads(content.text)["loyalty"] == s["loyalty"]
    assert json.loads(content.text)["coupons"] == s["coupons"]


async def test_the_overview_follows_the_sandbox_state(catalog, tmp_path) -> None:
    app = SandboxApp(catalog)
    runtime = sandbox_runtime(app, tmp_path, guards="off")
    bill = {"identifierName": "mobile", "identifierValue": "919800000004", "source": "INSTORE", "type": "REGULAR",
            "billNumber": "BILL-9001", "billAmount": 2500}  # fmt: skip
    async with Client(build_server(runtime)) as client:
        before = (await client.call_tool("customer_overview", {"identifierName": "email",
                                                                "identifierValue": "dana.ruiz@example.com"})).structured_content  # fmt: skip
        assert not (await client.call_tool("transaction_add", bill)).is_error
        after = (await client.call_tool("customer_overview", {"identifierName": "email",
                                                               "identifierValue": "dana.ruiz@example.com"})).structured_content  # fmt: skip
    assert before["loyalty"]["points"] == 0 and before["expiring_points"]["next"] == []
    assert after["loyalty"]["points"] == 250 == app.state.customers[5100004].points
    assert after["expiring_points"]["total"] == 250
    newest = after["points_events"]["latest"][0]
    assert (newest["event"], newest["type"], newest["points"]) == ("TransactionAdd", "CREDIT", 250)


# --- against a recording "Capillary" ----------------------------------------------------------------------

LOOKUP_PATH = "/v2/customers/lookup/customerDetails"
PARTS = {
    "loyalty": "/v2/customers/5100001/loyaltyDetails",
    "expiring_points": "/v2/customers/5100001/pointsExpirySchedule",
    "coupons": "/v2/customers/5100001/coupons",
    "points_events": "/v2/pointsLedger/getCustomerLedgerInfo",
}
ENTITY = {
    "id": 5100001,
    "profiles": [
        {"firstName": "Asha", "lastName": "Rao", "identifiers": [{"type": "mobile", "value": "919800000001"}]}
    ],
    "fraudDetails": {"status": "NOT_FRAUD"},
    "warnings": [],
}
LOYALTY = {"data": [{"programId": 2001, "programTitle": "Rewards Club", "loyaltyPoints": 1200.0, "lifetimePoints": 1240.0,
                     "redeemed": 40.0, "expired": 0.0, "currentSlab": "Silver", "nextSlab": "Gold"}],
           "warnings": [], "errors": []}  # fmt: skip
ARGS = {"identifierName": "mobile", "identifierValue": "919800000001"}


def answer_all(recorder: Recorder, *, coupons: int = 1, schedules: int = 1, events: int = 1, long: int = 10) -> None:
    recorder.on("GET", LOOKUP_PATH, Reply(200, ENTITY))
    recorder.on("GET", PARTS["loyalty"], Reply(200, LOYALTY))
    rows = [{"points": 10.0, "expiryDate": f"2027-0{1 + i % 9}-15", "pointsType": "x" * long} for i in range(schedules)]
    recorder.on("GET", PARTS["expiring_points"], Reply(200, {"id": 5100001, "expirySchedules": rows, "warnings": []}))
    items = [{"code": f"C-{i:04d}-" + "y" * long, "description": "z" * long, "validTill": "2099-01-01", "isRedeemed": False,
              "seriesId": 3001} for i in range(coupons)]  # fmt: skip
    recorder.on("GET", PARTS["coupons"], Reply(200, {"entity": items, "warnings": [], "errors": []}))
    entries = [{"eventName": "E" * long, "ledgerCreatedDate": "2026-11-01 12:00:00.0", "netPointsOnEvent": "34.000",
                "entryDetails": [{"ledgerEntryType": "CREDIT"}]} for _ in range(events)]  # fmt: skip
    recorder.on("GET", PARTS["points_events"], Reply(200, {"ledgerEntries": entries,
                                                            "ledgerDetails": {"totalEntries": 40}, "warnings": []}))  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
async def test_one_failing_read_is_named_and_the_rest_shown(make_runtime, recorder: Recorder, mode: str) -> None:
    answer_all(recorder)
    recorder.on("GET", PARTS["coupons"], Reply(500, {"errors": [{"code": 500, "message": "boom"}]}))
    async with Client(build_server(make_runtime(read_retries=0)), mode=mode) as client:
        result = await client.call_tool("customer_overview", ARGS)
    s = result.structured_content
    assert not result.is_error, "the rest is still worth showing"
    assert (s["status"], s["outcome"], s["failed_parts"]) == ("partial", "partly_done", ["coupons"])
    assert s["coupons"]["failed"] and s["coupons"]["tool"] == "customer_coupons" and s["coupons"]["http_status"] == 500
    assert s["loyalty"]["points"] == 1200 and s["loyalty"]["tier"] == "Silver"
    assert s["expiring_points"]["total"] == 10 and s["points_events"]["total"] == 40
    assert "Coupons: COULD NOT BE READ — customer_coupons failed (HTTP 500)" in result.content[0].text
    assert "Loyalty: 1200 points" in result.content[0].text
    # Each read went once through the shared client, with the user id the look-up gave.
    for path in (LOOKUP_PATH, *PARTS.values()):
        assert len(recorder.calls("GET", path)) == 1, path
    ledger = dict(recorder.calls("GET", PARTS["points_events"])[0].query)
    assert (ledger["identifierName"], ledger["identifierValue"], ledger["limit"]) == ("mobile", "919800000001", "5")


async def test_the_four_reads_run_at_the_same_time(make_runtime, recorder: Recorder) -> None:
    answer_all(recorder)
    together = threading.Barrier(len(PARTS), timeout=20)  # passes only when all four are in flight at once

    def waiting(reply: Reply) -> Any:
        def answer(item: Recorded) -> Reply:
            try:
                together.wait()
            except threading.BrokenBarrierError:
                return Reply(503, {"errors": [{"code": 503, "message": "not concurrent"}]})
            return reply

        return answer

    for path, body in ((PARTS["loyalty"], LOYALTY), (PARTS["coupons"], {"entity": []}),
                       (PARTS["expiring_points"], {"expirySchedules": []}), (PARTS["points_events"], {"ledgerEntries": []})):  # fmt: skip
        recorder.on("GET", path, waiting(Reply(200, body)))
    async with Client(build_server(make_runtime(read_retries=0))) as client:
        result = await client.call_tool("customer_overview", ARGS)
    assert result.structured_content["status"] == "success", result.content[0].text


async def test_large_answers_stay_within_the_budget_and_say_what_was_left_out(make_runtime, recorder: Recorder) -> None:
    answer_all(recorder, coupons=60, schedules=40, events=10, long=300)
    async with Client(build_server(make_runtime())) as client:
        result = await client.call_tool("customer_overview", ARGS)
    s = result.structured_content
    assert len(json.dumps(s, ensure_ascii=False)) <= BUDGET and len(result.content[0].text) <= BUDGET
    assert s["coupons"]["active"] == 60 and len(s["coupons"]["active_shown"]) <= SHOWN["coupons"]
    assert s["left_out"]["coupons.active_shown"] == 60 - len(s["coupons"]["active_shown"])
    assert s["left_out"]["expiring_points.next"] == 40 - len(s["expiring_points"]["next"])
    assert s["left_out"]["points_events.latest"] == 40 - len(s["points_events"]["latest"])
    assert all(len(c["code"]) <= 80 for c in s["coupons"]["active_shown"]), "long values are cut"
    assert "more: customer_coupons" in result.content[0].text


@pytest.mark.parametrize("mode", MODES)
async def test_a_customer_not_found_reads_nothing_else(make_runtime, recorder: Recorder, mode: str) -> None:
    recorder.on("GET", LOOKUP_PATH, Reply(404, {"errors": [{"code": 816, "message": "Customer not found"}]}))
    async with Client(build_server(make_runtime()), mode=mode) as client:
        result = await client.call_tool("customer_overview", ARGS)
        with pytest.raises(MCPError) as refused:
            await client.read_resource("capillary://customers/mobile/919800000001")
    assert result.is_error and result.structured_content["status"] == "not_found"
    assert result.structured_content["outcome"] == "not_done"
    assert refused.value.error.code == types.INVALID_PARAMS and "no customer" in refused.value.error.message
    assert all(not recorder.calls("GET", path) for path in PARTS.values())


async def test_bad_arguments_are_refused_before_anything_is_sent(make_runtime, recorder: Recorder) -> None:
    async with Client(build_server(make_runtime())) as client:
        wrong_kind = await client.call_tool("customer_overview", {"identifierName": "phone", "identifierValue": "1"})
        not_an_id = await client.call_tool("customer_overview", {"identifierName": "id", "identifierValue": "asha"})
    assert wrong_kind.structured_content["status"] == "invalid_arguments"
    assert "'identifierName' must be one of" in wrong_kind.content[0].text
    assert not_an_id.is_error and "digits" in not_an_id.content[0].text
    assert recorder.requests == []


# --- policy -------------------------------------------------------------------------------------------------


async def test_only_reads_the_caller_may_call_are_used(make_runtime, recorder: Recorder) -> None:
    answer_all(recorder)
    async with Client(build_server(make_runtime(exclude_tools=("customer_coupons",)))) as client:
        result = await client.call_tool("customer_overview", ARGS)
    s = result.structured_content
    assert s["status"] == "success" and s["not_available_parts"] == ["coupons"]
    assert "excluded" in s["coupons"]["not_available"]
    assert "Coupons: not available to you" in result.content[0].text
    assert recorder.calls("GET", PARTS["coupons"]) == []


@pytest.mark.parametrize(
    ("settings", "listed", "why"),
    [
        ({"read_only": True}, True, None),
        ({"exclude_tools": ("customer_overview",)}, False, "excluded"),
        ({"toolsets": ("points",), "discovery": "off"}, False, "not enabled"),
        ({"toolsets": ("points",)}, False, None),  # not listed, but reachable through discovery like any read
    ],
)
async def test_the_overview_is_listed_and_refused_like_any_read(
    make_runtime, recorder: Recorder, settings: dict[str, Any], listed: bool, why: str | None
) -> None:
    answer_all(recorder)
    async with Client(build_server(make_runtime(**settings))) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        direct = await client.call_tool("customer_overview", ARGS)
        inner = (
            await client.call_tool("call_operation", {"name": "customer_overview", "arguments": ARGS})
            if "call_operation" in names
            else None
        )
    assert ("customer_overview" in names) is listed
    if why is None:
        assert not direct.is_error and direct.structured_content["loyalty"]["points"] == 1200
        assert inner is None or inner.structured_content == direct.structured_content
        assert "capillary://customers/{identifierName}/{identifierValue}" in templates
    else:
        assert direct.structured_content["status"] == "not_available" and why in direct.content[0].text
        assert "capillary://customers/{identifierName}/{identifierValue}" not in templates
        assert recorder.calls("GET", LOOKUP_PATH) == []
