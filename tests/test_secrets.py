"""Secrets known to the catalogue: marked in the data, masked everywhere arguments are shown, never logged.

The catalogue marks secret schema nodes `"x-secret": true`; `cap_mcp.redaction.redact` masks them
(and, as a second net, keys whose names say secret) in audit lines, previews and validation messages.
The big test below sends every guarded tool marker values through a real MCP client and checks that no
secret marker reaches the audit file or the server's log, whatever the person decides.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import logging
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import BASIC_HEADER, BASIC_PASSWORD, BASIC_USER, ROOT, answering
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from recorder import Recorder, Reply

from cap_mcp.catalog import Catalog, CatalogError, Operation, load_catalog, schema_dir
from cap_mcp.client import CapillaryClient
from cap_mcp.config import ConfigError, load_settings
from cap_mcp.logsetup import LogConfigError, parse_levels, scrub
from cap_mcp.previews import render_summary
from cap_mcp.redaction import MASK, is_secret_name, redact, redact_url, without_query
from cap_mcp.server import build_server
from cap_mcp.validation import argument_errors

pytestmark = pytest.mark.anyio

SECRET_PREFIX = "SECRETMARK"

# --- the second net: names that say secret ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True), ("newPassword", True), ("confirmPassword", True), ("passwd", True),
        ("passcode", True), ("accessToken", True), ("expiredToken", True), ("cap_authorization", True),
        ("Authorization", True), ("X-CAP-API-OAUTH-TOKEN", True), ("validation_code", True),
        ("validationCode", True), ("otp", True), ("otpCode", True), ("client_secret", True),
        ("credentials", True), ("cvv", True), ("x-api-key", True), ("pin", True), ("userPin", True),
        ("mpin", True), ("PIN", True), ("confirmation_token", True),
        # Ordinary things that only sound alike.
        ("pincode", False), ("pinCode", False), ("pin_code", False), ("spinner", False), ("footprint", False),
        ("tokenType", False), ("otp_type", False), ("expirationTokenTime", False), ("code", False),
        ("storeCode", False), ("key", False), ("keyName", False), ("sessionId", False), ("mobile", False),
        ("Content-Type", False),
    ],
)  # fmt: skip
def test_names_that_say_secret(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


# --- redact: the marks first, then the names ------------------------------------------------------------


def test_redact_masks_marked_paths_at_any_depth_and_leaves_the_input_alone(catalog: Catalog) -> None:
    op = catalog.get("event_notifications_create_webhook")
    assert op is not None and op.secret_paths == {"webHookHeaders.*"}
    arguments = {"name": "hook", "webHookHeaders": {"X-Signature": "s3cr3t-value", "Content-Type": "json"}}
    before = copy.deepcopy(arguments)
    shown = redact(op, arguments)
    assert shown == {"name": "hook", "webHookHeaders": {"X-Signature": MASK, "Content-Type": MASK}}
    assert arguments == before


def test_redact_follows_array_items_and_nested_objects(catalog: Catalog) -> None:
    op = catalog.get("org_add_source_account")
    assert op is not None and op.secret_paths == {"configs.accessToken", "configs.licenseCode"}
    shown = redact(op, {"configs": {"accessToken": "tok-1", "licenseCode": "lic-1", "ios": "1"}, "orgId": 5})
    assert shown == {"configs": {"accessToken": MASK, "licenseCode": MASK, "ios": "1"}, "orgId": 5}
    fake = Operation(name="demo_x", toolset="demo", title="x", description="x", method="POST", path="/x",
                     effect="write", args=(), example={}, reference={},
                     secret_paths=frozenset({"payload.*.pin_value"}))  # fmt: skip
    assert redact(fake, {"payload": [{"pin_value": 1234, "n": 1}, {"n": 2}]}) == {
        "payload": [{"pin_value": MASK, "n": 1}, {"n": 2}]
    }


def test_redact_without_marks_still_masks_names_that_say_secret() -> None:
    shown = redact(None, {"extra": {"client_secret": "cs", "apiToken": ["a", "b"]}, "issueOtp": True, "code": "C1"})
    # A boolean says nothing secret; a bare `code` is left to the catalogue to judge.
    assert shown == {"extra": {"client_secret": MASK, "apiToken": MASK}, "issueOtp": True, "code": "C1"}


def test_urls_lose_their_credentials_and_their_queries() -> None:
    assert redact_url("https://user:hunter2@intouch.example/v1") == "https://***@intouch.example/v1"
    assert redact_url("user:hunter2@intouch.example") == "***@intouch.example"
    assert redact_url("https://intouch.example/v1") == "https://intouch.example/v1"
    assert without_query("https://u:p@h.example/v1.1/points/isredeemable?validation_code=1234&mobile=9198") == (
        "https://***@h.example/v1.1/points/isredeemable?***"
    )


# --- the loader: marks collected, stripped from what the model sees, checked -------------------------------

SECRET_OP: dict[str, Any] = {
    "name": "demo_login",
    "title": "Log in",
    "description": "Logs a customer in, for tests.",
    "reference": {"doc": "v2/_demo.md", "headings": ["Login"]},
    "method": "POST",
    "path": "/v2/login/{id}",
    "effect": "write",
    "summary": "Log in {id}",
    "verify_reason": "a test operation",
    "args": {
        "id": {"in": "path", "required": True, "schema": {"type": "integer"}},
        "password": {"in": "body", "schema": {"x-secret": True, "type": "string"}},
        "devices": {
            "in": "body",
            "schema": {"type": "array", "items": {"type": "object", "properties": {
                "pushKey": {"x-secret": True, "type": "string"}, "name": {"type": "string"}}}},
        },
        "headers": {"in": "body", "schema": {"type": "object", "additionalProperties": {"$ref": "#/$defs/hidden"}}},
    },
    "example": {"arguments": {"id": 1}, "response": {}},
}  # fmt: skip


def _write(tmp_path: Path, op: dict[str, Any]) -> Path:
    shutil.copy(schema_dir() / "meta.schema.json", tmp_path / "meta.schema.json")
    document = {"toolset": "demo", "section": "demo", "title": "Demo", "description": "Demo toolset.",
                "$defs": {"hidden": {"x-secret": True, "type": "string"}}, "operations": [op]}  # fmt: skip
    (tmp_path / "demo.json").write_text(json.dumps(document))
    return tmp_path


def test_the_loader_collects_marks_and_strips_them(tmp_path: Path) -> None:
    op = load_catalog(_write(tmp_path, SECRET_OP)).get("demo_login")
    assert op is not None
    assert op.secret_paths == {"password", "devices.*.pushKey", "headers.*"}
    assert "x-secret" not in json.dumps(op.input_schema)
    assert op.input_schema["properties"]["password"] == {"type": "string"}


@pytest.mark.parametrize("validate", [True, False], ids=["with meta-schema", "loader rules alone"])
def test_the_loader_refuses_a_mark_that_is_not_true(tmp_path: Path, validate: bool) -> None:
    op = copy.deepcopy(SECRET_OP)
    op["args"]["password"]["schema"]["x-secret"] = "yes"
    with pytest.raises(CatalogError, match=r"x-secret|True was expected"):
        load_catalog(_write(tmp_path, op), validate=validate)


def test_the_loader_refuses_a_secret_in_the_url_path(tmp_path: Path) -> None:
    op = copy.deepcopy(SECRET_OP)
    op["args"]["id"]["schema"]["x-secret"] = True
    with pytest.raises(CatalogError, match="never goes in the URL path"):
        load_catalog(_write(tmp_path, op))


# --- the catalogue marks every secret -------------------------------------------------------------------

# Words that make an argument look like a secret, in its name or its description.
SUSPICIOUS = {"password", "passwords", "passwd", "passcode", "token", "tokens", "otp", "otps", "code", "codes",
              "secret", "secrets", "authorization", "authorisation", "pin", "pins", "cvv", "credential",
              "credentials"}  # fmt: skip

# Arguments that look like secrets and are not, each rule with its reason. A rule matches the leaf's name
# (`name`), its description (`description`) or the tool and path exactly (`at`).
NOT_SECRETS: list[tuple[str, str, str]] = [
    ("name", r"^(store|till|zone|concept|series|item|currency|hierarchy|hierarchyDefinition|role|childRole|entity"
             r"|ref)_?[Cc]ode$",
     "names one of the org's own records (store, till, zone, concept, card series, item, currency, hierarchy, "
     "role, reference): an identifier printed on bills and screens"),
    ("name", r"^(card_series|shipping_source_till|base_item|associate|ticket)_code$",
     "names one of the org's own records (a card series, till, item, cashier or associate, support ticket)"),
    ("name", r"^(discount|generic|referral|promotion|coupon)_?[Cc]odes?$",
     "a coupon, discount, referral or promotion code is handed to customers to share or redeem, and a "
     "confirmation must show which one"),
    ("description", r"(?i)\b(coupon|card series|hierarchy|role|associate|store|till|referral|promotion) codes?\b",
     "the description says which record the code names (coupon, till, store, hierarchy, role...)"),
    ("at", r"^coupon_is_redeemable code\.\*$", "coupon codes to check, as coupon_redeem's"),
    ("at", r"^card_loyalty_(create|update)_series code$", "the card series' own code"),
    ("at", r"^transaction_add(_bulk)? (payload\.\*\.)?attribution\.createdBy\.code$",
     "the till, store or zone that created the bill (its type says which)"),
    ("description", r"\bISO\b", "an ISO language or currency code"),
    ("description", r"\{\{\s*\w*code\s*\}\}",
     "a message template: Capillary puts the code where the placeholder is; the code itself is not in it"),
    ("name", r"(Length|Time|^threshold)$", "a length, lifetime or age limit, not a value"),
    ("name", r"Type$", "a kind of handling, not a value"),
    ("name", r"(^id|Id)$", "the id of a record"),
    ("at", r"commChannels\.\*\.value$",
     "a channel address (mobile, email or a device's push registration id): where messages go; it "
     "authorises nothing"),
    ("at", r"^customer_trai_consent_(add|update) mobile$",
     "the mobile an OTP went to: personal data (partly masked in audit lines), not the OTP"),
    ("name", r"^cap_(brand|device_id)$",
     "the brand and device a customer's token was made for; without the token (cap_authorization, marked) "
     "they authorise nothing"),
    ("name", r"^campaign_?[Tt]oken$", "a referral campaign's public token, put into share links"),
    ("at", r"^v11_coupon_get code\.\*$", "coupon codes to look up, as coupon_is_redeemable's"),
    ("description", r"(?i)\bcountry code\b", "a number written with its country code"),
]  # fmt: skip


def _words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"[A-Za-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text))}


def _leaves(schema: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every value node under an argument, with its dotted path (`*` = array item or map value)."""
    if not isinstance(schema, dict):
        return
    children = [(f"{path}.{key}", sub) for key, sub in (schema.get("properties") or {}).items()]
    children += [(f"{path}.*", schema[key]) for key in ("items", "additionalProperties")
                 if isinstance(schema.get(key), dict)]  # fmt: skip
    children += [(path, sub) for key in ("anyOf", "oneOf") for sub in schema.get(key) or []]
    if not children:
        yield path, schema
    for child_path, child in children:
        yield from _leaves(child, child_path)


