"""`customer_overview`: "what's going on with this customer?" in one call.

It looks the customer up (customer_lookup, or customer_get for a user id), then reads at the same time their
loyalty details, points expiry schedule, coupons and latest points events — each through `calls.execute`, so the
shared client, per-caller limit, read retries and outcome classes apply, and each only if the caller's policy
allows that read. The answer keeps to essentials within a budget: counts plus the first few items, and what was
left out. A read that fails is named; the other parts are still shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types

from .catalog import Catalog, Operation
from .composite import Composite, argument, composite
from .envelope import Outcome
from .results import text_result
from .validation import argument_errors

if TYPE_CHECKING:
    from .calls import Caller
    from .policy import Policy
    from .runtime import Runtime

NAME = "customer_overview"
BUDGET = 4_000  # characters of the structured result (and, separately, of its text)
SHOWN = {"coupons": 5, "points_events": 5, "expiring_points": 3}
SOON_DAYS = 90
TEXT_CUT = 80
LOOKUP, BY_ID = "customer_lookup", "customer_get"
# part -> the read that fills it. Order is the order of the answer.
PARTS = {
    "loyalty": "customer_loyalty_details",
    "expiring_points": "customer_points_expiry_schedule",
    "coupons": "customer_coupons",
    "points_events": "points_ledger_info",
}
NOT_FOUND_CODES = {816, 8015, 701, 1001}  # "customer not found" across the sections this reads


def definition(catalog: Catalog) -> Composite | None:
    """The tool, with identifier kinds and sources taken from the look-up's schema; None without a look-up."""
    lookup = catalog.operations.get(LOOKUP)
    if lookup is None:
        return None
    kinds = list(_enum(lookup, "identifierName"))
    if BY_ID in catalog.operations:
        kinds.append("id")
    sources = _enum(lookup, "source")
    args = (
        argument(
            "identifierName", {"type": "string", "enum": kinds, "description": "id = Capillary user id"}, required=True
        ),
        argument("identifierValue", {"type": "string"}, required=True),
        argument("source", {"type": "string", "enum": list(sources), "default": "INSTORE"}),
    )
    reads = (LOOKUP, *((BY_ID,) if BY_ID in catalog.operations else ()),
             *(name for name in PARTS.values() if name in catalog.operations))  # fmt: skip
    return composite(
        NAME,
        toolset="customer",
        title="Customer overview",
        description="One call for 'what is going on with this customer': looks them up and gathers profile "
        "essentials, points, tier and next tier, points expiring soon, active coupons and the latest points events. "
        "Counts plus the first few items; a part that cannot be read is named and the rest still shown.",
        args=args,
        reads=reads,
        runner=run,
        keywords=(
            "overview",
            "summary",
            "snapshot",
            "everything about",
            "what is going on",
            "account",
            "customer status",
            "points and coupons",
            "check customer",
        ),
    )


def _enum(op: Operation, name: str) -> tuple[str, ...]:
    arg = op.arg(name)
    return tuple(arg.schema.get("enum", ())) if arg is not None else ()


@dataclass
class Snapshot:
    """What the overview found: the structured answer, and whether the customer was found at all."""

    structured: dict[str, Any]
    text: str
    found: bool = True
    refused: str | None = None  # why the caller may not use the overview here


async def run(runtime: Runtime, policy: Policy, arguments: dict[str, Any], caller: Caller) -> types.CallToolResult:
    snapshot = await take(runtime, policy, arguments, caller.principal)
    return text_result(snapshot.text, error=snapshot.structured["outcome"] == "not_done",
                       structured=snapshot.structured)  # fmt: skip


