"""Lint over the whole catalogue: effects judged by consequence, verification for every change, clean text.

Each rule reads every operation, so a new or edited tool that breaks it fails here,
with the tool named. The last tests check the same rules through a real MCP client.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ROOT, answering
from jsonschema import Draft202012Validator
from mcp import Client
from recorder import Recorder, Reply

from cap_mcp.catalog import Catalog, Operation
from cap_mcp.profiles import build_profile
from cap_mcp.server import build_server
from cap_mcp.templates import fields

pytestmark = pytest.mark.anyio

# --- effects -------------------------------------------------------------------------------------------

# Stems of verbs that usually mean value moves, something is lost or someone is messaged.
DESTRUCTIVE_STEMS = ("transfer", "redeem", "reverse", "delete", "merge", "deactivat", "issue", "credit", "password",
                     "send")  # fmt: skip
_WORD = re.compile(r"[A-Za-z]+")


def sounds_destructive(op: Operation) -> list[str]:
    words = [w.lower() for w in op.name.split("_")] + [w.lower() for w in _WORD.findall(op.title)]
    return sorted({stem for stem in DESTRUCTIVE_STEMS for word in words if word.startswith(stem)})


def test_operations_that_sound_destructive_are_or_say_why_not(catalog: Catalog) -> None:
    unexplained = [
        f"{op.name} ({', '.join(sounds_destructive(op))})"
        for op in catalog
        if sounds_destructive(op) and op.max_effect != "destructive" and not op.effect_reason
    ]
    assert unexplained == []


def test_an_effect_reason_is_only_given_where_it_explains_something(catalog: Catalog) -> None:
    assert [op.name for op in catalog if op.effect_reason and not sounds_destructive(op)] == []


def test_operations_that_send_a_customer_a_code_or_message_are_destructive(catalog: Catalog) -> None:
    """Sending cannot be undone: an OTP, an email or an invitation reaches a person for good."""
    for name in ("otp_generate", "points_issue_validation_code", "auth_engine_generate_otp", "staff_user_send_otp",
                 "communications_send_email", "user_group_join_with_otp", "customer_add_referrals"):  # fmt: skip
        assert catalog.get(name).effect == "destructive", name


def _properties_named(schema: Any) -> Iterator[str]:
    """Argument names a condition schema speaks of at the top level (through not/anyOf/allOf/oneOf too)."""
    if not isinstance(schema, dict):
        return
    yield from schema.get("properties", {})
    yield from schema.get("required", ())
    for key in ("not", "if", "then", "else"):
        yield from _properties_named(schema.get(key))
    for key in ("anyOf", "allOf", "oneOf"):
        for item in schema.get(key, ()):
            yield from _properties_named(item)


def test_conditions_are_valid_schemas_over_the_operations_own_arguments(catalog: Catalog) -> None:
    conditioned = [op for op in catalog if op.effect_when]
    assert len(conditioned) >= 15
    for op in conditioned:
        names = {a.name for a in op.args}
        for condition in op.effect_when:
            Draft202012Validator.check_schema(condition.schema)
            assert set(_properties_named(condition.schema)) <= names, op.name
            assert all(f.split(".")[0] in names for f in fields(condition.consequence)), op.name
            assert condition.effect != "read", op.name


# Per conditioned operation: arguments that trigger a stronger effect, and arguments that do not.
EFFECT_CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "points_is_transferrable": ({"issueOtp": True}, {"issueOtp": False}),
    "points_is_redeemable": ({"issue_otp": True}, {}),
    "customer_update": ({"loyaltyProgramEnrollments": [{"programId": 2001, "loyaltyPoints": 5000}]},
                        {"loyaltyProgramEnrollments": [{"programId": 2001}]}),
    "customer_update_by_identifier": ({"loyaltyProgramEnrollments": [{"tierNumber": 3}]}, {"profiles": []}),
    "customer_register": ({"loyaltyProgramEnrollments": [{"loyaltyPoints": 100}]},
                          {"loyaltyProgramEnrollments": [{"loyaltyPoints": 0}]}),
    "customer_bulk_register": ({"payload": [{"associationDetails": {"roleCode": "FO"}}]},
                               {"payload": [{"associationDetails": {"hierarchyCode": "H1"}}]}),
    "customer_bulk_update": ({"payload": [{}, {"loyaltyProgramEnrollments": [{"loyaltyPoints": 50}]}]},
                             {"payload": [{"profiles": []}]}),
    "group_loyalty_associate_customers": ({"customers": [{"associationDetails": {"fleetCompany": {"externalId": "C"}}}]},
                                          {"customers": [{"associationDetails": {}}]}),
    "group_loyalty_update_association": ({"customers": [{"loyaltyProgramEnrollments": [{"tierNumber": 2}]}]},
                                         {"customers": [{"profiles": []}]}),
    "customer_change_identifier": ({"add": [{"type": "mobile", "value": "919800000009"}]},
                                   {"add": [{"type": "cardnumber", "value": "CARD-1"}]}),
    "card_loyalty_update_card": ({"statusLabel": "DELETED"}, {"statusLabel": "ACTIVE"}),
    "card_loyalty_update_cards_bulk": ({"payload": [{"statusLabel": "ACTIVE"}, {"statusLabel": "Expired"}]},
                                       {"payload": [{"statusLabel": "ACTIVE"}]}),
    "partner_program_link_customer": (
        {"linkToPartnerPrograms": [{"customerPartnerReference": {"partnerTierName": "Gold"}}]},
        {"linkToPartnerPrograms": [{"customerPartnerReference": {"partnerMembershipId": "M1"}}]}),
    "staff_user_change_password": ({"password": "x"}, {"password": "x", "accessToken": "t"}),
    "transaction_update": ({"deliveryStatus": "DELIVERED"}, {"deliveryStatus": "SHIPPED"}),
}  # fmt: skip


def test_every_condition_has_a_case_and_the_cases_hold(catalog: Catalog) -> None:
    assert sorted(EFFECT_CASES) == sorted(op.name for op in catalog if op.effect_when)
    for name, (stronger, plain) in EFFECT_CASES.items():
        op = catalog.get(name)
        assert op.consequences(stronger) and op.effect_for(stronger) == op.max_effect, name
        assert op.consequences(plain) == [] and op.effect_for(plain) == op.effect, name


# The examples whose arguments meet a condition (and so have the strongest effect); every other example has
# its operation's base effect.
ESCALATING_EXAMPLES = {
    "customer_bulk_register", "customer_bulk_update", "group_loyalty_associate_customers",
    "group_loyalty_update_association", "partner_program_link_customer", "points_is_transferrable",
    "points_is_redeemable", "transaction_update", "staff_user_change_password",
}  # fmt: skip


def test_examples_have_the_effect_the_data_says(catalog: Catalog) -> None:
    for op in catalog:
        example = dict(op.example["arguments"])
        expected = op.max_effect if op.name in ESCALATING_EXAMPLES else op.effect
        assert op.effect_for(example) == expected, op.name
        assert bool(op.consequences(example)) is (op.name in ESCALATING_EXAMPLES), op.name
        assert all("(not given)" not in line for line in op.consequences(example)), op.name


def test_annotations_and_guarding_follow_the_strongest_possible_effect(catalog: Catalog) -> None:
    check = catalog.get("points_is_transferrable")
    assert check.effect == "read" and check.max_effect == "destructive" and check.guarded
    assert check.annotations["readOnlyHint"] is False and check.annotations["destructiveHint"] is True
    assert check.describe()["effect_when"][0]["effect"] == "destructive"
    for op in catalog:
        assert op.annotations["readOnlyHint"] is (op.max_effect == "read"), op.name
        assert op.annotations["destructiveHint"] is (op.max_effect == "destructive"), op.name


def test_loading_the_catalogue_does_not_import_jsonschema() -> None:
    code = (
        "import sys; from cap_mcp.catalog import load_catalog; c = load_catalog(validate=False); "
        "c.get('points_is_transferrable').max_effect; assert 'jsonschema' not in sys.modules; "
        "c.get('points_is_transferrable').effect_for({'issueOtp': True}); assert 'jsonschema' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --- verification --------------------------------------------------------------------------------------


def test_every_change_names_a_read_that_tells_or_says_why_none_can(catalog: Catalog) -> None:
    for op in catalog:
        if op.max_effect == "read":
            continue
        assert op.verify_with or op.verify_reason, op.name
        if op.verify_with:
            reader = catalog.get(op.verify_with)
            assert reader is not None and reader.max_effect == "read" and not reader.opt_in, op.name


def test_verify_args_name_arguments_of_both_tools(catalog: Catalog) -> None:
    for op in catalog:
        if not op.verify_args:
            continue
        reader = catalog.get(op.verify_with or "")
        assert reader is not None, op.name
        assert set(op.verify_args) <= {a.name for a in reader.args}, op.name
        own = {a.name for a in op.args}
        for template in op.verify_args.values():
            templates = template if isinstance(template, list) else [template]
            for text in (t for t in templates if isinstance(t, str)):
                assert all(f.split(".")[0] in own for f in fields(text)), f"{op.name}: {text}"


def test_the_verify_call_of_every_example_is_a_valid_read(catalog: Catalog) -> None:
    """What an unknown outcome would tell the model to call is itself a call the read tool accepts."""
    failures = []
    for op in catalog:
        call = op.verify_call(op.example["arguments"])
        if call is None:
            continue
        reader = catalog.get(call[0])
        errors = [
            e for e in Draft202012Validator(reader.input_schema).iter_errors(call[1]) if e.validator != "required"
        ]
        failures += [f"{op.name} -> {call[0]}: {e.message}" for e in errors]
    assert failures == []


def test_verify_call_renders_the_read_with_this_calls_values(catalog: Catalog) -> None:
    update = catalog.get("customer_update")
    assert update.verify_call({"customerId": 5100002, "source": "INSTORE"}) == (
        "customer_get", {"customerId": 5100002, "source": "ALL", "embed": "points"})  # fmt: skip
    create = catalog.get("staff_user_create")
    assert create.verify_call({"username": "priya"}) == ("staff_user_get", {"username": "priya"})
    redeem = catalog.get("coupon_redeem")
    args = {"redemptionRequestList": [{"code": "A"}, {"code": "B"}], "user": {"mobile": "919800000001"}}
    assert redeem.verify_call(args) == ("coupon_is_redeemable", {"code": ["A", "B"], "mobile": "919800000001"})
    assert catalog.get("otp_generate").verify_call({}) is None


# --- text a model reads --------------------------------------------------------------------------------

_DOUBLED = re.compile(r"[,;:]{2}|[,;:]\.|(?<![.\w])\.[,;:]|(?<!\.)\.\.(?!\.)|\s[,;:]")
_HOST_PIECE = re.compile(r"^(com|net|org|io)\b|^[a-z0-9-]+\.[a-z0-9-]+\.\s")


def texts(catalog: Catalog) -> Iterator[tuple[str, Operation | None, str]]:
    for op in catalog:
        yield f"{op.name}.description", op, op.description
        if op.notes:
            yield f"{op.name}.notes", op, op.notes
        for key in ("summary", "verify_reason", "effect_reason", "opt_in"):
            if getattr(op, key):
                yield f"{op.name}.{key}", op, getattr(op, key)
    for toolset in catalog.toolsets.values():
        yield f"{toolset.name}.description", None, toolset.description
        for code, entry in toolset.error_codes.items():
            yield f"{toolset.name}.error_codes.{code}", None, f"{entry['message']}. {entry['hint']}"
    for code, entry in catalog.error_codes.get("codes", {}).items():
        yield f"error_codes.{code}", None, f"{entry['message']}. {entry['hint']}"


def _known_words(op: Operation) -> set[str]:
    """Argument and nested property names: a note may start with one ("seriesId is listed as ...")."""
    words: set[str] = set()

    def walk(schema: Any) -> None:
        if isinstance(schema, dict):
            words.update(schema.get("properties", {}))
            for value in schema.values():
                walk(value)
        elif isinstance(schema, list):
            for item in schema:
                walk(item)

    walk(op.input_schema)
    return words | {a.wire for a in op.args} | {name for group in op.constants.values() for name in group}


SECRET_FIELDS = {"otp", "password", "newPassword", "confirmPassword", "accessToken", "token", "expiredToken",
                 "validationCode", "validation_code", "key", "secret", "cap_authorization"}  # fmt: skip


def test_templates_read_only_the_operations_arguments(catalog: Catalog) -> None:
    unknown = [
        f"{op.name}: {{{field}}}"
        for op in catalog
        for template in [op.summary or "", *(c.consequence for c in op.effect_when)]
        for field in fields(template)
        if op.arg(field.split(".")[0]) is None
    ]
    assert unknown == []


def test_previews_never_show_a_secret(catalog: Catalog) -> None:
    """A summary or consequence is shown to a person and returned to the model: it names no code or password."""
    shown = [
        f"{op.name}: {{{field}}}"
        for op in catalog
        for template in [op.summary or "", *(c.consequence for c in op.effect_when)]
        for field in fields(template)
        if field.split(".")[-1] in SECRET_FIELDS
    ]
    assert shown == []


def test_notes_and_descriptions_have_no_stray_fragments(catalog: Catalog) -> None:
    problems = []
    for op in catalog:
        for where, text in (("description", op.description), ("notes", op.notes or "")):
            if not text:
                continue
            first = re.split(r"[\s,;:=]", text, maxsplit=1)[0]
            if text[0].islower() and first not in _known_words(op):
                problems.append(f"{op.name}.{where} starts with a fragment: {text[:40]!r}")
            if _HOST_PIECE.search(text):
                problems.append(f"{op.name}.{where} starts with a piece of a host name: {text[:40]!r}")
            if _DOUBLED.search(text):
                problems.append(f"{op.name}.{where} has doubled punctuation: {_DOUBLED.search(text).group()!r}")
            if text[0] in "(,;.":
                problems.append(f"{op.name}.{where} starts with {text[0]!r}")
    assert problems == []


_TOOL_LIKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def _property_names(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        names = set(schema.get("properties") or {})
        return names.union(*(_property_names(v) for v in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_property_names(v) for v in schema))
    return set()


def mentioned_tools(catalog: Catalog, text: str) -> set[str]:
    """Words shaped like tool names of a catalogued toolset (argument names such as user_group2_id excepted)."""
    arguments = {a.name for op in catalog for a in op.args}
    arguments |= {part for op in catalog for a in op.args for part in a.wire.split(".")}
    arguments |= {name for op in catalog for a in op.args for name in _property_names(a.schema)}
    prefixes = tuple(name + "_" for name in catalog.toolsets)
    return {w for w in _TOOL_LIKE.findall(text) if w.startswith(prefixes) and w not in arguments}


def test_text_mentions_only_tools_that_exist(catalog: Catalog) -> None:
    unknown = [
        f"{where}: {name}"
        for where, _, text in texts(catalog)
        for name in sorted(mentioned_tools(catalog, text))
        if catalog.get(name) is None
    ]
    assert unknown == []


def test_nothing_catalogued_is_called_not_catalogued(catalog: Catalog) -> None:
    headings = {h for op in catalog for h in op.reference["headings"]}
    wrong = []
    for where, _, text in texts(catalog):
        for sentence in re.split(r"(?<=\.)\s+", text):
            if "not catalogued" not in sentence:
                continue
            named = mentioned_tools(catalog, sentence) | {h for h in headings if h in sentence}
            wrong += [f"{where}: {name}" for name in sorted(named)]
    assert wrong == []


def test_section_codes_do_not_shadow_global_ones_unless_marked(catalog: Catalog) -> None:
    common = catalog.error_codes["codes"]
    unmarked = [
        f"{toolset.name} {code}: {entry['message']!r} vs {common[code]['message']!r}"
        for toolset in catalog.toolsets.values()
        for code, entry in toolset.error_codes.items()
        if code in common and entry["message"] != common[code]["message"] and not entry.get("shadows_global")
    ]
    assert unmarked == []
    assert "1061" not in catalog.toolsets["customer"].error_codes  # a reference typo must not hide the header error


_LIVE_CODE = re.compile(
    r"\b(read|reuse|fetch|retrieve|look up|get|use)\b[^.;]{0,40}\b(live|latest|current|last|same)\b[^.;]{0,25}"
    r"\b(code|otp|password)\b",
    re.IGNORECASE,
)


def test_no_text_suggests_reading_a_live_code(catalog: Catalog) -> None:
    for where, op, text in texts(catalog):
        if op is not None and op.opt_in:
            continue  # the opt-in tool's own description says what it returns, and why it is off
        assert "otp_get" not in text, where
        assert not _LIVE_CODE.search(text), f"{where}: {text}"
    assert [op.name for op in catalog if op.verify_with == "otp_get"] == []


def test_only_the_live_otp_read_is_opt_in(catalog: Catalog) -> None:
    assert [op.name for op in catalog if op.opt_in] == ["otp_get"]
    assert catalog.get("otp_get").describe()["opt_in"]
    assert not build_profile(catalog, toolsets=("all", "support", "otp")).allows("otp_get")
    assert build_profile(catalog, toolsets=("customer",), tools=("otp_get",), read_only=True).allows("otp_get")


# --- through a real MCP client -------------------------------------------------------------------------

CHECK_ARGS: dict[str, Any] = {
    "pointsTobeTransferred": 120,
    "fromCustomerIdentifier": {"type": "MOBILE", "value": "919800000001"},
    "toCustomerIdentifier": {"type": "ID", "value": "5100002"},
}
CREDIT_ARGS: dict[str, Any] = {
    "customerId": 5100002,
    "source": "INSTORE",
    "loyaltyProgramEnrollments": [{"programId": 2001, "loyaltyPoints": 5000}],
}


async def test_a_transfer_check_that_sends_an_otp_asks_first(make_runtime, recorder: Recorder, audit_path) -> None:
    async with Client(build_server(make_runtime())) as client:
        plain = await client.call_tool("points_is_transferrable", {**CHECK_ARGS, "issueOtp": False})
        assert not plain.is_error and len(recorder.calls("POST", "/v2/points/isTransferrable")) == 1
        asked = await client.call_tool("points_is_transferrable", {**CHECK_ARGS, "issueOtp": True})
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert asked.structured_content["status"] == "confirmation_required"
    first_line = asked.structured_content["preview"].splitlines()[0]
    assert first_line == "⚠ This call sends an OTP by SMS to the sender, MOBILE 919800000001."
    assert len(recorder.calls("POST", "/v2/points/isTransferrable")) == 1  # the OTP call was not sent
    assert (
        tools["points_is_transferrable"].annotations.read_only_hint is not True
    )  # absent = false, the protocol default
    [line] = [json.loads(x) for x in audit_path.read_text().splitlines()]
    assert (line["tool"], line["effect"], line["outcome"]) == ("points_is_transferrable", "destructive", "token issued")


async def test_a_token_for_the_otp_check_confirms_that_call_only(make_runtime, recorder: Recorder) -> None:
    """A token minted for the check that sends an OTP: with other arguments that still send one it is refused;
    turned into a plain check (no OTP) the call needs no confirmation at all and runs as the read it is."""
    path = "/v2/points/isTransferrable"
    async with Client(build_server(make_runtime())) as client:
        asked = await client.call_tool("points_is_transferrable", {**CHECK_ARGS, "issueOtp": True})
        token = asked.structured_content["confirmation_token"]
        more = {**CHECK_ARGS, "pointsTobeTransferred": 999, "issueOtp": True, "confirmation_token": token}
        refused = await client.call_tool("points_is_transferrable", more)
        assert refused.structured_content["outcome"] == "not_done" and not recorder.calls("POST", path)
        plain = {**CHECK_ARGS, "issueOtp": False, "confirmation_token": token}
        read = await client.call_tool("points_is_transferrable", plain)
    assert not read.is_error and [c.json["issueOtp"] for c in recorder.calls("POST", path)] == [False]


async def test_an_update_that_credits_points_is_previewed_and_asks_under_destructive_guards(
    make_runtime, recorder: Recorder
) -> None:
    async with Client(build_server(make_runtime(guards="destructive"))) as client:
        asked = await client.call_tool("customer_update", CREDIT_ARGS)
        profile_only = await client.call_tool("customer_update", {"customerId": 5100002, "source": "INSTORE"})
    preview = asked.structured_content["preview"]
    assert asked.structured_content["status"] == "confirmation_required"
    assert preview.splitlines()[0] == (
        "⚠ This call also credits 5000 points to the customer in programme 2001 through programme enrolment."
    )
    assert "crediting 5000 points" in preview.splitlines()[1]
    assert not profile_only.is_error  # a plain profile change is a write: it runs unasked under this policy
    assert len(recorder.calls("PUT", "/v2/customers/5100002")) == 1


async def test_the_live_otp_read_is_offered_only_when_named(make_runtime) -> None:
    async with Client(build_server(make_runtime(toolsets=("all",)))) as client:
        everything = {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool(
            "otp_get", {"identifierName": "mobile", "identifierValue": "919800000001", "scope": "POINTS"}
        )
    async with Client(build_server(make_runtime(toolsets=("customer",), tools=("otp_get",)))) as client:
        named = {t.name for t in (await client.list_tools()).tools}
    assert "otp_get" not in everything and "otp_generate" in everything
    assert refused.is_error and "off by default" in refused.content[0].text
    assert "otp_get" in named


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_possible_merge_leads_the_confirmation_form(make_runtime, recorder: Recorder, mode: str) -> None:
    seen: list[str] = []
    change = {"customerId": 5100001, "source": "INSTORE", "add": [{"type": "mobile", "value": "919800000002"}]}
    async with Client(
        build_server(make_runtime()), mode=mode, elicitation_callback=answering("decline", seen=seen)
    ) as c:
        result = await c.call_tool("customer_change_identifier", change)
    assert result.is_error and recorder.calls("POST", "/v2/customers/5100001/changeIdentifier") == []
    lines = seen[0].splitlines()
    assert lines[0].startswith("⚠ This call also merges this account into the other one if 919800000002")
    assert "cannot be undone" in lines[0]
    assert lines[1] == "Change identifiers of customer 5100001 in source INSTORE: add mobile 919800000002"


async def test_a_check_that_sends_an_otp_is_never_resent(make_runtime, recorder: Recorder) -> None:
    """Reads are retried on a 500; a check that also sends the customer a code is not a read."""
    recorder.on("POST", "/v2/points/isTransferrable", Reply(500, {"errors": [{"code": 500, "message": "busy"}]}))
    runtime = make_runtime(guards="off", read_retries=2)
    async with Client(build_server(runtime)) as client:
        await client.call_tool("points_is_transferrable", CHECK_ARGS)
        assert len(recorder.calls("POST", "/v2/points/isTransferrable")) == 3
        await client.call_tool("points_is_transferrable", {**CHECK_ARGS, "issueOtp": True})
    assert len(recorder.calls("POST", "/v2/points/isTransferrable")) == 4


def test_the_terminal_asks_for_the_effect_of_this_call(recorder: Recorder, tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "CAP_MCP_BASE_URL": recorder.url, "CAP_MCP_USERNAME": "store.server",
           "CAP_MCP_PASSWORD": "server123", "CAP_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl")}  # fmt: skip

    def call(arguments: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "cap_mcp", "call", "points_is_transferrable", "--args", json.dumps(arguments)]
        return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, input="", timeout=60)

    plain = call(CHECK_ARGS)
    assert plain.returncode == 0 and len(recorder.calls("POST", "/v2/points/isTransferrable")) == 1
    refused = call({**CHECK_ARGS, "issueOtp": True})
    assert refused.returncode == 3 and "This call sends an OTP by SMS" in refused.stderr.splitlines()[0]
    assert len(recorder.calls("POST", "/v2/points/isTransferrable")) == 1
    [line] = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert (line["effect"], line["outcome"]) == ("destructive", "refused: no terminal")
