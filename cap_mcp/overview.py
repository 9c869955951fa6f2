"""`customer_overview`: "what's going on with this customer?" in one call.

It looks the customer up (customer_lookup, or customer_get for a user id), then reads at the same time their
loyalty details, points expiry schedule, coupons and latest points events — each through `calls.execute`, so the
shared client, per-caller limit, read retries and outcome classes apply, and each only if the caller's policy
allows that read. The answer keeps to essentials within a budget: counts plus the first few items, and what was
left out. A read that fails is named; the other parts are still shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types

from . import overview_parts as parts
from .catalog import Catalog, Operation
from .composite import Composite, argument, composite
from .envelope import Outcome
from .overview_parts import BUDGET, PARTS, SHOWN
from .results import text_result
from .validation import argument_errors

if TYPE_CHECKING:
    from .calls import Caller
    from .policy import Policy
    from .runtime import Runtime

NAME = "customer_overview"
LOOKUP, BY_ID = "customer_lookup", "customer_get"
__all__ = ["BUDGET", "NAME", "SHOWN", "definition", "run", "take"]
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

    customer = parts.customer(entity)
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


def _part(name: str, read: _Read, now: datetime) -> dict[str, Any]:
    if read.refused is not None:
        return {"not_available": read.refused, "tool": read.tool}
    outcome = read.outcome
    assert outcome is not None
    if not outcome.ok:
        failure = {"failed": True, "tool": read.tool, "outcome": outcome.outcome, "http_status": outcome.http_status,
                   "message": parts.cut(outcome.message), "hint": parts.cut(outcome.hint)}  # fmt: skip
        return {k: v for k, v in failure.items() if v not in (None, "")}
    payload = outcome.payload
    if name == "loyalty":
        return parts.loyalty(payload)
    if name == "expiring_points":
        return parts.expiring(payload, now.date())
    if name == "coupons":
        return parts.coupons(payload, now.isoformat())
    return parts.events(payload)


def _assemble(customer: dict[str, Any], reads: dict[str, _Read]) -> Snapshot:
    now = datetime.now(UTC)
    sections = {name: _part(name, read, now) for name, read in reads.items()}
    failed = [name for name, part in sections.items() if part.get("failed")]
    unavailable = [name for name, part in sections.items() if "not_available" in part]
    structured: dict[str, Any] = {
        "status": "partial" if failed else "success",
        "outcome": "partly_done" if failed else "done",
        "customer": customer,
        **sections,
    }
    if failed:
        structured["failed_parts"] = failed
    if unavailable:
        structured["not_available_parts"] = unavailable
    structured["left_out"] = parts.fit(structured)
    return Snapshot(structured, parts.fit_text(parts.text(structured)))


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