def _marked(op: Operation, path: str) -> bool:
    parts = path.split(".")
    return any(
        len(marked.split(".")) <= len(parts)
        and all(w in (g, "*") for w, g in zip(marked.split("."), parts, strict=False))
        for marked in op.secret_paths
    )


def _reason(op: Operation, path: str, name: str, description: str) -> str | None:
    for kind, pattern, reason in NOT_SECRETS:
        subject = {"name": name, "description": description, "at": f"{op.name} {path}"}[kind]
        if re.search(pattern, subject):
            return reason
    return None


def test_every_argument_that_looks_secret_is_marked_or_explained(catalog: Catalog) -> None:
    unexplained, explained = [], 0
    for op in catalog:
        for arg in op.args:
            for path, node in _leaves(dict(arg.schema), arg.name):
                if node.get("type") == "boolean" or "enum" in node or "const" in node:
                    continue  # a flag or one of listed values holds no secret
                name = next(part for part in reversed(path.split(".")) if part != "*")
                description = str(node.get("description", ""))
                if not (_words(name) | _words(description)) & SUSPICIOUS or _marked(op, path):
                    continue
                if _reason(op, path, name, description) is None:
                    unexplained.append(f"{op.name}: {path} ({description or 'no description'})")
                else:
                    explained += 1
    assert not unexplained, (
        'arguments that look like secrets: mark them "x-secret": true in tool_schemas, or add a reasoned '
        "rule to NOT_SECRETS:\n" + "\n".join(unexplained)
    )
    assert explained > 50  # the rules are in use, not dead


