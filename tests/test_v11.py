"""The v1.1 companion toolsets: catalogued as the reference says, sent exactly, understood, simulated."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from mcp import Client
from recorder import Recorder, Reply
from reference_docs import NOT_FOUND, V1_DOCS, operation_facts, reference_root, section_doc

from cap_mcp.catalog import Catalog, Operation, load_catalog
from cap_mcp.client import _code_book
from cap_mcp.config import load_settings
from cap_mcp.envelope import normalise
from cap_mcp.profiles import CORE_TOOLSETS, build_profile
from cap_mcp.runtime import build_runtime
from cap_mcp.sandbox import SandboxApp
from cap_mcp.server import build_server

V11 = ("v11_customer", "v11_transaction", "v11_coupon")
POINTS_V11 = ("points_is_redeemable", "points_issue_validation_code", "points_redeem")


def v11_ops(catalog: Catalog) -> list[Operation]:
    return [op for op in catalog if op.toolset in V11 or op.name in POINTS_V11]


# --- the catalogue ---------------------------------------------------------------------------------------


def test_the_v11_toolsets_name_their_v11_files(catalog: Catalog) -> None:
    for name in V11:
        toolset = catalog.toolsets[name]
        assert toolset.section == "v1.1/" + name.removeprefix("v11_")
        assert {op.reference["doc"] for op in toolset.operations} == {section_doc(toolset.section)}
        assert all(op.name.startswith(name + "_") for op in toolset.operations)
    counts = {name: len(catalog.toolsets[name].operations) for name in V11}
    assert counts == {"v11_customer": 21, "v11_transaction": 6, "v11_coupon": 6}


def test_every_v11_call_asks_for_json_on_the_documented_host(catalog: Catalog) -> None:
    for op in v11_ops(catalog):
        assert op.path.startswith("/v1.1/"), op.name
        assert op.constants["query"] == {"format": "json"}, op.name
    # The v1.1 introduction gives the API host; only the points samples all show the intouch host.
    assert {op.host for op in catalog if op.toolset in V11} == {"api"}
    assert {catalog.get(name).host for name in POINTS_V11} == {"intouch"}


def test_effects_follow_consequences(catalog: Catalog) -> None:
    effect = {op.name: op.effect for op in catalog if op.toolset in V11}
    destructive = {"v11_transaction_add", "v11_transaction_add_local_currency", "v11_transaction_return",
                   "v11_transaction_retro", "v11_coupon_issue", "v11_coupon_redeem"}  # fmt: skip
    writes = {"v11_customer_add_note", "v11_customer_update_note", "v11_customer_create_ticket",
              "v11_customer_register", "v11_customer_update", "v11_customer_update_identifier",
              "v11_customer_refer", "v11_customer_update_preferences", "v11_customer_update_subscription",
              "v11_transaction_update", "v11_coupon_resend"}  # fmt: skip
    assert {n for n, e in effect.items() if e == "destructive"} == destructive
    assert {n for n, e in effect.items() if e == "write"} == writes
    for name in ("v11_customer_transactions", "v11_customer_redemptions", "v11_customer_notes", "v11_customer_tickets"):
        assert effect[name] == "read"


def test_every_change_has_a_preview_and_a_read_that_verifies_it(catalog: Catalog) -> None:
    for op in catalog:
        if op.toolset in V11 and op.effect != "read":
            assert op.summary, op.name
            check = catalog.get(op.verify_with or "")
            assert check is not None and check.effect == "read", op.name


def test_not_in_the_default_profile_but_selectable_and_in_all(catalog: Catalog) -> None:
    assert not set(V11) & set(CORE_TOOLSETS)
    assert not {op.toolset for op in build_profile(catalog).listed} & set(V11)
    assert {op.toolset for op in build_profile(catalog).operations} >= set(V11), "reachable through discovery"
    only = build_profile(catalog, toolsets=("v11_customer",)).listed
    assert {op.toolset for op in only} == {"v11_customer"} and len(only) == 21
    assert {op.toolset for op in build_profile(catalog, toolsets=("all",)).listed} >= set(V11)


def test_section_codes_do_not_redefine_common_codes(catalog: Catalog) -> None:
    common = set(catalog.error_codes["codes"])
    for name in V11:
        codes = catalog.toolsets[name].error_codes
        assert len(codes) > 50, name
        assert not common & set(codes), f"{name} redefines {sorted(common & set(codes))}"


@pytest.mark.skipif(reference_root() is None, reason=NOT_FOUND)
def test_method_and_path_match_the_reference(catalog: Catalog) -> None:
    root = reference_root()
    assert root is not None
    facts = {doc: operation_facts((root / doc).read_text(encoding="utf-8")) for doc in V1_DOCS}
    problems = []
    for op in v11_ops(catalog):
        for heading in op.reference["headings"]:
            fact = facts[op.reference["doc"]][heading]
            if fact["method"] is not None and fact["method"] != op.method:
                problems.append(f"{op.name}: {op.method}, reference {fact['method']}")
            documented = fact["request_paths"] | fact["sample_paths"]  # type: ignore[operator]
            if op.path not in documented:
                problems.append(f"{op.name}: {op.path} not in {sorted(documented)}")
            elif op.path not in fact["request_paths"] and "Request URL" not in (op.notes or ""):  # type: ignore[operator]
                problems.append(f"{op.name}: differs from the Request URL without a note")
    assert problems == []


# --- every v1.1 tool through a real MCP client, against the recorder --------------------------------------


def _placed(op: Operation, arguments: dict[str, Any]) -> Any:
    """The JSON body the reference's samples show for these arguments, built independently of the client."""
    body: Any = None
    for arg in op.args:
        if arg.location != "body" or arg.name not in arguments:
            continue
        node = body = body if body is not None else {}
        keys = arg.wire.split(".")
        for key, following in itertools.pairwise(keys):
            slot: Any = int(key) if key.isdigit() else key
            if isinstance(node, list):
                while len(node) <= slot:
                    node.append({})
                node = node[slot]
            else:
                node = node.setdefault(slot, [] if following.isdigit() else {})
        last = keys[-1]
        if isinstance(node, list):
            while len(node) <= int(last):
                node.append({})
            node[int(last)] = arguments[arg.name]
        else:
            node[last] = arguments[arg.name]
    return body


