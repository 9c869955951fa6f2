"""Values accepted as models send them — when the conversion is exact — and sent in the schema's type."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import TRANSFER_ARGS
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from recorder import Recorder

from cap_mcp.catalog import Catalog, load_catalog
from cap_mcp.server import build_server
from cap_mcp.validation import argument_errors, coerce_arguments

pytestmark = pytest.mark.anyio


async def test_a_mobile_number_sent_as_a_number_is_sent_as_a_string(make_runtime, recorder: Recorder) -> None:
    async with Client(build_server(make_runtime())) as client:
        result = await client.call_tool(
            "customer_lookup", {"identifierName": "mobile", "identifierValue": 919800000001, "source": "INSTORE"}
        )
    assert not result.is_error
    assert ("identifierValue", "919800000001") in recorder.calls()[0].query


async def test_numeric_strings_and_boolean_words_become_numbers_and_booleans(make_runtime, recorder: Recorder) -> None:
    args = {**TRANSFER_ARGS, "pointsTobeTransferred": "120", "programId": "2001", "issueOtp": "false"}
    async with Client(build_server(make_runtime(guards="off"))) as client:
        result = await client.call_tool("points_is_transferrable", {k: v for k, v in args.items() if k != "code"})
    assert not result.is_error
    body = recorder.calls("POST", "/v2/points/isTransferrable")[0].json
    assert body["pointsTobeTransferred"] == 120 and body["programId"] == 2001 and body["issueOtp"] is False


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("pointsTobeTransferred", 1.5, "must be of type integer"),
        ("pointsTobeTransferred", "12abc", "must be of type integer"),
        ("pointsTobeTransferred", "1.5", "must be of type integer"),
        ("pointsTobeTransferred", True, "must be of type integer"),
        ("code", 4829.13, "must be of type string"),
    ],
)
async def test_lossy_conversions_are_refused_clearly(
    make_runtime, recorder: Recorder, name: str, value: Any, expected: str
) -> None:
    async with Client(build_server(make_runtime())) as client:
        result = await client.call_tool("points_transfer", {**TRANSFER_ARGS, name: value})
    assert result.is_error and result.structured_content["status"] == "invalid_arguments"
    assert expected in result.content[0].text and f"'{name}'" in result.content[0].text
    assert recorder.calls() == []


async def test_a_token_for_converted_arguments_accepts_the_unconverted_call(make_runtime, recorder: Recorder) -> None:
    as_strings = {**TRANSFER_ARGS, "pointsTobeTransferred": "120", "code": "482913"}
    as_numbers = {**TRANSFER_ARGS, "pointsTobeTransferred": 120, "code": 482913}
    async with Client(build_server(make_runtime())) as client:
        first = await client.call_tool("points_transfer", as_strings)
        token = first.structured_content["confirmation_token"]
        done = await client.call_tool("points_transfer", {**as_numbers, "confirmation_token": token})
    assert not done.is_error
    [sent] = recorder.calls("POST", "/v2/points/transfer")
    assert sent.json["pointsTobeTransferred"] == 120 and sent.json["code"] == "482913"


async def test_free_form_objects_are_left_alone(catalog: Catalog) -> None:
    op = catalog.get("customer_update")
    args = {"customerId": "5100001", "source": "INSTORE", "extendedFields": {"gender": 1, "flag": "true"}}
    coerced = coerce_arguments(op, args)
    assert coerced["customerId"] == 5100001 and coerced["extendedFields"] == {"gender": 1, "flag": "true"}


POINTS_TRANSFER = load_catalog(validate=False).get("points_transfer")


@settings(max_examples=200, derandomize=True, database=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=True), st.text(max_size=12), st.booleans(), st.none()))
def test_conversion_is_exact_or_not_done(value: Any) -> None:
    """Whatever comes in, a converted value means exactly the same; anything else is left for validation to refuse."""
    out = coerce_arguments(POINTS_TRANSFER, {**TRANSFER_ARGS, "pointsTobeTransferred": value, "code": value})
    points, code = out["pointsTobeTransferred"], out["code"]
    if points is not value:
        assert type(points) is int
        assert points == (int(value.strip()) if isinstance(value, str) else value)
    if code is not value:
        assert type(value) is int and code == str(value)
    if type(points) is not int:
        assert any("pointsTobeTransferred" in e for e in argument_errors(POINTS_TRANSFER, out))
