"""What operators watch: tool calls, upstream requests, guard decisions, OAuth renewals, calls in flight.

The server, the client, the guards and the OAuth flow report to one `Observer`, held by the `Runtime`;
they never know where the figures go. `Observers` fans every report out to the sinks an operator turned
on: the log line per tool call (always; shown at INFO), Prometheus metrics (`cap_mcp.metrics`, HTTP
only) and OpenTelemetry spans (`cap_mcp.tracing`, when OTEL_* variables ask for them). Those modules are
imported only when turned on, so a stdio start-up pays for none of them.

Reports carry names an operator chose or the catalogue defines (tool and operation names, caller names
from the token configuration, outcome classes, HTTP statuses) and never arguments or answers.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol, TypeVar

import mcp_types as types

log = logging.getLogger("cap_mcp.calls")

# How a tool call ended, from the result the model received.
Outcome = Literal["done", "partly_done", "not_done", "unknown", "asked", "refused", "invalid", "error"]
OUTCOMES: tuple[str, ...] = ("done", "partly_done", "not_done", "unknown", "asked", "refused", "invalid", "error")
# What the guard decided about a call that needs a person's confirmation.
GuardDecision = Literal["asked", "confirmed", "token_used", "declined", "refused"]
GUARD_DECISIONS: tuple[str, ...] = ("asked", "confirmed", "token_used", "declined", "refused")

_STATUS_OUTCOME = {"success": "done", "partial": "partly_done", "failure": "not_done", "unknown": "unknown"}
_REFUSED_STATUS = ("not_executed", "not_available", "elicitation_required")


class Observer(Protocol):
    """Receives what happened; must be quick and must not raise."""

    def tool_call(
        self, tool: str, outcome: str, caller: str | None, seconds: float, *, request_id: str | None = None
    ) -> None: ...

    def upstream(self, operation: str, status: int | str, seconds: float) -> None:
        """One HTTP request to Capillary: `status` is the HTTP code, or a word when there was none
        ("timeout", "not_sent", "no_answer", "auth_error")."""

    def guard(self, decision: str) -> None: ...

    def oauth_renewal(self, result: str) -> None:
        """One OAuth token request: "ok", "refused" or "unreachable"."""

    def in_flight(self, delta: int) -> None:
        """Tool calls being handled: +1 when one starts, -1 when it ends."""


class Observers:
    """The observer the runtime holds: hands each report to every sink added (none: nothing happens)."""

    def __init__(self, *sinks: Observer) -> None:
        self.sinks: list[Observer] = list(sinks)

    def add(self, sink: Observer) -> None:
        self.sinks.append(sink)

    def tool_call(
        self, tool: str, outcome: str, caller: str | None, seconds: float, *, request_id: str | None = None
    ) -> None:
        for sink in self.sinks:
            sink.tool_call(tool, outcome, caller, seconds, request_id=request_id)

    def upstream(self, operation: str, status: int | str, seconds: float) -> None:
        for sink in self.sinks:
            sink.upstream(operation, status, seconds)

    def guard(self, decision: str) -> None:
        for sink in self.sinks:
            sink.guard(decision)

    def oauth_renewal(self, result: str) -> None:
        for sink in self.sinks:
            sink.oauth_renewal(result)

    def in_flight(self, delta: int) -> None:
        for sink in self.sinks:
            sink.in_flight(delta)


class NullObserver:
    """Ignores everything; the base for sinks that care about only some reports."""

    def tool_call(
        self, tool: str, outcome: str, caller: str | None, seconds: float, *, request_id: str | None = None
    ) -> None:
        pass

    def upstream(self, operation: str, status: int | str, seconds: float) -> None:
        pass

    def guard(self, decision: str) -> None:
        pass

    def oauth_renewal(self, result: str) -> None:
        pass

    def in_flight(self, delta: int) -> None:
        pass


class LogObserver(NullObserver):
    """One INFO line per tool call on the `cap_mcp.calls` logger (JSON logs carry the fields as keys)."""

    def tool_call(
        self, tool: str, outcome: str, caller: str | None, seconds: float, *, request_id: str | None = None
    ) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        milliseconds = round(seconds * 1000, 1)
        fields = {"tool": tool, "outcome": outcome, "caller": caller, "request_id": request_id,
                  "duration_ms": milliseconds}  # fmt: skip
        log.info("tools/call %s: %s in %.0f ms (caller %s, request %s)", tool, outcome, milliseconds,
                 caller or "-", request_id if request_id is not None else "-", extra={"call": fields})  # fmt: skip


NULL = NullObserver()


def default_observers(route: Callable[[str], tuple[str, str] | None] | None = None) -> Observers:
    """What every runtime starts with: the per-call log line, plus traces if OTEL_* variables ask for them.

    `route` gives an operation's method and path template, for spans."""
    observers = Observers(LogObserver())
    if tracing_requested():
        from .tracing import TracingObserver, configure_tracing

        if configure_tracing():
            observers.add(TracingObserver(route))
    return observers


def tracing_requested(environ: dict[str, str] | None = None) -> bool:
    """Traces are off unless an OTLP endpoint or a traces exporter is named (the standard OTEL_* variables)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true" or env.get("OTEL_TRACES_EXPORTER", "") == "none":
        return False
    return any(env.get(name) for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                                          "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))  # fmt: skip


def classify(result: Any) -> str:
    """The outcome class of a finished tools/call, from what the model received."""
    if isinstance(result, types.InputRequiredResult):
        return "asked"
    structured = getattr(result, "structured_content", None)
    if not isinstance(structured, dict):
        return "not_done" if getattr(result, "is_error", False) else "done"
    status = structured.get("status")
    if status == "invalid_arguments":
        return "invalid"
    if status in _REFUSED_STATUS:
        return "refused"
    if status == "confirmation_required":
        return "asked"
    outcome = structured.get("outcome")
    if isinstance(outcome, str) and outcome in OUTCOMES:
        return outcome
    if isinstance(status, str) and status in _STATUS_OUTCOME:
        return _STATUS_OUTCOME[status]
    return "not_done" if getattr(result, "is_error", False) else "done"


def guard_decision(decision: Any) -> str | None:
    """What a guard's Proceed/Stop means for the guard metric; None for calls that needed no confirmation."""
    how = getattr(decision, "how", None)
    if how is not None:
        return {"elicitation": "confirmed", "token": "token_used", "operator": "confirmed"}.get(how)
    said = str(getattr(decision, "decision", ""))
    if said in ("asked", "token issued"):
        return "asked"
    if said in ("declined", "cancelled", "not confirmed"):
        return "declined"
    return "refused"


def report_guard(observer: Observer, decision: Any) -> None:
    """Count a guard decision (calls that needed no confirmation are not counted)."""
    kind = guard_decision(decision)
    if kind is not None:
        observer.guard(kind)


Result = TypeVar("Result")


async def observed_call(
    observer: Observer, tool: str, caller: str | None, request_id: Any, run: Callable[[], Awaitable[Result]]
) -> Result:
    """Run one tools/call, counting it in flight and reporting how it ended."""
    observer.in_flight(1)
    started = time.perf_counter()
    outcome = "error"
    try:
        result = await run()
        outcome = classify(result)
        return result
    finally:
        observer.in_flight(-1)
        identifier = None if request_id is None else str(request_id)
        observer.tool_call(tool, outcome, caller, time.perf_counter() - started, request_id=identifier)