def test_known_secrets_are_marked(catalog: Catalog) -> None:
    expected = {
        "otp_validate": "code", "points_transfer": "code", "points_redeem": "validation_code",
        "points_is_redeemable": "validation_code", "staff_user_create": "password",
        "staff_user_change_password": "accessToken", "staff_user_logout": "accessToken",
        "user_auth_authorize": "password", "auth_engine_change_password": "newPassword",
        "auth_engine_regenerate_token": "expiredToken", "rewards_issue": "cap_authorization",
        "customer_trai_consent_add": "validationCode",
    }  # fmt: skip
    for tool, path in expected.items():
        op = catalog.get(tool)
        assert op is not None and path in op.secret_paths, tool
    # A coupon code is what a person confirms: it is shown, not masked.
    assert not catalog.get("coupon_redeem").secret_paths  # type: ignore[union-attr]


# --- the model never sees the marks ----------------------------------------------------------------------

PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    "all": {"toolsets": ("all",)},
    "read_only": {"read_only": True, "toolsets": ("all",)},
    "dynamic": {"dynamic": True, "toolsets": ("all",)},
    "support": {"toolsets": ("support",)},
}


@pytest.mark.parametrize("profile", list(PROFILES))
async def test_tools_list_never_shows_the_mark(make_runtime, catalog: Catalog, profile: str) -> None:
    async with Client(build_server(make_runtime(**PROFILES[profile]))) as client:
        tools = (await client.list_tools()).tools
        listed = json.dumps([t.model_dump(mode="json") for t in tools])
        assert tools and "x-secret" not in listed
        if profile == "dynamic":
            for op in (op for op in catalog if op.secret_paths):
                described = await client.call_tool("describe_operation", {"name": op.name})
                assert not described.is_error and "x-secret" not in described.model_dump_json()
    assert "x-secret" not in json.dumps([op.describe() for op in catalog])  # `cap-mcp tools --json`


