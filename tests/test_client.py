"""The shared client: envelopes normalised, reads retried, writes sent at most once."""

from __future__ import annotations

import pytest
from recorder import Recorder, Reply

from cap_mcp.client import CapillaryClient
from cap_mcp.envelope import normalise

pytestmark = pytest.mark.anyio

CODES = {
    "common": {"521": {"message": "another action is running for the same customer", "hint": "wait and retry"}},
    "points": {"804": {"message": "insufficient current points", "hint": "check the balance first"}},
}


def test_v2_success_with_data() -> None:
    outcome = normalise(200, {"data": [{"x": 1}], "warnings": [], "errors": []}, toolset="points", codes=CODES)
    assert (outcome.status, outcome.message) == ("success", "")


def test_v2_error_gets_the_catalogued_hint() -> None:
    body = {"data": [], "errors": [{"status": False, "code": 804, "message": "Insufficient current points."}]}
    outcome = normalise(400, body, toolset="points", codes=CODES)
    assert outcome.status == "failure"
    assert "Insufficient current points" in outcome.message and "804" in outcome.message
    assert outcome.hint == "check the balance first"
    assert outcome.payload == body  # kept whole


def test_http_201_is_partial_success() -> None:
    body = {"response": [{"entity": {"id": 1}}, {"errors": [{"code": 521, "message": "busy"}]}]}
    outcome = normalise(201, body, toolset="transaction", codes=CODES)
    assert outcome.status == "partial"
    assert outcome.hint == "wait and retry"  # falls back to the common codes


def test_v11_item_failure_inside_http_200() -> None:
    body = {
        "response": {
            "status": {"success": "false", "code": 500, "message": "failed"},
            "responses": {"points": {"item_status": {"success": "false", "code": "804", "message": "Not enough"}}},
        }
    }
    outcome = normalise(200, body, toolset="points", codes=CODES)
    assert outcome.status == "failure"
    assert outcome.errors[0].code == 804  # the item's own status comes first


def test_coupon_upload_api_failure() -> None:
    outcome = normalise(200, {"success": False, "status": 400, "message": "bad file"}, toolset="coupon", codes=CODES)
    assert outcome.status == "failure" and "bad file" in outcome.message


def test_warnings_are_kept_on_success() -> None:
    body = {"entity": {"id": 1}, "warnings": [{"code": 8050, "message": "merged"}]}
    outcome = normalise(200, body, toolset="customer", codes=CODES)
    assert outcome.status == "success" and outcome.warnings[0].code == 8050


LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}


async def test_a_read_is_retried_on_5xx_and_521(recorder: Recorder, make_settings, catalog) -> None:
    replies = iter([Reply(500, {"errors": [{"code": 500, "message": "oops"}]}), Reply(521, {}), Reply(200, {"id": 1})])
    recorder.on("GET", "/v2/customers/lookup/customerDetails", lambda _: next(replies))
    async with CapillaryClient(make_settings(read_retries=2), catalog, backoff_base=0.01) as client:
        outcome = await client.call(catalog.get("customer_lookup"), LOOKUP)
    assert outcome.status == "success" and outcome.attempts == 3
    assert len(recorder.calls()) == 3


async def test_a_read_gives_up_after_its_retries(recorder: Recorder, make_settings, catalog) -> None:
    recorder.on(
        "GET", "/v2/customers/lookup/customerDetails", Reply(461, {"errors": [{"code": 461, "message": "busy"}]})
    )
    async with CapillaryClient(make_settings(read_retries=1), catalog, backoff_base=0.01) as client:
        outcome = await client.call(catalog.get("customer_lookup"), LOOKUP)
    assert outcome.status == "failure" and len(recorder.calls()) == 2
    assert "busy" in outcome.message


async def test_a_write_is_never_retried(recorder: Recorder, make_settings, catalog) -> None:
    recorder.on("POST", "/v2/points/transfer", Reply(500, {"errors": [{"code": 500, "message": "oops"}]}))
    async with CapillaryClient(make_settings(read_retries=3), catalog, backoff_base=0.01) as client:
        outcome = await client.call(catalog.get("points_transfer"), {"pointsTobeTransferred": 1})
    assert outcome.status == "unknown" and len(recorder.calls()) == 1


async def test_a_write_that_times_out_has_an_unknown_outcome_and_is_not_resent(
    recorder: Recorder, make_settings, catalog
) -> None:
    recorder.on("POST", "/v2/points/transfer", Reply(delay=1.5))
    async with CapillaryClient(make_settings(read_timeout=0.5), catalog) as client:
        outcome = await client.call(catalog.get("points_transfer"), {"pointsTobeTransferred": 1})
    assert outcome.status == "unknown"
    assert "points_transfer_history" in outcome.hint
    assert len(recorder.calls()) == 1


async def test_a_dropped_connection_after_a_write_is_an_unknown_outcome(
    recorder: Recorder, make_settings, catalog
) -> None:
    recorder.on("POST", "/v2/coupon/redeem", Reply(drop=True))
    async with CapillaryClient(make_settings(), catalog) as client:
        outcome = await client.call(catalog.get("coupon_redeem"), {"billAmount": 1})
    assert outcome.status == "unknown" and len(recorder.calls()) == 1


async def test_nothing_sent_when_the_host_is_unreachable(make_settings, catalog) -> None:
    settings = make_settings(base_url="http://127.0.0.1:9", connect_timeout=0.5)
    async with CapillaryClient(settings, catalog) as client:
        outcome = await client.call(catalog.get("points_transfer"), {"pointsTobeTransferred": 1})
    assert outcome.status == "failure" and "nothing was sent" in outcome.message


async def test_attribution_and_json_headers(recorder: Recorder, make_settings, catalog) -> None:
    settings = make_settings(
        attribution_entity_type="STORE_CODE",
        attribution_entity_code="central",
        attribution_lookup_type="TILL",
        attribution_lookup="central.till1",
    )
    async with CapillaryClient(settings, catalog) as client:
        await client.call(catalog.get("customer_lookup"), LOOKUP)
    request = recorder.calls()[0]
    assert request.header("X-CAP-API-ATTRIBUTION-ENTITY-TYPE") == "STORE_CODE"
    assert request.header("X-CAP-API-ATTRIBUTION-ENTITY-CODE") == "central"
    assert request.header("X-CAP-API-ATTRIBUTION-LOOKUP-TYPE") == "TILL"
    assert request.header("X-CAP-API-ATTRIBUTION-LOOKUP") == "central.till1"
    assert request.header("Accept") == "application/json"
    assert request.header("Content-Type") == "application/json"


async def test_multipart_upload_is_sent_as_form_data(recorder: Recorder, make_settings, catalog) -> None:
    op = catalog.get("coupon_upload")
    async with CapillaryClient(make_settings(), catalog) as client:
        await client.call(op, op.example["arguments"])
    request = recorder.calls()[0]
    assert request.path.startswith("/coupon/api/v1/upload/file/")
    assert request.header("Content-Type").startswith("multipart/form-data; boundary=")
    assert b'name="file"' in request.body and b'name="customerIdentifier"' in request.body
