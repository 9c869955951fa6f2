"""Tool results: structured content for programs plus a short text a model (or person) can read.

Every result states one outcome class in `structuredContent.outcome` — the same at every door:
`done`, `partly_done`, `not_done` (nothing can have happened) or `unknown` (the request may have reached
Capillary and no trustworthy answer came back; the result names the read tool that tells, with arguments).
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from .answers import clean_value
from .budget import CHARS_PER_TOKEN, fit, how_to_get_more
from .catalog import Operation
from .envelope import Outcome

DEFAULT_BUDGET_TOKENS = 20_000
# Room in the budget for everything but the answer itself (status line, errors, hints, structured keys).
_OVERHEAD_CHARS = 2_000


def text_result(text: str, *, error: bool = False, structured: dict[str, Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=clean_value(text))],
        structured_content=structured,
        is_error=error,
    )


def not_done(text: str, status: str, **fields: Any) -> types.CallToolResult:
    """A result for a call that did not run: nothing was sent to Capillary."""
    structured = clean_value({"status": status, "outcome": "not_done", **fields})
    return text_result(text, error=True, structured=structured)


def invalid_arguments(op: Operation, problems: list[str]) -> types.CallToolResult:
    text = f"Invalid arguments for {op.name} (nothing was sent): " + "; ".join(problems)
    return not_done(text, "invalid_arguments", problems=problems)


def outcome_result(
    op: Operation,
    outcome: Outcome,
    arguments: dict[str, Any] | None = None,
    *,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
) -> types.CallToolResult:
    """The tool result for one call's outcome, its answer (given twice: text and structured) within the budget."""
    arguments = arguments or {}
    room = max(1_000, int((budget_tokens * CHARS_PER_TOKEN - _OVERHEAD_CHARS) / 2))
    payload, cuts = fit(outcome.payload, room)
    note = ""
    if cuts:
        more = how_to_get_more(op, arguments, cuts)
        note = f" The answer was too large to show whole: {'; '.join(c.describe() for c in cuts)}. To get the rest: {more}."
    structured: dict[str, Any] = {
        "status": outcome.status,
        "outcome": outcome.outcome,
        "http_status": outcome.http_status,
    }
    if outcome.request_id:
        structured["request_id"] = outcome.request_id
    if outcome.warnings:
        structured["warnings"] = [w.as_dict() for w in outcome.warnings]
    if outcome.errors:
        structured["errors"] = [e.as_dict() for e in outcome.errors]
    if cuts:
        structured["truncated"] = {
            "cuts": [{"path": c.path, "shown": c.shown, "total": c.total, "unit": c.unit} for c in cuts],
            "next": more,
        }
    if outcome.status == "unknown":
        return _unknown_result(op, outcome, arguments, structured, payload)
    structured["data"] = payload
    if outcome.status == "failure":
        structured["message"], structured["hint"] = outcome.message, outcome.hint
        status = f"HTTP {outcome.http_status}" if outcome.http_status else "no answer"
        head = f"{op.name} failed ({status}): {outcome.message}."
        if outcome.hint:
            head += f" Next: {outcome.hint}."
        return text_result(_with_payload(head + note, payload), error=True, structured=structured)
    head = f"{op.name}: OK (HTTP {outcome.http_status})"
    if outcome.status == "partial":
        structured["message"], structured["hint"] = outcome.message, outcome.hint
        head = f"{op.name}: PARTLY DONE (HTTP {outcome.http_status}) — {outcome.message}. Next: {outcome.hint}."
    if outcome.warnings:
        head += " Warnings: " + "; ".join(w.message for w in outcome.warnings[:3])
    return text_result(_with_payload(head + note, payload), structured=structured)


def _unknown_result(
    op: Operation, outcome: Outcome, arguments: dict[str, Any], structured: dict[str, Any], payload: Any
) -> types.CallToolResult:
    verify = op.verify_call(arguments)
    structured.update(message=outcome.message, hint=outcome.hint)
    if payload is not None:
        structured["data"] = payload
    if verify is not None:
        tool, verify_args = verify
        structured["verify_with"] = {"tool": tool, "arguments": verify_args}
        how = f"call {tool}" + (f" with {json.dumps(verify_args, ensure_ascii=False)}" if verify_args else "")
        check = f"{how} to see whether it took effect"
    else:
        structured["verify_with"] = None
        check = "check in Capillary whether it took effect"
    text = (
        f"OUTCOME UNKNOWN for {op.name}: {outcome.message}. It may or may not have been done. "
        f"Do not repeat it blindly: {check}. Trying again needs a new confirmation."
    )
    return text_result(text, error=True, structured=structured)


def _with_payload(head: str, payload: Any) -> str:
    if payload in (None, "", {}, []):
        return head
    return f"{head}\n{json.dumps(payload, ensure_ascii=False, separators=(',', ':'), default=str)}"