# --- every guarded tool, three ways, through a real client: no secret in the audit file or the log ---------


def _child(schema: Any, key: str) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    if key == "*" and isinstance(schema.get("items"), dict):
        return dict(schema["items"])
    if key != "*" and key in (schema.get("properties") or {}):
        return dict(schema["properties"][key])
    extra = schema.get("additionalProperties")
    return dict(extra) if isinstance(extra, dict) else {}


def marked_arguments(op: Operation) -> tuple[dict[str, Any], list[str]]:
    """The tool's example with every free string replaced by a unique marker; secrets by SECRETMARK ones.

    Secret paths the example leaves out are added. A secret with a pattern (an MD5 hex password) gets a
    marker that fits it. Returns the arguments and the secret values used.
    """
    counter = itertools.count(1)
    secrets: list[str] = []

    def visit(value: Any, schema: dict[str, Any], parts: list[str]) -> Any:
        if isinstance(value, dict):
            return {k: visit(v, _child(schema, k), [*parts, k]) for k, v in value.items()}
        if isinstance(value, list):
            return [visit(v, _child(schema, "*"), [*parts, "*"]) for v in value]
        if not isinstance(value, str):
            return value
        n = next(counter)
        if _marked(op, ".".join(parts)):
            marker = f"{SECRET_PREFIX}-{op.name}-{n}"
            if "pattern" in schema:
                marker = hashlib.md5(marker.encode()).hexdigest()
            secrets.append(marker)
            return marker
        free = not any(key in schema for key in ("enum", "const", "pattern", "format", "maxLength"))
        return f"SECRET-{op.name}-{n}" if free else value

    arguments = copy.deepcopy(dict(op.example.get("arguments", {})))
    for path in sorted(op.secret_paths):
        *parents, last = path.split(".")
        node: Any = arguments
        for part in parents:
            if part == "*" or not isinstance(node, dict):
                break
            node = node.setdefault(part, {})
        else:
            if isinstance(node, dict) and last == "*" and not node:
                node["X-Signature"] = "placeholder"
            elif isinstance(node, dict) and last != "*":
                node.setdefault(last, "placeholder")
    return visit(arguments, op.input_schema, []), secrets


