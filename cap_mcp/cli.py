"""The `cap-mcp` command: serve, tools, call, sandbox, demo, check."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from . import __version__
from .config import ConfigError, Settings, load_settings
from .logsetup import LogConfigError, configure_logging

log = logging.getLogger("cap_mcp")


def _profile_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("what the model sees")
    group.add_argument(
        "--toolsets",
        help="comma-separated toolsets to list as tools: 'default' (the everyday support-desk tools), 'support', "
        "'core' (customer, points, coupon, transaction), 'all', or section names [CAP_MCP_TOOLSETS]",
    )
    group.add_argument("--tools", help="single tools to add, comma-separated [CAP_MCP_TOOLS]")
    group.add_argument("--exclude-tools", help="tools to hide, comma-separated [CAP_MCP_EXCLUDE_TOOLS]")
    group.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="list and allow only reads, whatever else is set [CAP_MCP_READ_ONLY]",
    )
    group.add_argument(
        "--dynamic",
        action="store_true",
        default=None,
        help="list only the search/describe/call discovery tools [CAP_MCP_DYNAMIC]",
    )
    group.add_argument(
        "--discovery",
        choices=["all", "selected", "off"],
        help="what the discovery tools reach: every operation (default), only the selected toolsets, or "
        "nothing (no discovery tools) [CAP_MCP_DISCOVERY]",
    )


def _connection_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where Capillary is")
    group.add_argument(
        "--sandbox", action="store_true", default=None, help="use the embedded sandbox (no credentials, no network)"
    )
    group.add_argument("--cluster", choices=["india", "apac", "apac2", "eu", "us", "china"], help="[CAP_MCP_CLUSTER]")
    group.add_argument("--base-url", help="full base URL, overrides --cluster [CAP_MCP_BASE_URL]")
    group.add_argument(
        "--auth",
        choices=["basic", "oauth"],
        help="[CAP_MCP_AUTH]; credentials come from "
        "CAP_MCP_USERNAME/CAP_MCP_PASSWORD or CAP_MCP_CLIENT_KEY/CAP_MCP_CLIENT_SECRET",
    )


def _guard_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("confirmation guards")
    group.add_argument(
        "--guards",
        choices=["all", "destructive", "off"],
        help="all (default): every change asks; destructive: writes run unasked; off: nothing asks "
        "(logged loudly) [CAP_MCP_GUARDS]",
    )
    group.add_argument(
        "--require-elicitation",
        action="store_true",
        default=None,
        help="no confirmation-token fallback [CAP_MCP_REQUIRE_ELICITATION]",
    )
    group.add_argument("--audit-log", help="JSON-lines audit file, or 'off' [CAP_MCP_AUDIT_LOG]")


LOG_FORMATS = ("text", "json")


def _logging_flags(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    unset = None if defaults else argparse.SUPPRESS
    parser.add_argument(
        "--log-level", default=unset,
        help="what goes to stderr: DEBUG, INFO (one line per tool call), WARNING (default) or ERROR; httpx, "
        "httpcore and sse_starlette stay at WARNING unless named, e.g. DEBUG,httpx=DEBUG (URLs are logged "
        "without their query strings either way) [CAP_MCP_LOG_LEVEL]",
    )  # fmt: skip
    parser.add_argument(
        "--log-format", choices=LOG_FORMATS, default=unset,
        help="text (default) or json (one object per line) [CAP_MCP_LOG_FORMAT]",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cap-mcp",
        description="MCP server for Capillary CRM and loyalty: every operation a tool, every change confirmed.",
    )
    parser.add_argument("--version", action="version", version=f"cap-mcp {__version__}")
    _logging_flags(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    logging_flags = argparse.ArgumentParser(add_help=False)
    _logging_flags(logging_flags, defaults=False)  # also accepted after the command

    serve = commands.add_parser(
        "serve",
        parents=[logging_flags],
        help="run the MCP server (stdio by default)",
        description="Run the MCP server. Configuration from flags and CAP_MCP_* variables.",
    )
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument("--stateless", action="store_true", help="HTTP without sessions, for several replicas")
    serve.add_argument(
        "--allow-unauthenticated-remote",
        action="store_true",
        help="allow binding a non-loopback address without CAP_MCP_HTTP_TOKEN (unsafe)",
    )
    _connection_flags(serve)
    _profile_flags(serve)
    _guard_flags(serve)

    tools = commands.add_parser(
        "tools", parents=[logging_flags], help="list the catalogue", description="List catalogued operations."
    )
    tools.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per operation (name, toolset, title, method, path, effect, guarded, input_schema, ...)",
    )
    tools.add_argument(
        "--toolset",
        "--toolsets",
        dest="toolset",
        help="only these toolsets, comma-separated, named as for `serve --toolsets` (default, all, support, "
        "a section in either spelling)",
    )
    tools.add_argument("--markdown", action="store_true", help="the README's tool table")

    call = commands.add_parser(
        "call",
        parents=[logging_flags],
        help="call one operation from the terminal",
        description="Call one operation. Guarded operations show a preview and ask y/N; "
        "--yes is explicit consent for scripts, recorded in the audit log.",
    )
    call.add_argument("name")
    call.add_argument("--args", default="{}", help="arguments as a JSON object")
    call.add_argument("--yes", action="store_true", help="consent to a guarded operation without asking")
    _connection_flags(call)
    _profile_flags(call)
    _guard_flags(call)

    sandbox = commands.add_parser(
        "sandbox",
        parents=[logging_flags],
        help="serve the Capillary sandbox on 127.0.0.1",
        description="Serve the embedded Capillary simulation over HTTP on 127.0.0.1.",
    )
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--seed", action="store_true", help="print the seed customers as JSON and exit")
    sandbox.add_argument("--token-ttl", type=float, default=3600.0, help="OAuth token lifetime in seconds")

    commands.add_parser(
        "demo",
        parents=[logging_flags],
        help="walk a support scenario against the sandbox through a real MCP client",
        description="Start `cap-mcp serve --sandbox` over stdio and drive it with an MCP client.",
    )
    commands.add_parser("check", parents=[logging_flags], help="validate every toolset file against the meta-schema")
    return parser


def _settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    names = (
        "sandbox",
        "cluster",
        "base_url",
        "auth",
        "toolsets",
        "tools",
        "exclude_tools",
        "read_only",
        "dynamic",
        "discovery",
        "guards",
        "require_elicitation",
        "audit_log",
    )
    overrides = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    overrides.update(extra)
    return load_settings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    _without_httpx_command_line()
    args = build_parser().parse_args(argv)
    try:
        _configure_logging(args)
        status = _run(args)
        sys.stdout.flush()  # a reader that went away shows here, where it is handled, not at exit
        return status
    except (ConfigError, LogConfigError) as exc:
        print(f"cap-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`cap-mcp tools | head -1`): stop quietly, as a program killed by SIGPIPE would.
        stdout_gone()
        return 141


def _without_httpx_command_line() -> None:
    """httpx imports its own command-line client when it is imported (click, pygments and rich where
    installed; pygments alone took ~9 ms of every start); cap-mcp never runs it, so an empty stand-in takes
    its place and httpx falls back to its stub, as it does when those packages are missing."""
    sys.modules.setdefault("httpx._main", ModuleType("httpx._main"))


def stdout_gone() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


def _configure_logging(args: argparse.Namespace) -> None:
    spec = args.log_level or "WARNING"
    log_format = args.log_format or os.environ.get("CAP_MCP_LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"CAP_MCP_LOG_FORMAT: {log_format!r} is not a log format; use {' or '.join(LOG_FORMATS)}")
    configure_logging(spec, log_format)


def _run(args: argparse.Namespace) -> int:
    if args.command == "tools":
        return _tools(args)
    if args.command == "check":
        from .catalog import load_catalog

        catalog = load_catalog(validate=True)
        print(f"ok: {len(catalog)} operations in {len(catalog.toolsets)} toolsets")
        return 0
    if args.command == "serve":
        from .serve import serve

        return serve(
            _settings_from(args),
            transport=args.transport,
            host=args.host,
            port=args.port,
            stateless=args.stateless,
            allow_unauthenticated_remote=args.allow_unauthenticated_remote,
        )
    if args.command == "call":
        from .terminal import call_from_terminal

        return call_from_terminal(_settings_from(args), args.name, args.args, yes=args.yes)
    if args.command == "sandbox":
        from .sandbox.serve import run_sandbox

        return run_sandbox(port=args.port, seed_only=args.seed, token_ttl=args.token_ttl)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo()
    raise AssertionError(args.command)


def _tools(args: argparse.Namespace) -> int:
    from .catalog import load_catalog
    from .profiles import build_profile

    catalog = load_catalog(validate=False)
    ops = list(catalog)
    if args.toolset:
        names = [part.strip() for part in args.toolset.split(",") if part.strip()]
        try:
            listed = build_profile(catalog, toolsets=names).listed  # what `serve --toolsets` would list
            ops = [op for op in listed if catalog.operations.get(op.name) is op]
        except ConfigError as exc:
            # The same names as `serve --toolsets`, and the same list of valid ones; only the flag differs.
            raise ConfigError("--toolset: " + str(exc).split(": ", 1)[-1]) from None
    ops.sort(key=lambda op: (op.toolset, op.name))
    if args.json:
        json.dump([op.describe() for op in ops], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if args.markdown:
        sys.stdout.write(markdown_table(catalog, ops))
        return 0
    counts = Counter(op.toolset for op in ops)
    width = max((len(op.name) for op in ops), default=10)
    current = None
    for op in ops:
        if op.toolset != current:
            current = op.toolset
            print(f"\n{current} ({counts[current]} operations)")
        guard = " [confirms]" if op.guarded else ""
        opt_in = " [opt-in: --tools]" if op.opt_in else ""
        print(f"  {op.name:<{width}}  {effect_label(op):<11} {op.method:<6} {op.path}{guard}{opt_in}")
    print(f"\n{len(ops)} operations in {len(counts)} toolsets")
    return 0


def markdown_table(catalog: Any, ops: list[Any]) -> str:
    """Tools per toolset as Markdown, for the README (kept in sync by a test)."""
    counts = Counter(op.toolset for op in ops)
    lines = [
        f"{len(ops)} operations in {len(counts)} toolsets. ✋ = asks for confirmation by default; "
        "🔒 = opt-in, offered only when named with `--tools`.",
        "",
    ]
    for name in sorted(counts):
        toolset = catalog.toolsets[name]
        lines += [
            f"<details><summary><b>{name}</b> — {counts[name]} operations: {toolset.description}</summary>",
            "",
            "| tool | effect | method and path |",
            "|---|---|---|",
        ]
        for op in (o for o in ops if o.toolset == name):
            mark = (" ✋" if op.guarded else "") + (" 🔒" if op.opt_in else "")
            lines.append(f"| `{op.name}`{mark} | {effect_label(op)} | `{op.method} {op.path}` |")
        lines += ["", "</details>", ""]
    return "\n".join(lines)


def effect_label(op: Any) -> str:
    """The effect, and the stronger one some arguments give (e.g. a check that can also send an OTP)."""
    return op.effect if op.max_effect == op.effect else f"{op.effect}; {op.max_effect} with some arguments"