async def take(runtime: Runtime, policy: Policy, arguments: dict[str, Any], principal: str | None) -> Snapshot:
    """The overview for these (validated) arguments, as this caller may see it."""
    reader = _Reader(runtime, policy, principal)
    kind, value = arguments["identifierName"], str(arguments["identifierValue"])
    source = arguments.get("source", "INSTORE")
    if kind == "id":
        if not value.strip().isdigit():
            return _stopped("invalid_arguments", f"identifierValue must be the user id (digits) for id, got {value!r}")
        resolve = await reader.read(BY_ID, {"customerId": int(value), "source": source})
    else:
        resolve = await reader.read(LOOKUP, {"identifierName": kind, "identifierValue": value, "source": source})
    if resolve.refused is not None:
        return _stopped("not_available", f"cannot look the customer up: {resolve.refused}", refused=resolve.refused)
    outcome = resolve.outcome
    if outcome is None or not outcome.ok or not isinstance(outcome.payload, dict):
        return _not_resolved(resolve, kind, value)
    entity = outcome.payload
    user_id = entity.get("id")
    if not isinstance(user_id, int):
        return _stopped("unreadable", f"{resolve.tool} answered without a user id; nothing else was read")

    customer = _customer(entity)
    calls = _part_calls(runtime.catalog, user_id, kind, value, source, customer)
    results: dict[str, _Read] = {}

    async def fill(part: str, tool: str, args: dict[str, Any] | str) -> None:
        results[part] = (await reader.read(tool, args)) if isinstance(args, dict) else _Read(tool, refused=args)

    async with anyio.create_task_group() as group:  # the four reads at once
        for part, (tool, args) in calls.items():
            group.start_soon(fill, part, tool, args)
    return _assemble(customer, {part: results[part] for part in calls})


@dataclass
class _Read:
    tool: str
    outcome: Outcome | None = None
    refused: str | None = None


@dataclass
class _Reader:
    runtime: Runtime
    policy: Policy
    principal: str | None

    async def read(self, name: str, args: dict[str, Any]) -> _Read:
        """One catalogued read, if the caller may use it, through the same `execute` as every call."""
        from .calls import execute

        op = self.runtime.catalog.get(name)
        if op is None:
            return _Read(name, refused="it is not in this catalogue")
        why = self.policy.refusal(self.runtime.catalog, name, args)
        if why is not None:
            return _Read(name, refused=why)
        problems = argument_errors(op, args)
        if problems:
            return _Read(name, refused="cap-mcp could not build the call: " + "; ".join(problems))
        return _Read(name, outcome=await execute(self.runtime, op, args, self.principal))


def _part_calls(
    catalog: Catalog, user_id: int, kind: str, value: str, source: str, customer: dict[str, Any]
) -> dict[str, tuple[str, dict[str, Any] | str]]:
    """Each part's read and arguments, or why it cannot be made."""
    calls: dict[str, tuple[str, dict[str, Any] | str]] = {
        "loyalty": (PARTS["loyalty"], {"customerId": user_id}),
        "expiring_points": (PARTS["expiring_points"], {"userId": user_id}),
        "coupons": (PARTS["coupons"], {"customerId": user_id}),
    }
    ledger = catalog.operations.get(PARTS["points_events"])
    kinds = _enum(ledger, "identifierName") if ledger is not None else ()
    known = {kind: value} if kind in kinds else {}
    known.update({k: v for k, v in customer.get("identifiers", {}).items() if k in kinds and k not in known})
    if known:
        name, ident = next(iter(known.items()))
        calls["points_events"] = (PARTS["points_events"], {"identifierName": name, "identifierValue": ident,
                                  "source": source, "limit": SHOWN["points_events"]})  # fmt: skip
    else:
        calls["points_events"] = (PARTS["points_events"], "the customer has no identifier the points ledger accepts")
    return {part: call for part, call in calls.items() if call[0] in catalog.operations}


# --- reading the answers ----------------------------------------------------------------------------------


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > TEXT_CUT:
        return value[: TEXT_CUT - 1] + "…"
    return value


def _number(value: Any) -> float | int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else round(number, 3)


