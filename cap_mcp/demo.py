"""`cap-mcp demo`: a real MCP client walks a support-desk scenario against `cap-mcp serve --sandbox`.

It starts the server as a stdio subprocess, exactly as a chat client would, and
prints each step: what the agent asks, which tool runs, and a short result.
Confirmations are shown and answered by the demo's own elicitation handler.
The exit status is 0 only if every step did what it said.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client import ClientRequestContext

ASHA, BEN = "919800000001", "919800000002"


class StepFailed(Exception):
    pass


class Demo:
    def __init__(self, client: Client, out: Any) -> None:
        self.client = client
        self.out = out
        self.step = 0
        self.decide: bool = True

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def ask(self, request: str) -> None:
        self.step += 1
        self.say(f'\n[{self.step}] Agent: "{request}"')

    async def call(self, tool: str, arguments: dict[str, Any], *, expect_error: bool = False) -> dict[str, Any]:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in arguments.items())
        self.say(f"    -> {tool}({shown})")
        result = await self.client.call_tool(tool, arguments)
        data = result.structured_content or {}
        if bool(result.is_error) != expect_error:
            first = result.content[0] if result.content else None
            text = first.text if isinstance(first, types.TextContent) else ""
            raise StepFailed(f"{tool}: expected {'an error' if expect_error else 'success'}, got: {text[:300]}")
        return data

    def result(self, text: str) -> None:
        self.say(f"    <- {text}")

    async def on_elicit(self, ctx: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.say("    ? The server asks the person to confirm:")
        for line in params.message.splitlines():
            if line.strip():
                self.say(f"      | {line}")
        if self.decide:
            self.say("    ! The agent ticks 'Yes, do this'.")
            return types.ElicitResult(action="accept", content={"confirm": True})
        self.say("    ! The agent declines.")
        return types.ElicitResult(action="decline")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


async def scenario(demo: Demo) -> None:
    client = demo.client
    tools = (await client.list_tools()).tools
    counts = Counter(t.name.split("_")[0] if not t.name.startswith("customer_labels") else "customer_labels"
                     for t in tools)  # fmt: skip
    demo.step += 1
    demo.say(
        f"[{demo.step}] Connected to cap-mcp over stdio (protocol {client.protocol_version}): "
        f"{len(tools)} tools in the default support profile"
    )
    demo.say("    " + " · ".join(f"{name} {n}" for name, n in sorted(counts.items())))
    _check(len(tools) > 20 and {"customer", "points", "coupon", "transaction"} <= set(counts), "tools missing")

    demo.ask(f"Find the customer with mobile {ASHA}.")
    found = await demo.call(
        "customer_lookup", {"identifierName": "mobile", "identifierValue": ASHA, "source": "INSTORE"}
    )
    customer = found["data"]
    profile = customer["profiles"][0]
    user_id = customer["id"]
    demo.result(f"{profile['firstName']} {profile['lastName']}, user id {user_id}")
    _check(user_id == 5100001, "wrong customer")

    demo.ask("What are her points, tier and coupons?")
    loyalty = (await demo.call("customer_loyalty_details", {"customerId": user_id}))["data"]["data"][0]
    demo.result(
        f"{loyalty['loyaltyPoints']:g} points, tier {loyalty['currentSlab']} (lifetime {loyalty['lifetimePoints']:g})"
    )
    coupons = (await demo.call("customer_coupons", {"customerId": user_id}))["data"]["entity"]
    demo.result(
        "coupons: "
        + ", ".join(f"{c['code']} ({c['description']}, {'redeemed' if c['redeemed'] else 'unused'})" for c in coupons)
    )
    before = loyalty["loyaltyPoints"]
    _check(any(c["code"] == "WELCOME-ASHA-01" for c in coupons), "seeded coupon missing")

    demo.ask("She never got her birthday coupon. Re-issue it (series 3002).")
    issued = (await demo.call("coupon_issue", {"seriesId": 3002, "customer": {"id": user_id}}))["data"]
    demo.result(f"issued {issued['code']}: {issued['description']}, valid till {issued['validTill'][:10]}")
    _check(issued["seriesId"] == 3002, "coupon not issued")

    demo.ask(f"She wants to give 120 points to her husband Ben (mobile {BEN}). Check it and send her the OTP.")
    transfer = {"pointsTobeTransferred": 120, "fromCustomerIdentifier": {"type": "MOBILE", "value": ASHA},
                "toCustomerIdentifier": {"type": "MOBILE", "value": BEN}}  # fmt: skip
    checked = (await demo.call("points_is_transferrable", {**transfer, "issueOtp": True}))["data"]
    otp = checked["sandbox"]["otp"]
    demo.result(
        f"transferrable: {checked['data'][0]['transferrable']}; OTP sent to her phone (the sandbox shows it: {otp})"
    )

    demo.ask(f"She reads out the code {otp}. Transfer the points.")
    done = (await demo.call("points_transfer", {**transfer, "code": otp}))["data"]["data"][0]
    demo.result(
        f"transfer {done['transferId']}: {done['pointsTransferred']:g} points from "
        f"{done['transferredFrom']['firstName']} to {done['transferredTo']['firstName']}"
    )

    demo.ask("Now move 5000 more points to Ben.")
    demo.decide = False  # the preview shows she does not have them: the agent declines
    big = {**transfer, "pointsTobeTransferred": 5000, "code": otp}
    refused = await demo.call("points_transfer", big, expect_error=True)
    demo.result(f"not executed ({refused.get('reason', 'declined')})")
    demo.decide = True

    demo.ask("What are both balances now?")
    after = {}
    for name, mobile in (("Asha", ASHA), ("Ben", BEN)):
        args = {"identifierName": "mobile", "identifierValue": mobile, "source": "INSTORE"}
        details = (await demo.call("customer_lookup_loyalty_details", args))["data"]["data"][0]
        after[name] = details["loyaltyPoints"]
        demo.result(f"{name}: {details['loyaltyPoints']:g} points, tier {details['currentSlab']}")
    _check(after["Asha"] == before - 120, "Asha's balance did not drop by 120")
    _check(after["Ben"] == 460, "Ben's balance did not rise by 120")


async def _run(out: Any) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        audit = Path(tmp) / "audit.jsonl"
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "cap_mcp", "serve", "--sandbox"],
            env={"CAP_MCP_AUDIT_LOG": str(audit)},
        )
        print(
            "cap-mcp demo: a support-desk session against the built-in sandbox (no credentials, no network)",
            file=out,
            flush=True,
        )
        demo: Demo | None = None

        async def on_elicit(
            context: ClientRequestContext, params: types.ElicitRequestParams
        ) -> types.ElicitResult | types.ErrorData:
            assert demo is not None
            return await demo.on_elicit(context, params)

        try:
            async with Client(params, elicitation_callback=on_elicit) as client:
                demo = Demo(client, out)
                await scenario(demo)
        except StepFailed as exc:
            print(f"\nDEMO FAILED: {exc}", file=out, flush=True)
            return 1
        lines = [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
        recorded = ", ".join(f"{x['tool']}: {x['outcome']}" for x in lines)
        print(f"\nAudit log: {len(lines)} guarded calls recorded ({recorded}).", file=out)
        print("Every step did what it said.", file=out, flush=True)
        return 0


def run_demo(out: Any = None) -> int:
    return anyio.run(_run, out or sys.stdout)
