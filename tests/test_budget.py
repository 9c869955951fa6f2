"""Every result fits the model: a huge answer comes back cut to whole records, saying what was left out and how to
get the rest in the operation's own terms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import answering
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from recorder import Recorder, Reply

from cap_mcp.budget import fit, size_of
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio

LEDGER_ARGS = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE", "offset": 0}


def _entry(n: int) -> dict[str, Any]:
    return {"eventLogId": 880000 + n, "eventName": "TransactionAdd", "ledgerCreatedDate": "2026-11-01 12:00:00.0",
            "entryDetails": [{"ledgerEntryType": "CREDIT", "points": str(n % 90), "pointsCategory": "Main",
                              "programName": "Rewards Club", "programId": 2001}],
            "netPointsOnEvent": f"{n % 90}.000", "transactionDetails": {"transactionId": 7700000 + n,
                                                                        "transactionNumber": f"BILL-{n}"},
            "store": "Central Store", "storeCode": "central", "tillCode": "central.till1"}  # fmt: skip


def _result_chars(result: Any) -> int:
    text = sum(len(block.text) for block in result.content)
    return text + size_of(result.structured_content)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_6000_row_ledger_comes_back_within_the_budget(make_runtime, recorder: Recorder, mode: str) -> None:
    ledger = {"customerDetails": {"userId": 5100001}, "ledgerDetails": {"totalEntries": 6000},
              "ledgerEntries": [_entry(n) for n in range(6000)], "warnings": []}  # fmt: skip
    recorder.on("GET", "/v2/pointsLedger/getCustomerLedgerInfo", Reply(200, ledger))
    runtime = make_runtime()
    async with Client(build_server(runtime), mode=mode) as client:
        result = await client.call_tool("call_operation", {"name": "points_ledger_info", "arguments": LEDGER_ARGS})
    assert not result.is_error
    budget_chars = runtime.settings.result_budget_tokens * 3
    assert _result_chars(result) <= budget_chars, "text and structured content together stay within the budget"
    structured = result.structured_content
    entries = structured["data"]["ledgerEntries"]
    assert 10 < len(entries) < 6000
    assert entries == [_entry(n) for n in range(len(entries))], "a prefix of whole records, none cut mid-object"
    [cut] = structured["truncated"]["cuts"]
    assert (cut["path"], cut["shown"], cut["total"]) == ("ledgerEntries", len(entries), 6000)
    text = result.content[0].text
    assert f"showing {len(entries):,} of 6,000 entries of ledgerEntries" in text
    assert f"offset={len(entries)} and limit={len(entries)}" in text
    json.loads(text.split("\n", 1)[1])  # the text carries the same cut answer as valid JSON
    assert structured["data"]["customerDetails"] == {"userId": 5100001}, "the rest of the answer stays whole"


async def test_an_answer_without_paging_says_how_to_narrow_it(make_runtime, recorder: Recorder) -> None:
    big = {"data": [{"id": n, "name": "x" * 200} for n in range(2000)], "errors": []}
    recorder.on("GET", "/v2/customers/lookup/customerDetails", Reply(200, big))
    runtime = make_runtime(result_budget_tokens=5_000)
    args = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}
    async with Client(build_server(runtime)) as client:
        result = await client.call_tool("customer_lookup", args)
    assert _result_chars(result) <= 5_000 * 3
    assert "of 2,000 entries of data" in result.content[0].text and "To get the rest" in result.content[0].text


async def test_small_answers_are_untouched(make_runtime, recorder: Recorder) -> None:
    async with Client(build_server(make_runtime()), elicitation_callback=answering("accept")) as client:
        result = await client.call_tool(
            "customer_lookup", {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}
        )
    assert "truncated" not in result.structured_content
    assert result.structured_content["data"] == {"data": [], "warnings": [], "errors": []}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=300),
    lambda children: st.lists(children, max_size=40) | st.dictionaries(st.text(max_size=10), children, max_size=30),
    max_leaves=400,
)


@settings(max_examples=150, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, st.integers(min_value=300, max_value=20_000))
def test_fit_always_fits_and_only_cuts_when_needed(payload: Any, limit: int) -> None:
    cut, cuts = fit(payload, limit)
    assert size_of(cut) <= limit
    if size_of(payload) <= limit:
        assert cut == payload and not cuts
    else:
        assert cuts, "whatever was left out is said"