@pytest.mark.anyio
async def test_every_v11_tool_sends_the_documented_request(make_runtime, recorder: Recorder, catalog) -> None:
    runtime = make_runtime(toolsets=("all",), guards="off")
    ops = v11_ops(catalog)
    failures: list[str] = []
    async with Client(build_server(runtime)) as client:
        for op in ops:
            arguments = op.example["arguments"]
            before = len(recorder.requests)
            result = await client.call_tool(op.name, arguments)
            sent = recorder.requests[before:]
            if result.is_error or len(sent) != 1:
                failures.append(f"{op.name}: error={result.is_error} requests={len(sent)}")
                continue
            request = sent[0]
            path = op.path
            for arg in op.args:
                if arg.location == "path":
                    path = path.replace("{" + arg.wire + "}", quote(str(arguments[arg.name]), safe=""))
            if (request.method, request.path) != (op.method, path):
                failures.append(f"{op.name}: sent {request.method} {request.path}")
            query = dict(request.query)
            if query.get("format") != "json":
                failures.append(f"{op.name}: no format=json")
            expected_query = {"format"} | {a.wire for a in op.args if a.location == "query" and a.name in arguments}
            if set(query) != expected_query:
                failures.append(f"{op.name}: query {sorted(query)} != {sorted(expected_query)}")
            for arg in op.args:
                sent_header = request.header(arg.wire)
                if arg.location == "header" and arg.name in arguments and sent_header != str(arguments[arg.name]):
                    failures.append(f"{op.name}: header {arg.wire}")
            expected_body = _placed(op, arguments)
            if expected_body is not None and request.json != expected_body:
                failures.append(f"{op.name}: body {request.json} != {expected_body}")
            if expected_body is None and op.method == "GET" and request.body:
                failures.append(f"{op.name}: a GET with a body")
            if expected_body is not None and list(expected_body) != ["root"]:
                failures.append(f"{op.name}: body not wrapped in root")
    assert failures == []
    assert len(recorder.calls()) == len(ops) == 33 + 3