def _customer(entity: dict[str, Any]) -> dict[str, Any]:
    profiles = entity.get("profiles") or [{}]
    profile = profiles[0] if isinstance(profiles[0], dict) else {}
    identifiers: dict[str, str] = {}
    for item in profile.get("identifiers") or []:
        if isinstance(item, dict) and item.get("type") and item.get("value") and len(identifiers) < 5:
            identifiers.setdefault(str(item["type"]), _cut(str(item["value"])))
    name = " ".join(str(profile.get(k) or "") for k in ("firstName", "lastName")).strip()
    customer: dict[str, Any] = {"user_id": entity.get("id"), "name": _cut(name) or None, "identifiers": identifiers}
    fraud = entity.get("fraudDetails")
    if isinstance(fraud, dict) and fraud.get("status"):
        customer["fraud_status"] = _cut(str(fraud["status"]))
    loyalty = entity.get("loyaltyInfo")
    if isinstance(loyalty, dict):
        customer["loyalty_type"] = _cut(loyalty.get("loyaltyType"))
        if loyalty.get("lifetimePurchases") is not None:
            customer["lifetime_purchases"] = _number(loyalty.get("lifetimePurchases"))
    if profile.get("source"):
        customer["source"] = _cut(str(profile["source"]))
    return customer


def _loyalty(payload: Any) -> dict[str, Any]:
    programs = [p for p in (payload.get("data") if isinstance(payload, dict) else None) or [] if isinstance(p, dict)]
    if not programs:
        return {"programs": 0}
    first = programs[0]
    part: dict[str, Any] = {
        "programs": len(programs),
        "program_id": first.get("programId"),
        "program": _cut(first.get("programTitle") or first.get("programName")),
        "points": _number(first.get("loyaltyPoints")),
        "available_points": _number(first.get("totalAvailablePoints")),
        "lifetime_points": _number(first.get("lifetimePoints")),
        "redeemed": _number(first.get("redeemed")),
        "expired": _number(first.get("expired")),
        "tier": _cut(first.get("currentSlab")) or None,
        "next_tier": _cut(first.get("nextSlab")) or None,
        "tier_expiry": _cut(first.get("slabExpiryDate")),
    }
    if len(programs) > 1:
        part["other_programs"] = "more programmes: customer_loyalty_details lists each"
    return {key: value for key, value in part.items() if value is not None}


def _expiring(payload: Any, today: date) -> dict[str, Any]:
    rows = [r for r in (payload.get("expirySchedules") if isinstance(payload, dict) else None) or []
            if isinstance(r, dict)]  # fmt: skip
    rows.sort(key=lambda r: str(r.get("expiryDate", "")))
    soon_until = (today + timedelta(days=SOON_DAYS)).isoformat()
    total = sum(_number(r.get("points")) or 0 for r in rows)
    soon = sum(_number(r.get("points")) or 0 for r in rows if today.isoformat() <= str(r.get("expiryDate", ""))[:10]
               <= soon_until)  # fmt: skip
    shown = [{"date": _cut(r.get("expiryDate")), "points": _number(r.get("points")), "type": _cut(r.get("pointsType"))}
             for r in rows[: SHOWN["expiring_points"]]]  # fmt: skip
    return {"total": _number(total), f"within_{SOON_DAYS}_days": _number(soon), "schedules": len(rows), "next": shown}


def _coupon_state(coupon: dict[str, Any], now: str) -> str:
    if coupon.get("isRedeemed") or coupon.get("redeemed") is True:
        return "redeemed"
    valid_till = str(coupon.get("validTill") or "")
    if coupon.get("expired") is True or (valid_till and valid_till[:10] < now[:10]):
        return "expired"
    return "active"


def _coupons(payload: Any, now: str) -> dict[str, Any]:
    rows = [c for c in (payload.get("entity") if isinstance(payload, dict) else None) or [] if isinstance(c, dict)]
    states = [_coupon_state(c, now) for c in rows]
    active = [c for c, state in zip(rows, states, strict=True) if state == "active"]
    shown = [{"code": _cut(c.get("code")), "description": _cut(c.get("description") or c.get("seriesName")),
              "valid_till": _cut(c.get("validTill")), "series_id": c.get("seriesId")}
             for c in active[: SHOWN["coupons"]]]  # fmt: skip
    return {"total": len(rows), "active": len(active), "redeemed": states.count("redeemed"),
            "expired": states.count("expired"), "active_shown": shown}  # fmt: skip