def _guarded(catalog: Catalog) -> list[Operation]:
    return [op for op in catalog if op.effect != "read"]


def test_the_marker_arguments_are_valid_and_carry_every_secret(catalog: Catalog) -> None:
    for op in [*_guarded(catalog), *(op for op in catalog if op.secret_paths)]:
        arguments, secrets = marked_arguments(op)
        assert argument_errors(op, arguments) == [], op.name
        assert len(secrets) >= len(op.secret_paths), op.name


@pytest.fixture
def full_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything at DEBUG, the HTTP libraries included."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "mcp", "cap_mcp"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _everything_sent(recorder: Recorder) -> str:
    return "\n".join(f"{r.path} {r.query} {r.headers} {r.body.decode('utf-8', 'replace')}" for r in recorder.requests)


@pytest.mark.parametrize("run", ["refused", "declined", "executed"])
async def test_no_secret_reaches_the_audit_file_or_the_log(
    make_runtime, recorder: Recorder, audit_path: Path, catalog: Catalog, full_log: pytest.LogCaptureFixture,
    run: str,
) -> None:  # fmt: skip
    """refused: no elicitation, the first call only gets a confirmation token; declined / executed: the
    person answers the elicitation form. Either way the secrets stay out of the audit file and the log."""
    guarded = _guarded(catalog)
    reads = [op for op in catalog if op.effect == "read" and op.secret_paths] if run == "executed" else []
    callback = None if run == "refused" else answering("decline" if run == "declined" else "accept")
    sent: dict[str, list[str]] = {}
    async with Client(build_server(make_runtime(toolsets=("all",))), elicitation_callback=callback) as client:
        for op in [*guarded, *reads]:
            arguments, secrets = marked_arguments(op)
            sent[op.name] = secrets
            result = await client.call_tool(op.name, arguments)
            status = (result.structured_content or {}).get("status")
            assert status != "invalid_arguments", (op.name, result.content)
            text = result.model_dump_json()  # previews and refusals, as the model gets them
            assert not any(secret in text for secret in secrets), op.name
            if run == "refused":
                assert status == "confirmation_required", op.name
            elif run == "declined":
                assert status == "not_executed", op.name

    audit = audit_path.read_text()
    lines = [json.loads(line) for line in audit.splitlines()]
    escalated = [op for op in reads if op.effect_for(marked_arguments(op)[0]) != "read"]  # e.g. a check sending an OTP
    assert len(lines) == len(guarded) + len(escalated)
    outcome = {"refused": "token issued", "declined": "declined", "executed": "executed"}[run]
    assert all(line["outcome"].startswith(outcome) for line in lines)
    secrets = [secret for values in sent.values() for secret in values]
    assert not [secret for secret in secrets if secret in audit]
    assert not [secret for secret in secrets if secret in full_log.text]
    assert SECRET_PREFIX not in audit and SECRET_PREFIX not in full_log.text
    if run == "executed":
        # Not vacuous: every secret did go to "Capillary", and the HTTP libraries did log the requests.
        wire = _everything_sent(recorder)
        assert not [secret for secret in secrets if secret not in wire]
        assert "HTTP Request:" in full_log.text and "?***" in full_log.text
        masked = [line for line in lines if MASK in json.dumps(line["arguments"])]
        assert {line["tool"] for line in masked} >= {
            op.name for op in guarded if op.secret_paths and op.effect != "read"
        }
        # Every operation with a secret ran: 140 guarded tools (23 with 37 secret paths) and 5 reads with 5.
        assert {op.name for op in catalog if op.secret_paths} <= set(sent)
    assert len(guarded) >= 140