@pytest.mark.anyio
async def test_a_v11_bill_body_has_the_documented_wrappers(make_runtime, recorder: Recorder) -> None:
    bill = {"type": "regular", "number": "B-1", "amount": 250.5, "billing_time": "2026-11-20 10:00:00",
            "mobile": "919800000001", "card_number": "CARD-1001", "points_redemption_ids": ["R1"],
            "line_items": [{"item_code": "SKU-1", "qty": 1, "amount": 250.5}],
            "payments": [{"mode": "CASH", "value": 250.5}], "custom_fields": [{"name": "lane", "value": "3"}]}  # fmt: skip
    async with Client(build_server(make_runtime(toolsets=("v11_transaction",), guards="off"))) as client:
        assert not (await client.call_tool("v11_transaction_add", bill)).is_error
    [request] = recorder.calls("POST", "/v1.1/transaction/add")
    assert request.json == {"root": {"transaction": [{
        "type": "regular", "number": "B-1", "amount": 250.5, "billing_time": "2026-11-20 10:00:00",
        "customer": {"mobile": "919800000001", "card_details": {"card_number": "CARD-1001"}},
        "redemptions": {"points_redemptions": {"id": ["R1"]}},
        "line_items": {"line_item": [{"item_code": "SKU-1", "qty": 1, "amount": 250.5}]},
        "payment_details": {"payment": [{"mode": "CASH", "value": 250.5}]},
        "custom_fields": {"field": [{"name": "lane", "value": "3"}]}}]}}  # fmt: skip


@pytest.mark.anyio
async def test_a_v11_failure_is_a_tool_error_with_the_section_hint(make_runtime, recorder: Recorder) -> None:
    failed = {"response": {"status": {"success": "false", "code": 500, "message": "All requests have failed"},
                           "customer": {"item_status": {"success": "false", "code": "1012",
                                                        "message": "Cannot find customer"}}}}  # fmt: skip
    recorder.on("GET", "/v1.1/customer/transactions", Reply(200, failed))
    async with Client(build_server(make_runtime(toolsets=("v11_customer",)))) as client:
        result = await client.call_tool("v11_customer_transactions", {"mobile": "919800000099"})
    assert result.is_error
    assert "Cannot find customer (code 1012)" in result.content[0].text
    assert "v11_customer_get" in result.structured_content["hint"]


# --- v1.1 answers understood -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def codes() -> dict[str, Any]:
    return _code_book(load_catalog(validate=False))


def test_every_v11_example_answer_is_a_success(catalog: Catalog, codes) -> None:
    for op in v11_ops(catalog):
        outcome = normalise(op.example.get("status", 200), op.example["response"], toolset=op.toolset, codes=codes)
        assert (outcome.status, outcome.errors) == ("success", ()), op.name


@pytest.mark.skipif(reference_root() is None, reason=NOT_FOUND)
def test_every_reference_sample_answer_is_understood(codes) -> None:
    root = reference_root()
    assert root is not None
    toolsets = {"v1.1/_customer.md": "v11_customer", "v1.1/_transaction.md": "v11_transaction",
                "v1.1/_coupon.md": "v11_coupon", "v1.1/_points.md": "points"}  # fmt: skip
    read = 0
    for doc, toolset in toolsets.items():
        for block in re.findall(r"```json\n(.*?)```", (root / doc).read_text(encoding="utf-8"), re.S):
            try:
                payload = json.loads(block, strict=False)
            except ValueError:
                continue  # a few samples are not JSON (XML in a JSON block, unquoted dates)
            if not isinstance(payload, dict) or not ({"response", "status"} & set(payload)):
                continue  # a request body
            outcome = normalise(200, payload, toolset=toolset, codes=codes)
            assert (outcome.status, outcome.errors) == ("success", ()), block[:200]
            if '"706"' in block:  # the coupon check that ran and found the coupon used already
                assert [w.code for w in outcome.warnings] == [706]
            read += 1
    assert read >= 30


