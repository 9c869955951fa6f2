"""The embedded sandbox: Capillary's auth and envelopes, consistent state under concurrency, every operation answered."""

from __future__ import annotations

import io
import json
import random
import socket
import subprocess
import sys
import time
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from conftest import ROOT, answering
from mcp import Client

from cap_mcp.config import load_settings
from cap_mcp.runtime import build_runtime
from cap_mcp.sandbox import CLIENT_KEY, CLIENT_SECRET, Fault, Faults, SandboxApp
from cap_mcp.sandbox.seed import CUSTOMERS
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio

BASIC = "Basic c2FuZGJveC50aWxsOjZjMGUxOTI1ZGQ2ZThjOTk0ZWVmZjU0NzJjNjBhMmE2"  # sandbox.till / md5(sandbox123)
LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}


def sandbox_runtime(app: SandboxApp, tmp_path: Any, **settings: Any) -> Any:
    values: dict[str, Any] = {
        "sandbox": True,
        "base_url": "http://sandbox.test",
        "audit_log": str(tmp_path / "a.jsonl"),
    }
    values.update(settings)
    return build_runtime(load_settings(**values), catalog=app.catalog, transport=httpx.ASGITransport(app=app))


@pytest.fixture
def app(catalog) -> SandboxApp:
    return SandboxApp(catalog)