# --- messages that quote arguments ----------------------------------------------------------------------


async def test_validation_messages_never_quote_a_secret(make_runtime) -> None:
    async with Client(build_server(make_runtime(toolsets=("all",)))) as client:
        wrong_type = await client.call_tool("otp_validate", {"code": 4829.13, "entityType": "MOBILE",
                                                             "entityValue": "919800000001", "action": "POINTS"})  # fmt: skip
        not_md5 = await client.call_tool("user_auth_authorize", {"mobile": "919800000001", "password": "hunter2"})
        in_an_object = await client.call_tool("staff_user_logout", {"accessToken": {"value": "tok-991"}})
        ordinary = await client.call_tool("points_transfer", {"pointsTobeTransferred": "lots"})
    assert "'code' must be of type string, got a float" in wrong_type.content[0].text
    assert "4829" not in wrong_type.model_dump_json()
    assert "'password' does not meet pattern" in not_md5.content[0].text and "hunter2" not in not_md5.model_dump_json()
    assert "got a dict" in in_an_object.content[0].text and "tok-991" not in in_an_object.model_dump_json()
    # Values that are not secret are still quoted: that is what makes the message useful.
    assert "got str 'lots'" in ordinary.content[0].text


def test_previews_show_stars_for_secrets(catalog: Catalog) -> None:
    validate = catalog.get("staff_user_validate_otp")
    assert validate is not None
    validate = dataclasses.replace(validate, summary="Validate OTP {otp} for {identifierType} of {username}")
    text = render_summary(validate, {"otp": "771234", "identifierType": "MOBILE", "username": "asha"})
    assert "OTP ***" in text and "771234" not in text
    logout = catalog.get("staff_user_logout")
    assert logout is not None
    assert "tok-9" not in render_summary(logout, {"accessToken": "tok-9"})
    no_template = catalog.get("points_is_redeemable")
    assert no_template is not None
    no_template = dataclasses.replace(no_template, summary=None)  # without a summary: the argument digest
    digest = render_summary(no_template, {"points": 10, "validation_code": "553311"})
    assert "validation_code ***" in digest and "553311" not in digest