def _v11(status: dict[str, Any], **entities: Any) -> dict[str, Any]:
    return {"response": {"status": status, **entities}}


FAILED = {"success": "false", "code": "500", "message": "All requests have failed due to errors"}
OK = {"success": "true", "code": "200", "message": "Success"}


@pytest.mark.parametrize(
    ("payload", "toolset", "status", "first_code"),
    [
        (_v11(FAILED, customer={"item_status": {"success": "false", "code": "1012", "message": "not found"}}),
         "v11_customer", "failure", 1012),
        ({"status": FAILED, "coupons": {"coupon": {"item_status": {"success": "false", "code": "711", "message": "used"}}}},
         "v11_coupon", "failure", 711),
        (_v11(OK, coupons={"coupon": {"item_status": {"status": "false", "code": "719", "message": "no such code"}}}),
         "v11_coupon", "partial", 719),
        (_v11({"success": "false", "code": "201", "message": "Some requests have failed"},
              transactions={"transaction": [{"item_status": {"success": "true", "code": "600", "message": "added"}},
                                            {"item_status": {"success": "false", "code": "604", "message": "dup"}}]}),
         "v11_transaction", "partial", 604),
        (_v11({"success": "false", "response_code": "500", "message": "failed"}), "v11_customer", "failure", 500),
        (_v11(OK, customers={"customer": {"referrals": {"referral_type": [{"referral": [
            {"identifier": "a@example.com", "status": {"success": "true", "code": "100", "message": "added"}},
            {"identifier": "b", "status": {"success": "false", "code": "1206", "message": "bad type"}}]}]}}}),
         "v11_customer", "partial", 1206),
    ],
    ids=["item failed", "no response wrapper", "item says status", "status 201", "response_code", "one invitee failed"],
)  # fmt: skip
def test_v11_failures_and_partial_answers(payload, toolset, status, first_code, codes) -> None:
    outcome = normalise(200, payload, toolset=toolset, codes=codes)
    assert outcome.status == status
    assert outcome.errors[0].code == first_code
    assert f"(code {first_code})" in outcome.message


def test_v11_item_warnings_get_their_meaning(codes) -> None:
    item = {"success": "true", "code": "1000", "message": "updated", "warnings": {"warning": ["1017", "99999"]}}
    outcome = normalise(200, _v11(OK, customers={"customer": [{"item_status": item}]}), toolset="v11_customer",
                        codes=codes)  # fmt: skip
    assert outcome.status == "success"
    assert [(w.code, w.message) for w in outcome.warnings] == [
        (1017, "a custom field given is not valid for this org"),
        (99999, "Capillary warning 99999"),
    ]


# --- the sandbox keeps the v1.1 histories, notes and tickets ----------------------------------------------


def sandbox_client(app: SandboxApp, tmp_path: Any) -> Any:
    settings = load_settings(sandbox=True, base_url="http://sandbox.test", audit_log=str(tmp_path / "a.jsonl"),
                             toolsets=("all",), guards="off")  # fmt: skip
    return build_runtime(settings, catalog=app.catalog, transport=httpx.ASGITransport(app=app))


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content["data"]  # type: ignore[no-any-return]


DANA = {"mobile": "919800000004"}


