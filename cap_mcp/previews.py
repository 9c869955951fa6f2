"""Plain-language previews of guarded calls, so a person can decide.

Every guarded operation has a `summary` template in its data; a call whose arguments
trigger a stronger effect (`effect_when`: credits points, sends an OTP, merges
accounts) leads with that consequence. Operations that
move value also read first, where Capillary allows it (balance, isTransferrable,
is_redeemable), and the preview shows what was found. A failed read is said in
the preview; the person is still asked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog, Operation
from .client import CapillaryClient
from .envelope import Outcome
from .redaction import redact
from .request_builder import get_dotted
from .templates import argument_digest, render

log = logging.getLogger("cap_mcp.previews")


@dataclass
class Preview:
    """What the person is asked to confirm: the bigger consequences first, then the summary and what was read."""

    summary: str
    facts: list[str] = field(default_factory=list)
    consequences: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        lines = [f"⚠ {line}" for line in self.consequences]
        lines.append(self.summary)
        lines += [f"- {fact}" for fact in self.facts]
        return "\n".join(lines)


def render_summary(op: Operation, arguments: dict[str, Any]) -> str:
    """Fill the operation's summary template; without one, a short list of the arguments. Secrets show as ***."""
    arguments = redact(op, arguments)
    if not op.summary:
        return f"{op.title}: " + argument_digest(arguments)
    return render(op.summary, arguments)


def consequence_lines(op: Operation, arguments: dict[str, Any]) -> list[str]:
    """One sentence per conditional effect these arguments trigger, e.g. "This call also credits 5000 points ..."."""
    # After a change's summary the consequence is an addition; after a check, or a change that is itself
    # destructive, it says what the call really does.
    lead = "This call also" if op.effect == "write" else "This call"
    return [f"{lead} {_sentence(phrase)}" for phrase in op.consequences(arguments)]


def _sentence(phrase: str) -> str:
    phrase = phrase.strip()
    return phrase if phrase.endswith((".", "!", "?")) else phrase + "."


Reader = Callable[["PreviewReads", dict[str, Any]], Awaitable[list[str]]]


class PreviewReads:
    """Runs catalogued read operations for a preview and phrases what they found."""

    def __init__(self, client: CapillaryClient, catalog: Catalog) -> None:
        self.client = client
        self.catalog = catalog

    async def read(self, tool: str, arguments: dict[str, Any]) -> Outcome | None:
        op = self.catalog.get(tool)
        if op is None or op.effect_for(arguments) != "read":
            return None
        return await self.client.call(op, {k: v for k, v in arguments.items() if v is not None})


async def build_preview(reads: PreviewReads, op: Operation, arguments: dict[str, Any]) -> Preview:
    preview = Preview(render_summary(op, arguments), consequences=consequence_lines(op, arguments))
    reader = READERS.get(op.name)
    if reader is not None:
        try:
            preview.facts.extend(await reader(reads, arguments))
        except Exception:
            log.exception("preview read for %s failed", op.name)
            preview.facts.append("Could not read the current state first; please check before confirming.")
    return preview


# --- value-moving operations: read before asking -------------------------------------------------

_IDENTIFIER_NAMES = {"MOBILE": "mobile", "EMAIL": "email", "EXTERNAL_ID": "externalId"}


def _failed(what: str, outcome: Outcome | None) -> str:
    reason = outcome.message if outcome is not None else "the read tool is not available"
    return f"Could not read {what}: {reason}."


async def _balance_line(reads: PreviewReads, identifier: dict[str, Any], amount: float, label: str) -> str:
    kind, value = str(identifier.get("type", "")).upper(), identifier.get("value")
    if kind == "ID":
        outcome = await reads.read("customer_points_balance", {"userId": _int(value)})
    elif kind in _IDENTIFIER_NAMES:
        outcome = await reads.read(
            "customer_lookup_points_balance",
            {"identifierName": _IDENTIFIER_NAMES[kind], "identifierValue": value, "source": "ALL"},
        )
    else:
        return f"{label} balance not read: unknown identifier type {kind or '(none)'}."
    if outcome is None or not outcome.ok:
        return _failed(f"the {label.lower()} balance", outcome)
    payload = outcome.payload if isinstance(outcome.payload, dict) else {}
    balance = payload.get("mainPoints", payload.get("totalPoints"))
    if balance is None:
        return f"{label} balance: not reported by Capillary."
    after = float(balance) - amount
    warning = " — NOT ENOUGH POINTS" if after < 0 else ""
    return f"{label} balance {float(balance):g} → {after:g} after this{warning}."


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


