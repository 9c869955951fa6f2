"""`cap-mcp call`: one operation from the terminal, through the same policy, validation, confirmation rules,
audit and result as the MCP tools (`calls.run_call`); only the way a person confirms differs (y/N, or --yes)."""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio

from .calls import Caller, UnknownOperation, run_call
from .catalog import Operation
from .config import ConfigError, Settings
from .guards import Proceed, Stop, refusal
from .previews import build_preview
from .runtime import Runtime, build_runtime

CLI = Caller(principal=None, audit={"caller": "terminal", "session": "cli"})


def call_from_terminal(settings: Settings, name: str, raw_args: str, *, yes: bool) -> int:
    try:
        arguments = json.loads(raw_args)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--args: not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(arguments, dict):
        raise ConfigError('--args: must be a JSON object, e.g. \'{"identifierName": "mobile", ...}\'')
    runtime = build_runtime(settings)
    return anyio.run(_call, runtime, name, arguments, yes)


async def _call(runtime: Runtime, name: str, arguments: dict[str, Any], yes: bool) -> int:
    async def confirm(op: Operation, checked: dict[str, Any]) -> Proceed | Stop:
        if yes:
            return Proceed("operator")
        preview = await build_preview(runtime.guard.reads, op, checked)
        print(preview.text, file=sys.stderr)
        if not sys.stdin.isatty():
            text = "Not executed: confirm on a terminal, or pass --yes to consent explicitly."
            return Stop(refusal(text, "no_terminal"), "refused: no terminal")
        answer = input("Run this once, exactly as shown? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            return Stop(refusal("Not executed: declined at the terminal.", "declined"), "declined")
        return Proceed("terminal")

    try:
        result = await run_call(runtime, runtime.policy, name, arguments, confirm=confirm, caller=CLI)
    except UnknownOperation:
        print(f"cap-mcp: unknown tool {name!r}; see `cap-mcp tools`", file=sys.stderr)
        return 2
    finally:
        await runtime.aclose()
    structured = getattr(result, "structured_content", None) or {}
    try:
        print(json.dumps(structured, indent=2, ensure_ascii=False), flush=True)
    except BrokenPipeError:
        # The reader went away (`... --yes | head -1`). If something ran, say how it ended where we still can.
        from .cli import stdout_gone

        stdout_gone()
        op = runtime.catalog.get(name)
        changed = op is not None and op.effect_for(arguments) != "read" and structured.get("http_status") is not None
        if changed and structured.get("outcome") in ("done", "partly_done", "unknown", "not_done"):
            answer = f"HTTP {structured.get('http_status')}"
            where = " (and in the audit log)" if runtime.audit.path is not None else ""
            print(f"cap-mcp: the reader of stdout went away before the whole result was written; {name} ran: "
                  f"{structured.get('outcome')} ({answer}){where}", file=sys.stderr)  # fmt: skip
    if not getattr(result, "is_error", False):
        return 0
    for block in getattr(result, "content", []):
        print(f"cap-mcp: {getattr(block, 'text', '')}", file=sys.stderr)
    status = structured.get("status")
    if status == "invalid_arguments":
        return 2
    if status == "not_executed" and structured.get("reason") == "no_terminal":
        return 3
    return 1