async def raw(app: SandboxApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as http:
        return await http.request(method, path, **kwargs)


def test_the_documented_basic_header() -> None:
    from cap_mcp.auth import basic_header

    assert basic_header("sandbox.till", "sandbox123") == BASIC


async def test_wrong_basic_credentials_get_capillarys_401(app: SandboxApp) -> None:
    from cap_mcp.auth import basic_header

    response = await raw(
        app,
        "GET",
        "/v2/customers/lookup/customerDetails",
        params=LOOKUP,
        headers={"Authorization": basic_header("sandbox.till", "wrong")},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == 401
    assert (await raw(app, "GET", "/v2/customers/lookup/customerDetails", params=LOOKUP,
                      headers={"Authorization": BASIC})).status_code == 200  # fmt: skip


async def test_an_expired_oauth_token_gets_401_and_the_client_renews(catalog, tmp_path) -> None:
    app = SandboxApp(catalog, token_ttl=1.0)
    token = await raw(app, "POST", "/v3/oauth/token/generate", json={"key": CLIENT_KEY, "secret": CLIENT_SECRET})
    assert token.json()["data"]["ttlSeconds"] == 1.0
    await anyio.sleep(1.1)
    expired = await raw(
        app,
        "GET",
        "/v2/customers/lookup/customerDetails",
        params=LOOKUP,
        headers={"X-CAP-API-OAUTH-TOKEN": token.json()["data"]["accessToken"]},
    )
    assert expired.status_code == 401
    runtime = sandbox_runtime(app, tmp_path, auth="oauth", client_key=CLIENT_KEY, client_secret=CLIENT_SECRET)
    async with Client(build_server(runtime)) as client:
        assert not (await client.call_tool("customer_lookup", LOOKUP)).is_error
        await anyio.sleep(1.1)  # renewed before use
        assert not (await client.call_tool("customer_lookup", LOOKUP)).is_error
        app.tokens.clear()  # revoked early: 401, renewed, retried once
        assert not (await client.call_tool("customer_lookup", LOOKUP)).is_error
    await runtime.aclose()
    assert app.tokens_issued == 4  # the raw one above, then three for the client


async def test_fifty_concurrent_transfers_keep_points_consistent(app: SandboxApp, tmp_path) -> None:
    runtime = sandbox_runtime(app, tmp_path)
    total = app.state.total_points()
    people = [c["mobile"] for c in CUSTOMERS]
    rng = random.Random(42)
    outcomes: list[types.CallToolResult] = []

    async def transfer(client: Client) -> None:
        source, target = rng.sample(people, 2)
        args = {"pointsTobeTransferred": rng.randint(1, 900), "fromCustomerIdentifier": {"type": "MOBILE", "value": source},
                "toCustomerIdentifier": {"type": "MOBILE", "value": target}}  # fmt: skip
        check = await client.call_tool("points_is_transferrable", {**args, "issueOtp": True})
        code = ((check.structured_content or {}).get("data") or {}).get("sandbox", {}).get("otp", "000000")
        outcomes.append(await client.call_tool("points_transfer", {**args, "code": code}))

    async with (
        Client(build_server(runtime), elicitation_callback=answering("accept")) as client,
        anyio.create_task_group() as tg,
    ):
        for _ in range(50):
            tg.start_soon(transfer, client)
    await runtime.aclose()
    assert app.state.total_points() == total
    assert all(c.points >= 0 for c in app.state.customers.values())
    succeeded = [r for r in outcomes if not r.is_error]
    failed = [r for r in outcomes if r.is_error]
    assert len(succeeded) + len(failed) == 50 and succeeded and failed
    for result in failed:  # every failure is Capillary's envelope with a code, turned into message and hint
        errors = result.structured_content["errors"]
        assert errors[0]["code"] in (804, 808, 414, 415, 418) and result.structured_content["http_status"] == 400
    assert len(app.state.transfers) == len(succeeded)


async def test_a_coupon_redeems_once_and_reactivates(app: SandboxApp, tmp_path) -> None:
    runtime = sandbox_runtime(app, tmp_path, guards="off")
    redeem = {"redemptionRequestList": [{"code": "WELCOME-ASHA-01"}], "user": {"mobile": "919800000001"},
              "billAmount": 900, "transactionNumber": "BILL-5"}  # fmt: skip
    async with Client(build_server(runtime)) as client:
        first = await client.call_tool("coupon_redeem", redeem)
        second = await client.call_tool("coupon_redeem", redeem)
        redemption_id = first.structured_content["data"]["redemption"][0]["id"]
        assert not (await client.call_tool("coupon_reactivate", {"redemptionIds": [redemption_id]})).is_error
        third = await client.call_tool("coupon_redeem", redeem)
        expired = await client.call_tool("coupon_is_redeemable", {"mobile": "919800000002", "code": ["SUMMER-BEN-01"]})
        unknown = await client.call_tool("customer_lookup", {**LOOKUP, "identifierValue": "910000000000"})
    await runtime.aclose()
    assert not first.is_error and not third.is_error
    assert second.is_error and "711" in second.content[0].text and "coupon_reactivate" in second.content[0].text
    assert expired.is_error and "713" in expired.content[0].text
    assert unknown.is_error and unknown.structured_content["http_status"] == 404 and "816" in unknown.content[0].text


async def test_transactions_earn_points_by_the_documented_rule(app: SandboxApp, tmp_path) -> None:
    runtime = sandbox_runtime(app, tmp_path, guards="off")
    bill = {"identifierName": "mobile", "identifierValue": "919800000004", "source": "INSTORE", "type": "REGULAR",
            "billNumber": "BILL-9001", "billAmount": 1234.5}  # fmt: skip
    async with Client(build_server(runtime)) as client:
        added = await client.call_tool("transaction_add", bill)
        transaction_id = added.structured_content["data"]["createdId"]
        fetched = await client.call_tool("transaction_get", {"id": transaction_id})
    await runtime.aclose()
    assert added.structured_content["data"]["sideEffects"][0]["awardedPoints"] == 123
    assert app.state.customers[5100004].points == 123
    assert fetched.structured_content["data"]["billDetails"]["billNumber"] == "BILL-9001"


async def test_every_catalogued_operation_gets_a_well_formed_answer(app: SandboxApp, catalog, tmp_path) -> None:
    opt_in = tuple(op.name for op in catalog if op.opt_in)  # never in a toolset: named to be answered too
    runtime = sandbox_runtime(app, tmp_path, toolsets=("all",), tools=opt_in, guards="off")
    problems = []
    async with Client(build_server(runtime)) as client:
        for op in catalog:
            result = await client.call_tool(op.name, op.example["arguments"])
            data = result.structured_content or {}
            if data.get("status") not in ("success", "partial", "failure") or not isinstance(
                data.get("http_status"), int
            ):
                problems.append(f"{op.name}: {result.content[0].text[:160]}")
            elif result.is_error and "errors" not in data:
                problems.append(f"{op.name}: failure without Capillary's error envelope")
    await runtime.aclose()
    assert problems == []


async def test_a_missing_required_argument_gets_capillarys_400(app: SandboxApp) -> None:
    response = await raw(
        app, "POST", "/v2/coupon/issue", json={"customer": {"id": 5100001}}, headers={"Authorization": BASIC}
    )
    assert response.status_code == 400
    assert "seriesId" in response.json()["errors"][0]["message"]
    response = await raw(app, "GET", "/v2/organization/labels", headers={"Authorization": BASIC})
    assert response.status_code == 200  # nothing required


async def test_fault_injection_busy_then_recovers(app: SandboxApp, tmp_path) -> None:
    app.faults = Faults(rules=[Fault(path="/v2/customers/lookup", status=521, times=1)])
    runtime = sandbox_runtime(app, tmp_path)
    async with Client(build_server(runtime)) as client:
        result = await client.call_tool("customer_lookup", LOOKUP)
    await runtime.aclose()
    assert not result.is_error  # the read was retried after 521


async def test_fault_injection_drop_after_processing_is_an_unknown_outcome(app: SandboxApp, tmp_path) -> None:
    app.faults = Faults(rules=[Fault(path="/v2/coupon/issue", drop=True)])
    runtime = sandbox_runtime(app, tmp_path, guards="off")
    async with Client(build_server(runtime)) as client:
        result = await client.call_tool("coupon_issue", {"seriesId": 3002, "customer": {"id": 5100002}})
    await runtime.aclose()
    assert result.is_error and "OUTCOME UNKNOWN" in result.content[0].text
    assert app.state.series[3002]["numIssued"] == 2  # it did happen: only a read can tell


async def test_latency_fault(app: SandboxApp) -> None:
    app.faults = Faults(latency=0.2)
    started = time.perf_counter()
    await raw(app, "GET", "/_sandbox/healthz")
    assert time.perf_counter() - started < 0.2  # control endpoints are not delayed
    started = time.perf_counter()
    await raw(app, "GET", "/v2/organization/labels", headers={"Authorization": BASIC})
    assert time.perf_counter() - started >= 0.2


def test_seed_prints_the_customers() -> None:
    out = subprocess.run([sys.executable, "-m", "cap_mcp", "sandbox", "--seed"], capture_output=True, text=True,
                         cwd=ROOT, check=True)  # fmt: skip
    seed = json.loads(out.stdout)
    assert [c["mobile"] for c in seed["customers"]] == [c["mobile"] for c in CUSTOMERS]
    assert seed["customers"][0] | {"points": 1200, "tier": "Silver"} == seed["customers"][0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_sandbox_serves_over_http_on_loopback() -> None:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "cap_mcp", "sandbox", "--port", str(port)], cwd=ROOT,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/_sandbox/healthz", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        response = httpx.get(f"http://127.0.0.1:{port}/v2/customers/lookup/customerDetails", params=LOOKUP,
                             headers={"Authorization": BASIC})  # fmt: skip
        assert response.status_code == 200 and response.json()["id"] == 5100001
    finally:
        process.terminate()
        process.wait(10)


def test_the_demo_runs_and_every_step_holds() -> None:
    from cap_mcp.demo import run_demo

    out = io.StringIO()
    assert run_demo(out) == 0
    text = out.getvalue()
    assert "Asha Rao, user id 5100001" in text
    assert "Sender's balance 1200 → 1080" in text
    assert "NOT ENOUGH POINTS" in text and "not executed" in text
    assert "Asha: 1080 points" in text and "Ben: 460 points" in text
    assert "Every step did what it said." in text
