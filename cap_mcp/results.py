"""Tool results: structured content for programs plus a short text a model (or person) can read."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from .catalog import Operation
from .envelope import Outcome

TEXT_LIMIT = 16_000


def text_result(text: str, *, error: bool = False, structured: dict[str, Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=structured, is_error=error
    )


def invalid_arguments(op: Operation, problems: list[str]) -> types.CallToolResult:
    text = f"Invalid arguments for {op.name} (nothing was sent): " + "; ".join(problems)
    return text_result(text, error=True, structured={"status": "invalid_arguments", "problems": problems})


def outcome_result(op: Operation, outcome: Outcome) -> types.CallToolResult:
    structured: dict[str, Any] = {"status": outcome.status, "http_status": outcome.http_status}
    if outcome.request_id:
        structured["request_id"] = outcome.request_id
    if outcome.warnings:
        structured["warnings"] = [w.as_dict() for w in outcome.warnings]
    if outcome.errors:
        structured["errors"] = [e.as_dict() for e in outcome.errors]
    if outcome.status == "unknown":
        structured.update(message=outcome.message, hint=outcome.hint, verify_with=op.verify_with)
        return text_result(
            f"OUTCOME UNKNOWN for {op.name}: {outcome.message}. Next: {outcome.hint}.",
            error=True,
            structured=structured,
        )
    structured["data"] = outcome.payload
    if outcome.status == "failure":
        structured["message"], structured["hint"] = outcome.message, outcome.hint
        status = f"HTTP {outcome.http_status}" if outcome.http_status else "no answer"
        head = f"{op.name} failed ({status}): {outcome.message}."
        if outcome.hint:
            head += f" Next: {outcome.hint}."
        return text_result(_with_payload(head, outcome.payload), error=True, structured=structured)
    head = f"{op.name}: OK (HTTP {outcome.http_status})"
    if outcome.status == "partial":
        structured["message"], structured["hint"] = outcome.message, outcome.hint
        head = f"{op.name}: PARTLY DONE (HTTP {outcome.http_status}) — {outcome.message}. Next: {outcome.hint}."
    if outcome.warnings:
        head += " Warnings: " + "; ".join(w.message for w in outcome.warnings[:3])
    return text_result(_with_payload(head, outcome.payload), structured=structured)


def _with_payload(head: str, payload: Any) -> str:
    if payload in (None, "", {}, []):
        return head
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(body) > TEXT_LIMIT:
        body = body[:TEXT_LIMIT] + f"… [{len(body) - TEXT_LIMIT} more characters in structuredContent]"
    return f"{head}\n{body}"
