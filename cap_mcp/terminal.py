"""`cap-mcp call`: one operation from the terminal, with the same validation, preview and audit as the server."""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio

from .config import ConfigError, Settings
from .previews import build_preview
from .results import outcome_result
from .runtime import Runtime, build_runtime
from .validation import argument_errors

CLI: dict[str, Any] = {"caller": "terminal", "session": "cli"}


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
    try:
        op = runtime.catalog.get(name)
        if op is None:
            print(f"cap-mcp: unknown tool {name!r}; see `cap-mcp tools`", file=sys.stderr)
            return 2
        problems = argument_errors(op, arguments)
        if problems:
            print(f"cap-mcp: invalid arguments for {name}: " + "; ".join(problems), file=sys.stderr)
            return 2
        how = "policy"
        if runtime.guard.guards(op):
            if yes:
                how = "operator"
            else:
                preview = await build_preview(runtime.guard.reads, op, arguments)
                print(preview.text, file=sys.stderr)
                if not sys.stdin.isatty():
                    print(
                        "cap-mcp: not executed: confirm on a terminal, or pass --yes to consent explicitly",
                        file=sys.stderr,
                    )
                    runtime.audit.call(
                        op.name, op.effect, arguments, confirmed_by=None, decision="refused: no terminal", **CLI
                    )
                    return 3
                answer = input("Run this once, exactly as shown? [y/N] ").strip().lower()
                if answer not in ("y", "yes"):
                    print("Not executed.", file=sys.stderr)
                    runtime.audit.call(op.name, op.effect, arguments, confirmed_by=None, decision="declined", **CLI)
                    return 1
                how = "terminal"
        outcome = await runtime.client.call(op, arguments)
        if op.guarded:
            runtime.audit.call(op.name, op.effect, arguments, confirmed_by=how, result=outcome, **CLI)
        result = outcome_result(op, outcome)
        try:
            print(json.dumps(result.structured_content, indent=2, ensure_ascii=False), flush=True)
        except BrokenPipeError:
            # The reader went away (`... --yes | head -1`). A change has run: say how it ended where we still can.
            from .cli import stdout_gone

            stdout_gone()
            if op.effect != "read":
                where = " (and in the audit log)" if op.guarded and runtime.audit.path is not None else ""
                status = f"HTTP {outcome.http_status}" if outcome.http_status else "no HTTP answer"
                print(f"cap-mcp: the reader of stdout went away before the whole result was written; {op.name} "
                      f"ran: {outcome.status} ({status}){where}", file=sys.stderr)  # fmt: skip
        return 1 if result.is_error else 0
    finally:
        await runtime.aclose()