def _events(payload: Any) -> dict[str, Any]:
    entries = [e for e in (payload.get("ledgerEntries") if isinstance(payload, dict) else None) or []
               if isinstance(e, dict)]  # fmt: skip
    details = payload.get("ledgerDetails") if isinstance(payload, dict) else None
    total = details.get("totalEntries") if isinstance(details, dict) else None
    shown = []
    for entry in entries[: SHOWN["points_events"]]:
        items = entry.get("entryDetails") or [{}]
        first = items[0] if isinstance(items[0], dict) else {}
        bill = entry.get("transactionDetails")
        bill = bill if isinstance(bill, dict) else {}
        event = {"date": _cut(entry.get("ledgerCreatedDate")), "event": _cut(entry.get("eventName")),
                 "type": _cut(first.get("ledgerEntryType")), "points": _number(entry.get("netPointsOnEvent"))}  # fmt: skip
        if bill.get("transactionNumber"):
            event["bill"] = _cut(bill["transactionNumber"])
        shown.append({k: v for k, v in event.items() if v is not None})
    return {"total": total if isinstance(total, int) else len(entries), "latest": shown}


def _part(name: str, read: _Read, now: datetime) -> dict[str, Any]:
    if read.refused is not None:
        return {"not_available": read.refused, "tool": read.tool}
    outcome = read.outcome
    assert outcome is not None
    if not outcome.ok:
        failure = {"failed": True, "tool": read.tool, "outcome": outcome.outcome, "http_status": outcome.http_status,
                   "message": _cut(outcome.message), "hint": _cut(outcome.hint)}  # fmt: skip
        return {k: v for k, v in failure.items() if v not in (None, "")}
    payload = outcome.payload
    if name == "loyalty":
        return _loyalty(payload)
    if name == "expiring_points":
        return _expiring(payload, now.date())
    if name == "coupons":
        return _coupons(payload, now.isoformat())
    return _events(payload)


def _assemble(customer: dict[str, Any], reads: dict[str, _Read]) -> Snapshot:
    now = datetime.now(UTC)
    parts = {name: _part(name, read, now) for name, read in reads.items()}
    failed = [name for name, part in parts.items() if part.get("failed")]
    unavailable = [name for name, part in parts.items() if "not_available" in part]
    structured: dict[str, Any] = {
        "status": "partial" if failed else "success",
        "outcome": "partly_done" if failed else "done",
        "customer": customer,
        **parts,
    }
    if failed:
        structured["failed_parts"] = failed
    if unavailable:
        structured["not_available_parts"] = unavailable
    structured["left_out"] = _fit(structured)
    return Snapshot(structured, _fit_text(_text(structured)))


def _fit(structured: dict[str, Any]) -> dict[str, int]:
    """Drop the last shown items of the longest list until the answer is within the budget; count what went."""
    left: dict[str, int] = {}
    lists = {"coupons": "active_shown", "points_events": "latest", "expiring_points": "next"}
    for part, key in lists.items():
        section = structured.get(part)
        if isinstance(section, dict) and isinstance(section.get(key), list):
            total = section.get("active") if part == "coupons" else section.get("total")
            if part == "expiring_points":
                total = section.get("schedules")
            hidden = (total or 0) - len(section[key])
            if hidden > 0:
                left[f"{part}.{key}"] = hidden
    while len(json.dumps(structured, ensure_ascii=False)) > BUDGET:
        candidates = [(len(structured[p][k]), p, k) for p, k in lists.items()
                      if isinstance(structured.get(p), dict) and structured[p].get(k)]  # fmt: skip
        if not candidates:
            break
        _, part, key = max(candidates)
        structured[part][key].pop()
        left[f"{part}.{key}"] = left.get(f"{part}.{key}", 0) + 1
    return left


def _fit_text(text: str) -> str:
    if len(text) <= BUDGET:
        return text
    return text[: BUDGET - 60] + "\n… (cut to fit; structuredContent has the rest)"