@pytest.mark.anyio
async def test_histories_show_exactly_what_was_done(catalog, tmp_path) -> None:
    app = SandboxApp(catalog)
    runtime = sandbox_client(app, tmp_path)
    async with Client(build_server(runtime)) as client:
        await call(client, "transaction_add", {"identifierName": "mobile", "identifierValue": "919800000004",
                                               "source": "INSTORE", "type": "REGULAR", "billNumber": "D-1",
                                               "billAmount": 5000, "billingDate": "2026-11-02T10:00:00Z"})  # fmt: skip
        await call(client, "v11_transaction_add", {"type": "regular", "number": "D-2", "amount": 3000,
                                                   "billing_time": "2026-11-03 11:00:00", **DANA})  # fmt: skip
        check = await call(client, "points_is_redeemable", {"points": 200, **DANA, "issue_otp": True})
        redeemed = await call(client, "points_redeem", {"points_redeemed": 200, "customer": DANA,
                                                        "validation_code": check["sandbox"]["otp"],
                                                        "transaction_number": "D-2", "notes": "at the till"})  # fmt: skip
        redemption_id = redeemed["response"]["responses"]["points"]["redemption_id"]
        await call(client, "points_reverse", {"redemptionId": redemption_id, "pointsToBeReversed": 50,
                                              "identifier": {"type": "mobile", "value": "919800000004"}})  # fmt: skip
        issued = await call(client, "v11_coupon_issue", {"series_id": "3002", **DANA})
        first = issued["response"]["coupon"]["code"]
        second = (await call(client, "coupon_issue", {"seriesId": 3001, "customer": {"mobile": "919800000004"}}))[
            "code"
        ]
        by_v2 = await call(client, "coupon_redeem", {"redemptionRequestList": [{"code": first}], "user": DANA,
                                                     "billAmount": 5000, "transactionNumber": "D-1"})  # fmt: skip
        await call(client, "v11_coupon_redeem", {"code": second, **DANA, "transaction_number": "D-2",
                                                 "transaction_amount": 3000})  # fmt: skip
        await call(client, "coupon_reactivate", {"redemptionIds": [by_v2["redemption"][0]["id"]]})

        bills = (await call(client, "v11_customer_transactions", {**DANA, "limit": 5}))["response"]["customer"]
        history = (await call(client, "v11_customer_redemptions", DANA))["response"]["customer"]
        coupons = (await call(client, "v11_customer_coupons", DANA))["response"]["customers"]["customer"]
        only_points = (await call(client, "v11_customer_redemptions", {**DANA, "type": "POINTS"}))["response"][
            "customer"
        ]
        detail = (await call(client, "v11_coupon_get", {"code": [second]}))["response"]["coupons"]["coupon"]
    await runtime.aclose()

    rows = bills["transactions"]["transaction"]
    assert [(r["number"], r["amount"], r["type"]) for r in rows] == [
        ("D-2", "3000.0", "REGULAR"),
        ("D-1", "5000.0", "REGULAR"),
    ]
    assert [r["points"]["issued"] for r in rows] == ["300", "500"]
    assert [r["points"]["redeemed"] for r in rows] == ["150", "0"]  # 200 redeemed, 50 of them reversed
    assert [r["coupons"] for r in rows] == [[second.upper()], []]  # the first coupon's redemption was undone
    assert bills["count"] == 2 and bills["loyalty_points"] == 500 + 300 - 200 + 50

    [point] = history["redemptions"]["points"]["point"]
    assert (point["id"], point["points_redeemed"], point["transaction_number"], point["notes"]) == (
        redemption_id,
        200.0,
        "D-2",
        "at the till",
    )
    assert [r["points_reversed"] for r in point["reversals"]] == [50.0]
    by_code = {c["code"]: c for c in history["redemptions"]["coupons"]["coupon"]}
    assert set(by_code) == {first, second}
    assert by_code[first]["transaction_number"] == "D-1" and "reactivated_time" in by_code[first]
    assert by_code[second]["transaction_number"] == "D-2" and "reactivated_time" not in by_code[second]
    assert only_points["redemptions"]["coupons"]["coupon"] == [] and only_points["points_count"] == "1"

    states = {c["code"]: (c["redeemed"], c["redemption_count"]) for c in coupons["coupons"]["coupon"]}
    assert states == {first: ("false", "0"), second: ("true", "1")}
    assert detail["redemption_info"]["redeemed"] == "true" and detail["transaction"]["number"] == "D-2"