# --- configuration errors and logs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host_urls",
    ["nope=https://ops:hunter2@intouch.example", "https://ops:hunter2@intouch.example", "auth=ops:hunter2@h.example"],
)
def test_configuration_errors_never_echo_url_credentials(host_urls: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(base_url="http://127.0.0.1:9", username="u", password="p", host_urls=host_urls)
    message = str(caught.value)
    assert "CAP_MCP_HOST_URLS" in message and "hunter2" not in message and "ops" not in message
    assert "***@" in message


def test_the_configuration_error_from_the_command_line_hides_credentials(tmp_path: Path) -> None:
    import subprocess

    env = {"PATH": "/usr/bin:/bin", "CAP_MCP_BASE_URL": "http://127.0.0.1:9", "CAP_MCP_USERNAME": "u",
           "CAP_MCP_PASSWORD": "p", "CAP_MCP_HOST_URLS": "intouch=ftp://ops:hunter2@intouch.example",
           "CAP_MCP_AUDIT_LOG": str(tmp_path / "a.jsonl")}  # fmt: skip
    ran = subprocess.run([sys.executable, "-m", "cap_mcp", "serve"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert ran.returncode == 2 and "configuration error" in ran.stderr
    assert "hunter2" not in ran.stderr and "intouch=ftp://***@intouch.example" in ran.stderr


async def test_the_client_repr_hides_url_credentials(catalog: Catalog) -> None:
    settings = load_settings(base_url="https://ops:hunter2@gateway.example", username="u", password="p")
    async with CapillaryClient(settings, catalog) as client:
        assert "hunter2" not in repr(client) and "https://***@gateway.example" in repr(client)


def test_scrub_cuts_queries_credentials_and_secret_headers() -> None:
    line = 'HTTP Request: GET http://127.0.0.1:8/v1.1/points/isredeemable?validation_code=4321&mobile=9198 "200 OK"'
    assert scrub(line) == 'HTTP Request: GET http://127.0.0.1:8/v1.1/points/isredeemable?*** "200 OK"'
    assert scrub(f"Authorization: {BASIC_HEADER}") == "Authorization: ***"
    assert scrub("header Bearer abc.def-ghi seen") == "header Bearer *** seen"
    headers = "[(b'Content-Type', b'application/json'), (b'X-CAP-API-ACCESS-TOKEN', b'tok-77')]"
    assert scrub(headers) == "[(b'Content-Type', b'application/json'), (b'X-CAP-API-ACCESS-TOKEN', b'***')]"


def test_log_levels_parse_with_named_loggers() -> None:
    assert parse_levels("debug") == (logging.DEBUG, {})
    assert parse_levels("INFO,httpx=DEBUG") == (logging.INFO, {"httpx": logging.DEBUG})
    with pytest.raises(LogConfigError, match="unknown level 'LOUD'"):
        parse_levels("LOUD")


OTP, STAFF_TOKEN = "OTP-771199", "STAFFTOKEN-5521"


@pytest.mark.parametrize("levels", ["DEBUG", "DEBUG,httpx=DEBUG,httpcore=DEBUG"])
async def test_debug_over_stdio_logs_no_otp_and_no_authorization_header(
    recorder: Recorder, tmp_path: Path, levels: str
) -> None:
    """The real command at DEBUG (and with the HTTP libraries asked for explicitly): stderr keeps no secret."""
    env = {"CAP_MCP_BASE_URL": recorder.url, "CAP_MCP_USERNAME": BASIC_USER, "CAP_MCP_PASSWORD": BASIC_PASSWORD,
           "CAP_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl"), "CAP_MCP_TOOLSETS": "all"}  # fmt: skip
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "cap_mcp", "--log-level", levels, "serve"], cwd=str(ROOT), env=env
    )
    calls: list[tuple[str, dict[str, Any]]] = [
        ("points_is_redeemable", {"points": 10, "mobile": "919800000001", "validation_code": OTP}),
        ("points_redeem", {"points_redeemed": 10, "customer": {"mobile": "919800000001"}, "validation_code": OTP,
                           "transaction_number": "BILL-1"}),
        ("staff_user_logout", {"accessToken": STAFF_TOKEN}),
    ]  # fmt: skip
    with (tmp_path / "stderr.txt").open("w+") as errors:
        async with Client(stdio_client(params, errlog=errors)) as client:
            for tool, arguments in calls:
                result = await client.call_tool(tool, arguments)
                content = result.structured_content or {}
                if content.get("status") == "confirmation_required":
                    token = content["confirmation_token"]
                    result = await client.call_tool(tool, {**arguments, "confirmation_token": token})
                assert not result.is_error, result.content
        await anyio.sleep(0)
        errors.seek(0)
        stderr = errors.read()
    assert len(recorder.calls()) == 4  # the redeem preview reads is_redeemable first
    assert recorder.calls()[-1].header("X-CAP-API-ACCESS-TOKEN") == STAFF_TOKEN
    assert "points_is_redeemable (GET /v1.1/points/isredeemable) -> 200" in stderr  # DEBUG did log
    for secret in (OTP, STAFF_TOKEN, BASIC_HEADER, BASIC_HEADER.split()[1], BASIC_PASSWORD, "919800000001"):
        assert secret not in stderr, secret
    assert ("HTTP Request:" in stderr) is ("httpx=DEBUG" in levels)