def _text(s: dict[str, Any]) -> str:
    c = s["customer"]
    ids = ", ".join(f"{k} {v}" for k, v in c.get("identifiers", {}).items())
    lines = [f"Customer overview: {c.get('name') or 'no name'} (user id {c.get('user_id')})" + (f" — {ids}" if ids else "")
             + (f"; fraud status {c['fraud_status']}" if c.get("fraud_status") else "") + "."]  # fmt: skip
    more = {key.split(".")[0]: n for key, n in s.get("left_out", {}).items()}
    for name, label in (("loyalty", "Loyalty"), ("expiring_points", "Points expiring"), ("coupons", "Coupons"),
                        ("points_events", "Latest points events")):  # fmt: skip
        part = s.get(name)
        if not isinstance(part, dict):
            continue
        if "not_available" in part:
            lines.append(f"{label}: not available to you ({part['tool']}: {part['not_available']}).")
        elif part.get("failed"):
            status = f"HTTP {part['http_status']}" if part.get("http_status") else "no answer"
            hint = f" Next: {part['hint']}." if part.get("hint") else ""
            lines.append(f"{label}: COULD NOT BE READ — {part['tool']} failed ({status}): {part.get('message')}.{hint}")
        else:
            lines.append(f"{label}: {_summary(name, part)}" + (f" (+{more[name]} more: {PARTS[name]})"
                                                                  if more.get(name) else ""))  # fmt: skip
    return "\n".join(lines)


def _summary(name: str, part: dict[str, Any]) -> str:
    if name == "loyalty":
        if not part.get("programs"):
            return "no loyalty programme."
        tier = f"; tier {part.get('tier')}" + (f", next {part['next_tier']}" if part.get("next_tier") else ", top tier")
        return (f"{part.get('points')} points in {part.get('program') or part.get('program_id')} (lifetime "
                f"{part.get('lifetime_points')}, redeemed {part.get('redeemed')}, expired {part.get('expired')})"
                f"{tier}" + (f" until {part['tier_expiry']}" if part.get("tier_expiry") else "") + ".")  # fmt: skip
    if name == "expiring_points":
        nxt = ", ".join(f"{e['points']} on {e['date']}" for e in part["next"])
        return (f"{part['total']} points scheduled to expire, {part[f'within_{SOON_DAYS}_days']} within {SOON_DAYS} "
                f"days" + (f"; next: {nxt}" if nxt else "") + ".")  # fmt: skip
    if name == "coupons":
        shown = "; ".join(f"{c['code']} ({c.get('description')}, valid till {c.get('valid_till')})"
                          for c in part["active_shown"])  # fmt: skip
        return (f"{part['active']} active of {part['total']} ({part['redeemed']} redeemed, {part['expired']} expired)"
                + (f": {shown}" if shown else "") + ".")  # fmt: skip
    shown = "; ".join(f"{e.get('date')} {e.get('event')} {e.get('type', '')} {e.get('points')}"
                      + (f" bill {e['bill']}" if e.get("bill") else "") for e in part["latest"])  # fmt: skip
    return f"{len(part['latest'])} of {part['total']}" + (f": {shown}" if shown else "") + "."


def _stopped(status: str, message: str, *, refused: str | None = None) -> Snapshot:
    structured = {"status": status, "outcome": "not_done", "message": message}
    return Snapshot(structured, f"customer_overview: nothing shown — {message}.", refused=refused)


def _not_resolved(resolve: _Read, kind: str, value: str) -> Snapshot:
    outcome = resolve.outcome
    assert outcome is not None
    codes = {p.code for p in outcome.errors}
    if outcome.http_status == 404 or codes & NOT_FOUND_CODES:
        missing: dict[str, Any] = {"status": "not_found", "outcome": "not_done", "tool": resolve.tool,
                                   "message": f"no customer with {kind} {value}"}  # fmt: skip
        text = (
            f"customer_overview: no customer with {kind} {value} ({resolve.tool} found none). Check the "
            "identifier, or try another one (mobile, email, externalId)."
        )
        return Snapshot(missing, text, found=False)
    structured = {"status": "failure", "outcome": outcome.outcome, "tool": resolve.tool,
                  "http_status": outcome.http_status, "message": outcome.message, "hint": outcome.hint}  # fmt: skip
    status = f"HTTP {outcome.http_status}" if outcome.http_status else "no answer"
    text = (
        f"customer_overview: the look-up failed ({resolve.tool}, {status}): {outcome.message}; nothing else was "
        f"read." + (f" Next: {outcome.hint}." if outcome.hint else "")
    )
    return Snapshot(structured, text)