@pytest.mark.anyio
async def test_notes_round_trip(catalog, tmp_path) -> None:
    app = SandboxApp(catalog)
    runtime = sandbox_client(app, tmp_path)
    async with Client(build_server(runtime)) as client:
        empty = (await call(client, "v11_customer_notes", DANA))["response"]["customer"]
        await call(client, "v11_customer_add_note", {**DANA, "description": "Called about the refund"})
        await call(client, "v11_customer_add_note", {"user_id": "5100004", "description": "Prefers email"})
        listed = (await call(client, "v11_customer_notes", {"id": "5100004"}))["response"]["customer"]["notes"]["note"]
        await call(client, "v11_customer_update_note", {**DANA, "note_id": listed[0]["id"],
                                                        "description": "Refund sent on 21 Nov"})  # fmt: skip
        after = (await call(client, "v11_customer_notes", DANA))["response"]["customer"]["notes"]["note"]
        unknown = await client.call_tool("v11_customer_update_note", {**DANA, "note_id": "999", "description": "x"})
        other = (await call(client, "v11_customer_notes", {"mobile": "919800000001"}))["response"]["customer"]
    await runtime.aclose()
    assert empty["notes"]["note"] == [] and empty["item_status"]["code"] == "1028"
    assert [n["description"] for n in listed] == ["Called about the refund", "Prefers email"]
    assert [n["description"] for n in after] == ["Refund sent on 21 Nov", "Prefers email"]
    assert unknown.is_error and "1037" in unknown.content[0].text
    assert other["notes"]["note"] == []


@pytest.mark.anyio
async def test_tickets_round_trip(catalog, tmp_path) -> None:
    app = SandboxApp(catalog)
    runtime = sandbox_client(app, tmp_path)
    ticket = {**DANA, "subject": "Damaged card", "message": "Card arrived cracked", "priority": "HIGH",
              "department": "CARDS"}  # fmt: skip
    async with Client(build_server(runtime)) as client:
        created = (await call(client, "v11_customer_create_ticket", ticket))["response"]["customers"]["customer"]
        again = await client.call_tool("v11_customer_create_ticket", ticket)
        await call(client, "v11_customer_create_ticket", {**DANA, "subject": "Missing points", "status": "CLOSED"})
        everything = (await call(client, "v11_customer_tickets", DANA))["response"]["customer"]["tickets"]["ticket"]
        open_ = (await call(client, "v11_customer_tickets", {**DANA, "status": "OPEN"}))["response"]["customer"]
    await runtime.aclose()
    assert created["ticket"]["status"] == "OPEN" and created["item_status"]["code"] == "1300"
    assert again.is_error and "1301" in again.content[0].text
    assert [t["subject"] for t in everything] == ["Damaged card", "Missing points"]
    assert [t["code"] for t in open_["tickets"]["ticket"]] == [created["ticket"]["code"]]


