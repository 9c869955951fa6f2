"""The one way a call runs, whichever door it came through (a listed tool, the discovery call tool, the terminal).

resolve against the caller's policy → validate → policy check with these arguments → confirmation when the
policy asks for one → send once → audit → result. Every step that stops the call says why; nothing after a
call is sent can end without an audit line.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types

from .catalog import Operation
from .client import failed, unknown
from .composite import Composite
from .envelope import Outcome
from .guards import Proceed, Stop
from .policy import Policy
from .results import invalid_arguments, not_done, outcome_result
from .runtime import Runtime
from .validation import MAX_ARGUMENT_DEPTH, argument_errors, coerce_arguments, too_deep

log = logging.getLogger("cap_mcp.calls")

Confirm = Callable[[Operation, dict[str, Any]], Awaitable[Proceed | Stop]]


class UnknownOperation(LookupError):
    """No operation of that name in the catalogue."""


@dataclass(frozen=True)
class Caller:
    """Who is calling, over what: for the per-caller limit and the audit log."""

    principal: str | None = None
    audit: dict[str, Any] = field(default_factory=dict)


async def run_call(
    runtime: Runtime,
    policy: Policy,
    name: str,
    arguments: dict[str, Any],
    *,
    confirm: Confirm,
    caller: Caller,
) -> types.CallToolResult | types.InputRequiredResult:
    op = runtime.catalog.get(name)
    if op is None:
        raise UnknownOperation(name)
    why = policy.refusal(runtime.catalog, name)
    if why is not None:
        return unavailable(name, why)
    if too_deep(arguments):
        return invalid_arguments(
            op, [f"arguments nest deeper than {MAX_ARGUMENT_DEPTH} levels; no operation takes that"]
        )
    if isinstance(arguments, dict):
        # Everything after this point (guards, previews, tokens, audit, the request) sees the converted values.
        arguments = coerce_arguments(op, arguments)
    problems = argument_errors(op, arguments)
    if problems:
        return invalid_arguments(op, problems)
    why = policy.refusal(runtime.catalog, name, arguments)
    if why is not None:
        return unavailable(name, why)
    if isinstance(op, Composite):  # a read made of several reads, each sent through execute() on its own
        return await op.run(runtime, policy, arguments, caller)
    change = op.effect_for(arguments) != "read"
    how = "policy"
    if policy.needs_confirmation(op, arguments):
        decision = await confirm(op, arguments)
        if isinstance(decision, Stop):
            if decision.decision != "asked":
                runtime.audit.call(op.name, op.effect_for(arguments), arguments, confirmed_by=None, decision=decision.decision,
                                   **caller.audit)  # fmt: skip
            return decision.result
        how = decision.how
    outcome = await execute(runtime, op, arguments, caller.principal)
    try:
        if change:
            runtime.audit.call(op.name, op.effect_for(arguments), arguments, confirmed_by=how, result=outcome,
                               **caller.audit)  # fmt: skip
        return outcome_result(op, outcome, arguments, budget_tokens=runtime.settings.result_budget_tokens)
    except Exception:  # the call was sent: say what is known rather than "failed"
        log.exception("%s: building the result failed after the call was sent", op.name)
        return (
            not_done(
                f"{op.name} was sent and Capillary answered (outcome: {outcome.outcome}), but cap-mcp could not build "
                "the result. Check with a read tool before doing anything again.",
                "result_failed",
            )
            if outcome.outcome == "not_done"
            else outcome_result(op, unknown(op, "cap-mcp could not read the answer"))
        )


async def execute(runtime: Runtime, op: Operation, arguments: dict[str, Any], principal: str | None = None) -> Outcome:
    """Send one validated, confirmed call. Never raises: a fault after sending may have left a change behind."""
    try:
        async with runtime.limiter(principal):
            return await runtime.client.call(op, arguments)
    except Exception:
        reference = secrets.token_hex(4)
        log.exception("%s failed inside cap-mcp (reference %s)", op.name, reference)
        if op.effect_for(arguments) == "read":
            return failed(
                f"cap-mcp failed while reading (reference {reference})",
                "try again; if it persists, the operator can find the details in the server log under that reference",
            )
        return unknown(op, f"cap-mcp failed while handling it (reference {reference})")


def unavailable(name: str, why: str) -> types.CallToolResult:
    return not_done(f"Not executed: {name} is not available — {why}.", "not_available", reason=why)