async def _points_transfer(reads: PreviewReads, args: dict[str, Any]) -> list[str]:
    facts = []
    amount = float(args.get("pointsTobeTransferred") or 0)
    facts.append(await _balance_line(reads, args.get("fromCustomerIdentifier") or {}, amount, "Sender's"))
    check = {k: args.get(k) for k in ("pointsTobeTransferred", "fromCustomerIdentifier", "toCustomerIdentifier")}
    check.update(programId=args.get("programId"), issueOtp=False)
    outcome = await reads.read("points_is_transferrable", check)
    if outcome is None or outcome.status == "unknown":
        facts.append(_failed("whether the transfer is allowed", outcome))
    elif outcome.ok:
        facts.append("Capillary's check: the transfer is allowed.")
    else:
        facts.append(f"Capillary's check says it would fail: {outcome.message}.")
    return facts


async def _points_group_transfer(reads: PreviewReads, args: dict[str, Any]) -> list[str]:
    check = {k: args.get(k) for k in ("pointsTobeTransferred", "transferredBy", "fromEntity", "toEntity", "programId")}
    outcome = await reads.read("points_group_is_transferrable", check)
    if outcome is None or outcome.status == "unknown":
        return [_failed("whether the transfer is allowed", outcome)]
    return (
        ["Capillary's check: the transfer is allowed."]
        if outcome.ok
        else [f"Capillary's check says it would fail: {outcome.message}."]
    )


async def _points_redeem(reads: PreviewReads, args: dict[str, Any]) -> list[str]:
    customer = args.get("customer") or {}
    check: dict[str, Any] = {"points": args.get("points_redeemed"), "program_id": args.get("program_id")}
    check.update({k: v for k, v in customer.items() if k in ("mobile", "email", "external_id", "card_number")})
    outcome = await reads.read("points_is_redeemable", check)
    if outcome is None or not outcome.ok:
        return (
            [_failed("whether the points can be redeemed", outcome)]
            if outcome is None or outcome.status in ("unknown",)
            else [f"Capillary's check says it would fail: {outcome.message}."]
        )
    redeemable = get_dotted(outcome.payload or {}, "response.points.redeemable") or {}
    value = redeemable.get("points_redeem_value")
    worth = f", worth {value}" if value is not None else ""
    return [f"Capillary's check: redeemable{worth}."]


async def _coupons_redeemable(reads: PreviewReads, args: dict[str, Any]) -> list[str]:
    """coupon_redeem / coupon_redeem_bulk: ask is_redeemable about the same codes for the same customer."""
    codes = [c.get("code") for c in args.get("redemptionRequestList") or [] if isinstance(c, dict) and c.get("code")]
    if not codes:
        return []
    user = args.get("user") or {}
    check: dict[str, Any] = {"code": codes}
    check.update({k: user[k] for k in ("mobile", "email", "externalId", "id") if user.get(k) not in (None, "")})
    outcome = await reads.read("coupon_is_redeemable", check)
    if outcome is None or outcome.status == "unknown":
        return [_failed("whether the coupon can be redeemed", outcome)]
    if not outcome.ok:
        return [f"Capillary's check says it would fail: {outcome.message}."]
    return [f"Capillary's check: {', '.join(str(c) for c in codes)} can be redeemed."]


async def _coupon_issue(reads: PreviewReads, args: dict[str, Any]) -> list[str]:
    series_ids = args.get("seriesIds") or ([args["seriesId"]] if args.get("seriesId") is not None else [])
    if not series_ids:
        return []
    outcome = await reads.read("coupon_series_get", {"ids": [int(i) for i in series_ids]})
    if outcome is None or not outcome.ok:
        return [_failed("the coupon series", outcome)]
    facts = []
    for series in (outcome.payload or {}).get("entity") or []:
        valid = series.get("validTillDate", "?")
        facts.append(
            f'Series {series.get("id")} "{series.get("description", "")}" ({series.get("discountCode", "")}), '
            f"valid till {valid}, {series.get('numIssued', '?')} issued so far."
        )
    return facts or ["Capillary did not return that coupon series; check the series id."]


READERS: dict[str, Reader] = {
    "points_transfer": _points_transfer,
    "points_group_transfer": _points_group_transfer,
    "points_redeem": _points_redeem,
    "coupon_redeem": _coupons_redeemable,
    "coupon_redeem_bulk": _coupons_redeemable,
    "coupon_issue": _coupon_issue,
    "coupon_issue_bulk": _coupon_issue,
}