@pytest.mark.anyio
async def test_retro_return_and_resend(catalog, tmp_path) -> None:
    app = SandboxApp(catalog)
    runtime = sandbox_client(app, tmp_path)
    async with Client(build_server(runtime)) as client:
        anonymous = await call(client, "v11_transaction_add", {"type": "not_interested", "number": "ANON-7",
                                                               "amount": 900, "billing_time": "2026-11-04 09:00:00"})  # fmt: skip
        bill_id = str(anonymous["response"]["transactions"]["transaction"][0]["id"])
        retro = {"transaction_id": bill_id, "new_type": "REGULAR", "old_type": "NOT_INTERESTED", **DANA,
                 "client_signature": "SUPPORT_DESK"}  # fmt: skip
        converted = await call(client, "v11_transaction_retro", retro)
        twice = await client.call_tool("v11_transaction_retro", retro)
        returned = await call(client, "v11_transaction_return", {
            "type": "return", "return_type": "AMOUNT", "number": "ANON-7-R", "parent_bill_number": "ANON-7",
            "purchase_time": "2026-11-04", "billing_time": "2026-11-05 10:00:00", "amount": 400, **DANA})  # fmt: skip
        bills = (await call(client, "v11_customer_transactions", DANA))["response"]["customer"]
        found = await call(client, "v11_transaction_get", {"number": "ANON-7-R", "type": "RETURN"})
        await call(client, "v11_coupon_resend", {"code": "WELCOME-ASHA-01"})
        sent = await call(client, "v11_customer_interactions", {"mobile": "919800000001"})
    await runtime.aclose()
    item = converted["response"]["transactions"]["transaction"][0]
    assert item["item_status"]["code"] == "1630" and item["old_type"] == "NOT_INTERESTED"
    assert twice.is_error and "1627" in twice.content[0].text
    assert returned["response"]["transactions"]["transaction"][0]["points_deducted"] == 40
    assert [(r["number"], r["type"]) for r in bills["transactions"]["transaction"]] == [
        ("ANON-7-R", "RETURN"),
        ("ANON-7", "REGULAR"),
    ]
    assert bills["loyalty_points"] == 90 - 40
    assert found["response"]["transactions"]["transaction"][0]["number"] == "ANON-7-R"
    [network] = sent["response"]["customer"]["interactions"]["network"]
    assert network["interaction"][0]["messages"]["message"][0]["subject"] == "Your coupon WELCOME-ASHA-01"


@pytest.mark.anyio
async def test_a_coupon_that_cannot_be_used_is_said_with_its_reason(catalog, tmp_path) -> None:
    app = SandboxApp(catalog)
    runtime = sandbox_client(app, tmp_path)
    async with Client(build_server(runtime)) as client:
        result = await client.call_tool("v11_coupon_is_redeemable", {"code": "BDAY-CHEN-01", "mobile": "919800000003"})
        fine = await client.call_tool("v11_coupon_is_redeemable", {"code": "WELCOME-ASHA-01", "mobile": "919800000001"})
    await runtime.aclose()
    data = result.structured_content
    assert data["data"]["response"]["coupons"]["redeemable"]["is_redeemable"] == "false"
    assert data["warnings"][0]["code"] == 711 and "redeemed already" in result.content[0].text
    assert "warnings" not in fine.structured_content


def test_v11_classification_holds_for_any_mix_of_items(codes) -> None:
    """Any number of items, each saying success or status as string or boolean, under any request status."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    flag = st.sampled_from(["true", "false", True, False])
    items = st.lists(st.tuples(st.sampled_from(["success", "status"]), flag, st.integers(600, 699)), max_size=5)
    wrapped = st.booleans()
    overall = st.tuples(flag, st.sampled_from([200, 201, 500]))

    @hypothesis.settings(derandomize=True, max_examples=300, database=None)
    @hypothesis.given(items, wrapped, overall)
    def check(raw_items: list[Any], wrap: bool, request: tuple[Any, int]) -> None:
        success, code = request
        rows = [{"item_status": {key: value, "code": str(c), "message": f"item {c}"}} for key, value, c in raw_items]
        body = {"status": {"success": success, "code": code, "message": "m"}, "transactions": {"transaction": rows}}
        outcome = normalise(200, {"response": body} if wrap else body, toolset="v11_transaction", codes=codes)
        failed = [c for _, value, c in raw_items if value in ("false", False)]
        request_failed = success in ("false", False)
        if code == 201 or (failed and not request_failed):
            assert outcome.status == "partial"
        elif request_failed:
            assert outcome.status == "failure"
        else:
            assert outcome.status == "success"
        assert [e.code for e in outcome.errors] == failed + ([code] if request_failed else [])

    check()
