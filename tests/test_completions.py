"""completion/complete: values from the catalogue and the caller's policy only — never personal data."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from test_overview import sandbox_runtime

from cap_mcp import completions, prompts
from cap_mcp.policy import Policy
from cap_mcp.profiles import build_profile
from cap_mcp.sandbox import SandboxApp
from cap_mcp.sandbox.seed import COUPONS, CUSTOMERS, TRANSACTIONS
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
GUIDE = "capillary://guides/{toolset}"
OPERATION = "capillary://operations/{name}"
CUSTOMER = "capillary://customers/{identifierName}/{identifierValue}"

# Everything personal the sandbox knows: none of it may ever be offered.
PERSONAL = (
    {
        str(value)
        for c in CUSTOMERS
        for key, value in c.items()
        if key in ("userId", "firstName", "lastName", "mobile", "email", "externalId", "cardnumber")
    }
    | {f"{c['firstName']} {c['lastName']}" for c in CUSTOMERS}
    | {c["code"] for c in COUPONS}
    | {t["number"] for t in TRANSACTIONS}
)


def prompt(name: str) -> types.PromptReference:
    return types.PromptReference(name=name)


def template(uri: str) -> types.ResourceTemplateReference:
    return types.ResourceTemplateReference(uri=uri)


@pytest.mark.parametrize("mode", MODES)
async def test_completions_offer_catalogue_values(catalog, tmp_path, mode: str) -> None:
    runtime = sandbox_runtime(SandboxApp(catalog), tmp_path)
    cases: list[tuple[Any, str, str, list[str]]] = [
        (prompt("points_missing_on_bill"), "identifierName", "e", ["email", "externalId"]),
        (prompt("coupon_wont_apply"), "identifierName", "", ["mobile", "email", "externalId"]),
        (prompt("points_missing_on_bill"), "identifierValue", "9198", []),
        (prompt("move_points_in_family"), "fromMobile", "9", []),
        (prompt("coupon_wont_apply"), "couponCode", "WEL", []),
        (prompt("no_such_prompt"), "identifierName", "", []),
        (template(GUIDE), "toolset", "po", ["points"]),
        (template(GUIDE), "toolset", "CUSTOMER_", ["customer_labels", "customer_walkin"]),
        (template(OPERATION), "name", "points_tr", ["points_transfer", "points_transfer_history"]),
        (template(CUSTOMER), "identifierName", "c", ["cardnumber", "cardExternalId"]),
        (template(CUSTOMER), "identifierValue", "a", []),
        (template("capillary://nothing/{x}"), "x", "", []),
    ]
    async with Client(build_server(runtime), mode=mode) as client:
        for ref, argument, typed, expected in cases:
            got = await client.complete(ref, {"name": argument, "value": typed})
            assert got.completion.values == expected, (ref, argument, typed)
            assert got.completion.total == len(expected) and got.completion.has_more is False


async def test_completions_follow_the_callers_policy(make_runtime) -> None:
    async with Client(build_server(make_runtime(read_only=True, toolsets=("points",), discovery="selected"))) as c:
        operations = (await c.complete(template(OPERATION), {"name": "name", "value": "points_"})).completion.values
        toolsets = (await c.complete(template(GUIDE), {"name": "toolset", "value": ""})).completion.values
        overview = (await c.complete(template(CUSTOMER), {"name": "identifierName", "value": ""})).completion.values
        hidden = (await c.complete(prompt("move_points_in_family"), {"name": "fromMobile", "value": ""})).completion
    assert "points_transfer" not in operations and "points_transfer_history" in operations
    assert toolsets == ["points"]
    assert overview == [], "the customer template is not there for this caller"
    assert hidden.values == []


async def test_many_values_are_capped_at_a_hundred(make_runtime) -> None:
    async with Client(build_server(make_runtime())) as client:
        got = (await client.complete(template(OPERATION), {"name": "name", "value": ""})).completion
    assert len(got.values) == 100 and got.total is not None and got.total > 100 and got.has_more


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    data=st.data(),
    typed=st.one_of(
        st.sampled_from(sorted(PERSONAL)).map(lambda s: s[: max(0, len(s) // 2)]),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789@._-", max_size=6),
    ),
)
def test_no_completion_is_ever_personal(catalog, data: st.DataObject, typed: str) -> None:
    policy = Policy(build_profile(catalog, toolsets=("all",)), "all", False)
    refs: list[tuple[Any, str]] = [(template(GUIDE), "toolset"), (template(OPERATION), "name"),
                                   (template(CUSTOMER), "identifierName"), (template(CUSTOMER), "identifierValue")]  # fmt: skip
    refs += [(prompt(spec.name), arg.name) for spec in prompts.specs(catalog) for arg in spec.arguments]
    ref, argument = data.draw(st.sampled_from(refs))
    params = types.CompleteRequestParams(ref=ref, argument=types.CompletionArgument(name=argument, value=typed))
    values = completions.complete(catalog, policy, params).completion.values
    allowed = set(catalog.toolsets) | {op.name for op in policy.profile.operations}
    allowed |= {v for spec in prompts.specs(catalog) for a in spec.arguments for v in (a.choices or ())}
    allowed |= {"mobile", "email", "externalId", "cardnumber", "cardExternalId", "id"}
    assert not set(values) & PERSONAL
    assert set(values) <= allowed, "only catalogue names and enumerated values"