RESULT_TOKEN, BEARER = "CAPRESULT-TOKEN-3141", "bearer-for-alice-2718"


@pytest.mark.parametrize("levels", ["DEBUG", "DEBUG,sse_starlette=DEBUG,httpx=DEBUG,httpcore=DEBUG"])
async def test_debug_over_http_logs_no_bearer_no_otp_and_no_result(
    recorder: Recorder, tmp_path: Path, levels: str
) -> None:
    """Over Streamable HTTP at DEBUG: a rejected and an accepted bearer token, an OTP in a query string and a
    token in Capillary's answer (streamed back as a result) all stay out of stderr."""
    import socket
    import subprocess

    import httpx
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    recorder.on("POST", "/v2/staff/accessToken", lambda item: Reply(200, {"token": RESULT_TOKEN, "errors": []}))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"PATH": "/usr/bin:/bin", "CAP_MCP_BASE_URL": recorder.url, "CAP_MCP_USERNAME": BASIC_USER,
           "CAP_MCP_PASSWORD": BASIC_PASSWORD, "CAP_MCP_HTTP_TOKEN": f"alice:{BEARER}", "CAP_MCP_TOOLSETS": "all",
           "CAP_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl")}  # fmt: skip
    command = [sys.executable, "-m", "cap_mcp", "--log-level", levels, "serve", "--transport", "http", "--port",
               str(port)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "stderr.txt").open("w+") as errors:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=errors)
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                for _ in range(200):
                    try:
                        await http.get(url + "/healthz")
                        break
                    except httpx.TransportError:
                        await anyio.sleep(0.05)
                init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25",
                        "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
                rejected = await http.post(url + "/mcp", json=init, headers={
                    "Accept": "application/json, text/event-stream", "Authorization": "Bearer rejected-bearer-1618"})  # fmt: skip
                assert rejected.status_code == 401
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {BEARER}"}, timeout=30) as http2,
                Client(
                    streamable_http_client(url + "/mcp", http_client=http2), mode="legacy"
                ) as client,  # results go as SSE
            ):
                read = await client.call_tool("points_is_redeemable", {"points": 1, "mobile": "919800000001",
                                                                       "validation_code": OTP})  # fmt: skip
                assert not read.is_error
                first = await client.call_tool("staff_user_access_token", {})
                token = (first.structured_content or {})["confirmation_token"]
                issued = await client.call_tool("staff_user_access_token", {"confirmation_token": token})
                assert RESULT_TOKEN in issued.model_dump_json()  # the model gets Capillary's answer...
        finally:
            process.terminate()
            process.wait(10)
        errors.seek(0)
        stderr = errors.read()
    assert "staff_user_access_token (POST /v2/staff/accessToken) -> 200" in stderr  # DEBUG did log
    for secret in (RESULT_TOKEN, BEARER, "rejected-bearer-1618", OTP, BASIC_HEADER.split()[1], "919800000001"):
        assert secret not in stderr, secret  # ...the log does not
    assert ("chunk: " in stderr) is ("sse_starlette=DEBUG" in levels)
