"""Prometheus metrics over HTTP: what is counted, who may read /metrics, and that no personal data is in them."""

from __future__ import annotations

import httpx
import pytest
from conftest import TRANSFER_ARGS, answering
from prometheus_client.parser import text_string_to_metric_families
from recorder import Recorder, Reply
from starlette.requests import Request
from test_http import TOKENS, mcp_client, serving

from cap_mcp.metrics import METRIC_NAMES, _allowed

pytestmark = pytest.mark.anyio

LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}
TRANSACTION = {"id": 9001}
ISSUE = {"seriesId": 3002, "customer": {"id": 5100002}}
ALICE = {"Authorization": "Bearer token-for-alice"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_calls_upstream_requests_guards_and_renewals_are_counted(make_runtime, recorder: Recorder) -> None:
    recorder.on("GET", "/v2/customers/5100002", Reply(500, {"errors": [{"code": 500, "message": "boom"}]}))
    recorder.on("GET", "/v2/transactions/9001", Reply(200, {"data": [], "errors": []}, delay=1.0))
    runtime = make_runtime(http_token=TOKENS, auth="oauth", client_key="client-key", client_secret="client-secret",
                           read_retries=0, read_timeout=0.3)  # fmt: skip
    async with serving(runtime) as url:
        async with mcp_client(url, "token-for-alice", "legacy") as alice:
            assert not (await alice.call_tool("customer_lookup", LOOKUP)).is_error
            assert (await alice.call_tool("customer_lookup", {})).is_error  # invalid: nothing sent
            asked = await alice.call_tool("points_transfer", TRANSFER_ARGS)
            with_token = {**TRANSFER_ARGS, "confirmation_token": asked.structured_content["confirmation_token"]}
            assert not (await alice.call_tool("points_transfer", with_token)).is_error
            assert (await alice.call_tool("points_transfer", with_token)).is_error  # the token was used
            assert (await alice.call_tool("transaction_get", TRANSACTION)).is_error  # upstream timeout
            with pytest.raises(Exception, match="Unknown tool"):
                await alice.call_tool("no_such_tool_919800000001", {})
        async with mcp_client(url, "token-for-alice", elicitation_callback=answering("accept")) as alice:
            assert not (await alice.call_tool("coupon_issue", ISSUE)).is_error
        async with mcp_client(url, "token-for-alice", elicitation_callback=answering("decline")) as alice:
            assert (await alice.call_tool("coupon_issue", ISSUE)).is_error
        async with mcp_client(url, "token-for-bob") as bob:
            assert (await bob.call_tool("customer_get", {"customerId": 5100002, "source": "INSTORE"})).is_error
        async with httpx.AsyncClient() as http:
            response = await http.get(url + "/metrics", headers=ALICE)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    found = samples(text)
    calls = "cap_mcp_tool_calls_total"
    assert value(found, calls, tool="customer_lookup", outcome="done", caller="alice") == 1
    assert value(found, calls, tool="customer_lookup", outcome="invalid", caller="alice") == 1
    assert value(found, calls, tool="points_transfer", outcome="asked", caller="alice") == 1
    assert value(found, calls, tool="points_transfer", outcome="done", caller="alice") == 1
    assert value(found, calls, tool="points_transfer", outcome="refused", caller="alice") == 1
    assert value(found, calls, tool="transaction_get", outcome="not_done", caller="alice") == 1
    assert value(found, calls, tool="other", outcome="error", caller="alice") == 1
    assert value(found, calls, tool="coupon_issue", outcome="done", caller="alice") == 1
    assert value(found, calls, tool="customer_get", outcome="not_done", caller="bob") == 1

    upstream = "cap_mcp_upstream_requests_total"
    assert value(found, upstream, operation="customer_lookup", status="200") == 1
    assert value(found, upstream, operation="points_transfer", status="200") == 1
    assert value(found, upstream, operation="customer_get", status="500") == 1
    assert value(found, upstream, operation="transaction_get", status="timeout") == 1
    assert value(found, "cap_mcp_upstream_request_duration_seconds_count", operation="customer_lookup") == 1

    guards = "cap_mcp_guard_decisions_total"
    assert value(found, guards, decision="asked") >= 2  # the token preview, and the 2026 form for coupon_issue
    assert value(found, guards, decision="token_used") == 1
    assert value(found, guards, decision="refused") == 1
    assert value(found, guards, decision="confirmed") == 1
    assert value(found, guards, decision="declined") == 1

    assert value(found, "cap_mcp_oauth_renewals_total", result="ok") == 1
    assert value(found, "cap_mcp_tool_calls_in_flight") == 0
    assert value(found, "cap_mcp_info", version="0.1.0") == 1
    for name in METRIC_NAMES:
        assert name in text
    # Labels are names and classes only: no argument, identifier, token or made-up tool name. (Sample values are
    # left out of the check: a duration such as 0.30362775100002 can hold any run of digits.)
    named = "\n".join(line.rsplit(" ", 1)[0] if not line.startswith("#") else line for line in text.splitlines())
    for secret in ("919800000001", "5100002", "482913", "token-for-alice", "client-secret", "no_such_tool"):
        assert secret not in named


async def test_metrics_need_a_callers_token_when_callers_authenticate(make_runtime) -> None:
    async with serving(make_runtime(http_token=TOKENS)) as url, httpx.AsyncClient() as http:
        anonymous = await http.get(url + "/metrics")
        wrong = await http.get(url + "/metrics", headers={"Authorization": "Bearer token-for-mallory"})
        bob = await http.get(url + "/metrics", headers={"Authorization": "Bearer token-for-bob"})
    assert (anonymous.status_code, wrong.status_code, bob.status_code) == (401, 401, 200)
    assert "cap_mcp_tool_calls_in_flight" in bob.text


async def test_a_metrics_token_is_the_only_key_to_metrics(make_runtime) -> None:
    runtime = make_runtime(http_token=TOKENS, metrics_token="scraper-" + "s" * 24)
    async with serving(runtime) as url, httpx.AsyncClient() as http:
        caller = await http.get(url + "/metrics", headers=ALICE)
        scraper = await http.get(url + "/metrics", headers={"Authorization": "Bearer scraper-" + "s" * 24})
        tools = await http.post(url + "/mcp", json={}, headers={"Authorization": "Bearer scraper-" + "s" * 24})
    assert (caller.status_code, scraper.status_code) == (401, 200)
    assert tools.status_code == 401  # the scraper's token opens /metrics, not the tools


async def test_without_authentication_metrics_are_served_to_loopback_only(make_runtime) -> None:
    async with serving(make_runtime()) as url, httpx.AsyncClient() as http:
        assert (await http.get(url + "/metrics")).status_code == 200

    def from_address(host: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/metrics", "headers": [], "client": (host, 50000)})

    for host, allowed in (("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("10.1.2.3", False),
                          ("203.0.113.7", False), ("::ffff:10.0.0.1", False)):  # fmt: skip
        assert _allowed(from_address(host), token=None, authenticated=False) is allowed, host


def test_outcome_classes_follow_the_structured_result() -> None:
    import mcp_types as types

    from cap_mcp.observe import classify

    def result(structured: dict | None, error: bool = False) -> types.CallToolResult:
        return types.CallToolResult(content=[], structured_content=structured, is_error=error)

    cases = {
        "done": result({"status": "success"}),
        "partly_done": result({"status": "partial"}),
        "not_done": result({"status": "failure"}, error=True),
        "unknown": result({"status": "unknown"}, error=True),
        "invalid": result({"status": "invalid_arguments"}, error=True),
        "refused": result({"status": "not_executed", "reason": "declined"}, error=True),
        "asked": result({"status": "confirmation_required"}),
    }
    for expected, finished in cases.items():
        assert classify(finished) == expected
    assert classify(result({"status": "success", "outcome": "partly_done"})) == "partly_done"  # the outcome key wins
    assert classify(result({"status": "not_available"}, error=True)) == "refused"
    assert classify(result(None, error=True)) == "not_done" and classify(result(None)) == "done"
    assert classify(types.InputRequiredResult(input_requests={}, request_state="s")) == "asked"
