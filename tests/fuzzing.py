"""The fuzz engine: one `cap-mcp serve` over stdio, a real MCP client, the recorder, and the checks of every call.

Used by tests/test_fuzz.py (which asserts the zero targets) and benchmarks/fuzz.py (which prints the figures).
A hypothesis example for a tool is a `Plan` (tests/fuzz_strategies.py): arguments, the answer "Capillary"
gives, and what to do with a confirmation token. `Harness.run(op, plan)` makes the calls and returns what went
wrong, each finding filed under one of the summary figures.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import anyio
import mcp_types as types
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fuzz_strategies import Plan, explicit_plans, plans
from hypothesis import HealthCheck, example, given, seed, settings
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.message import SessionMessage
from recorder import Recorded, Recorder, Reply

from cap_mcp.catalog import Catalog, Operation, load_catalog
from cap_mcp.validation import coerce_arguments, too_deep

ROOT = Path(__file__).resolve().parent.parent
OUTCOMES = {"done", "partly_done", "not_done", "unknown"}
CALL_TIMEOUT = 60.0
CLIENT_DEPTH = 200  # the SDK client's encoder refuses arguments deeper than about 255 levels
LONG = os.environ.get("CAP_MCP_FUZZ") == "long"
# A retried read waits its backoff (~0.2 s): in the short run reads are sent once, in the long run retried once.
READ_RETRIES = 1 if LONG else 0
# Headers any request may carry besides the operation's own: httpx's and cap-mcp's fixed ones.
STANDARD_HEADERS = {
    "host", "accept", "accept-encoding", "connection", "user-agent", "content-type", "content-length",
    "authorization", "x-cap-api-oauth-token",
}  # fmt: skip
NOT_SENT_WORDS = "nothing was sent"

# The summary figures, in print order: (key, label, target; None = no target, just a count).
FIGURES: list[tuple[str, str, int | None]] = [
    ("calls", "tool calls made", None),
    ("tools", "tools covered", None),
    ("upstream_requests", "upstream requests", None),
    ("confirmed_calls", "calls confirmed with a token", None),
    ("preview_reads", "reads made for confirmation previews", None),
    ("off_template", "requests off-template", 0),
    ("unconfirmed_writes", "guarded writes without confirmation", 0),
    ("jsonrpc_errors", "JSON-RPC errors (or no answer)", 0),
    ("process_exits", "server process exits", 0),
    ("not_sent_reported_sent", '"not sent" reported as sent', 0),
    ("sent_reported_not_sent", 'requests sent after "nothing was sent"', 0),
    ("bad_outcome", "results with a missing/invalid outcome", 0),
    ("invalid_json", "results that are not strict JSON", 0),
    ("repeated_writes", "writes sent more than once", 0),
]


DEFAULT_EXAMPLES = 16  # per tool: about a minute for all 264 tools over stdio on a 2-core machine
LONG_EXAMPLES = 200  # about half an hour


def fuzz_examples() -> int:
    """Hypothesis examples per tool: CAP_MCP_FUZZ_EXAMPLES=N, else many more with CAP_MCP_FUZZ=long."""
    if os.environ.get("CAP_MCP_FUZZ_EXAMPLES"):
        return int(os.environ["CAP_MCP_FUZZ_EXAMPLES"])
    return LONG_EXAMPLES if LONG else DEFAULT_EXAMPLES


@dataclass
class Stats:
    counts: Counter[str] = field(default_factory=Counter)
    tools: set[str] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def add(self, figure: str, message: str) -> None:
        self.counts[figure] += 1
        if len(self.findings) < 200:
            self.findings.append(f"[{figure}] {message}")

    def figure(self, key: str) -> int:
        return len(self.tools) if key == "tools" else self.counts[key]

    def failures(self) -> dict[str, int]:
        """The figures with a target of zero that are not zero."""
        return {key: self.figure(key) for key, _, target in FIGURES if target == 0 and self.figure(key)}

    def rows(self) -> list[list[str]]:
        return [
            [label, str(self.figure(key)), "-" if target is None else str(target)] for key, label, target in FIGURES
        ]

    def summary(self, title: str = "fuzz") -> str:
        width = max(len(label) for _, label, _ in FIGURES)
        lines = [f"{title}: {time.perf_counter() - self.started:.1f} s"]
        lines += [f"  {label:<{width}}  {count:>8}  target {target}" for label, count, target in self.rows()]
        lines.append("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())))
        return "\n".join(lines)


# --- the client side: the SDK's stdio transport, able to send what its own encoder refuses ----------------


class _Encoded:
    """Stands in for a message the SDK cannot encode (pydantic stops at ~255 levels): the stdio writer only asks
    a message for `model_dump_json`, and this one answers with Python's own encoding."""

    def __init__(self, message: Any) -> None:
        self._text = json.dumps(message.model_dump(by_alias=True, exclude_unset=True), ensure_ascii=False)

    def model_dump_json(self, **_: Any) -> str:
        return self._text


@asynccontextmanager
async def deep_stdio(params: StdioServerParameters) -> AsyncIterator[tuple[Any, Any]]:
    """`stdio_client`, with a relay in front of its writer so that 500-deep arguments can be sent."""
    async with stdio_client(params) as (read_stream, write_stream):
        send, receive = anyio.create_memory_object_stream[SessionMessage](0)

        async def relay() -> None:
            async with receive:
                async for item in receive:
                    try:
                        item.message.model_dump_json(by_alias=True, exclude_unset=True)
                    except ValueError:
                        item = SessionMessage(_Encoded(item.message))  # type: ignore[arg-type]
                    await write_stream.send(item)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(relay)
            try:
                yield read_stream, send
            finally:
                send.close()
                tasks.cancel_scope.cancel()


def server_env(base_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    return {
        "CAP_MCP_BASE_URL": base_url,
        "CAP_MCP_USERNAME": "store.server",
        "CAP_MCP_PASSWORD": "server123",
        "CAP_MCP_AUDIT_LOG": str(workdir / "audit.jsonl"),
        "CAP_MCP_READ_RETRIES": str(READ_RETRIES),
        "CAP_MCP_READ_TIMEOUT": "10",
        **extra,
    }


def catalogue_ops() -> list[Operation]:
    """Every tool `cap-mcp tools --json` lists, as catalogue operations (which carry the examples)."""
    import subprocess

    listed = json.loads(
        subprocess.run(
            [sys.executable, "-m", "cap_mcp", "tools", "--json"], cwd=ROOT, capture_output=True, check=True, text=True
        ).stdout
    )
    catalog: Catalog = load_catalog(validate=False)
    return [catalog.operations[tool["name"]] for tool in listed]


# --- what "Capillary" answers --------------------------------------------------------------------------


def reply_for(op: Operation, kind: str) -> Reply:
    example = op.example
    if kind == "example":
        return Reply(int(example.get("status", 200)), example.get("response", {}))
    html = {"Content-Type": "text/html"}
    return {
        "error_400": Reply(400, {"errors": [{"code": 8015, "message": "rejected"}], "warnings": []}),
        "error_500": Reply(500, {"errors": [{"code": 500, "message": "internal"}]}),
        "html_502": Reply(502, b"<html>bad gateway</html>", headers=html),
        "html_200": Reply(200, b"<html>maintenance</html>", headers=html),
        "partial_201": Reply(201, {"data": [{"id": 1}], "errors": [{"code": 8015, "message": "one item failed"}]}),
        "empty_204": Reply(204, b""),
        "redirect_302": Reply(302, b"", headers={"Location": "http://127.0.0.1:9/elsewhere"}),
        "drop": Reply(drop=True),
        "odd_json": Reply(200, b'{"data": {"n": NaN, "s": "\\ud800", "big": 1e400}, "errors": []}'),
    }[kind]


# --- the harness ----------------------------------------------------------------------------------------


@dataclass
class Call:
    """One tools/call and everything it caused."""

    arguments: dict[str, Any]
    result: types.CallToolResult | None
    error: str | None
    requests: list[Recorded]
    rejected: int

    @property
    def structured(self) -> dict[str, Any]:
        return (self.result.structured_content or {}) if self.result is not None else {}

    @property
    def status(self) -> str | None:
        return self.structured.get("status")

    @property
    def text(self) -> str:
        if self.result is None or not self.result.content:
            return ""
        first = self.result.content[0]
        return first.text if isinstance(first, types.TextContent) else ""


class Harness:
    """A recorder, a blocking portal and an MCP client session on `python -m cap_mcp serve --toolsets all`."""

    def __init__(self, ops: list[Operation], workdir: Path | None = None, *, mode: str = "auto") -> None:
        self.reads = [op for op in ops if op.effect == "read"]
        self._stack = ExitStack()
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="cap-mcp-fuzz-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.mode = mode
        self.stats = Stats()
        self.recorder = Recorder()
        self._reply = Reply()
        self.portal: BlockingPortal
        self.client: Client

    def __enter__(self) -> Harness:
        self._stack.enter_context(self.recorder)
        self.recorder.rules.append(lambda item: self._reply)
        self.portal = self._stack.enter_context(start_blocking_portal())
        self._connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _connect(self) -> None:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "cap_mcp", "serve", "--toolsets", "all"],
            cwd=str(ROOT),
            env=server_env(self.recorder.url, self.workdir),
        )
        client = Client(deep_stdio(params), mode=self.mode, cache=None)  # type: ignore[arg-type]
        self.client = self._stack.enter_context(self.portal.wrap_async_context_manager(client))

    def list_tools(self) -> list[types.Tool]:
        return self.portal.call(self.client.list_tools).tools  # type: ignore[no-any-return]

    def alive(self) -> bool:
        """The server still answers (and so its process has not exited)."""
        try:
            self.portal.call(lambda: _with_timeout(self.client.list_tools(), 30))
        except Exception:
            return False
        return True

    def call(self, op: Operation, arguments: dict[str, Any], reply: Reply) -> Call:
        self._reply = reply
        before, rejected_before = len(self.recorder.requests), self.recorder.rejected
        result: types.CallToolResult | None = None
        error = None
        try:
            result = self.portal.call(self._call_tool, op.name, arguments)
        except Exception as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        requests = [r for r in self.recorder.requests[before:] if r.path != "/v3/oauth/token/generate"]
        call = Call(arguments, result, error, requests, self.recorder.rejected - rejected_before)
        self.stats.counts["calls"] += 1
        self.stats.counts["upstream_requests"] += len(requests)
        self.stats.tools.add(op.name)
        if error is not None:
            self.stats.add("jsonrpc_errors", f"{op.name}: {error} for {_short(arguments)}")
            if not self.alive():
                self.stats.add("process_exits", f"{op.name}: the server stopped answering after {_short(arguments)}")
                self._connect()
        return call

    async def _call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        if depth(arguments) < CLIENT_DEPTH:
            return await self.client.call_tool(name, arguments, read_timeout_seconds=CALL_TIMEOUT)
        # The SDK client encodes a request with pydantic, which stops at ~255 levels, before anything is sent.
        # Deeper arguments go the same way minus that step: the session's own stamp (protocol version, client
        # capabilities) and dispatcher, on the same connection; `deep_stdio` writes the line.
        session = self.client.session
        request = types.CallToolRequest(params=types.CallToolRequestParams(name=name, arguments={}))
        data = request.model_dump(by_alias=True, mode="json", exclude_none=True)
        opts: dict[str, Any] = {"timeout": CALL_TIMEOUT}
        session._stamp(data, opts)  # type: ignore[arg-type]
        data["params"]["arguments"] = arguments
        raw = await session._dispatcher.send_raw_request("tools/call", data["params"], opts)  # type: ignore[arg-type]
        return types.CallToolResult.model_validate(raw, by_name=False)

    # --- one example ----------------------------------------------------------------------------------

    def run(self, op: Operation, plan: Plan, *, foreign: Operation | None = None) -> list[str]:
        """Make the plan's calls and check each; the findings (also counted in `stats`)."""
        found: list[str] = []
        reply = reply_for(op, plan.reply)
        first = self.call(op, plan.arguments, reply)
        found += self.check(op, first, allowed=0 if asks(op, plan.arguments) else None)
        if not asks(op, plan.arguments) or first.status != "confirmation_required":
            return found
        token = first.structured.get("confirmation_token")
        if not isinstance(token, str):
            return [*found, self._file("bad_outcome", f"{op.name}: confirmation_required without a token")]
        if plan.guard == "confirm" or plan.guard == "reuse":
            confirmed = self.call(op, {**plan.arguments, "confirmation_token": token}, reply)
            self.stats.counts["confirmed_calls"] += 1
            found += self.check(op, confirmed, allowed=1)
            if plan.guard == "reuse":
                again = self.call(op, {**plan.arguments, "confirmation_token": token}, reply)
                found += self.check(op, again, allowed=0)
                found += self._expect_refused(op, again, "token_used")
        elif plan.guard == "alter" and _canonical(plan.altered) != _canonical(plan.arguments):
            altered = self.call(op, {**plan.altered, "confirmation_token": token}, reply)
            # A change of arguments that turns the call into a plain read ("issueOtp": false) needs no
            # confirmation, so the token is beside the point and the read runs; any other change is refused.
            still_asks = asks(op, plan.altered)
            found += self.check(op, altered, allowed=0 if still_asks else None)
            if still_asks and altered.status != "invalid_arguments":
                found += self._expect_refused(op, altered, "token_mismatch")
        elif plan.guard == "foreign" and foreign is not None:
            stolen = self.call(foreign, {**foreign.example["arguments"], "confirmation_token": token}, reply)
            found += self.check(foreign, stolen, allowed=0)
            found += self._expect_refused(foreign, stolen, "token_foreign")
        return found

    def _expect_refused(self, op: Operation, call: Call, why: str) -> list[str]:
        if call.result is None or call.status in ("not_executed", "invalid_arguments"):
            return []
        return [self._file("unconfirmed_writes", f"{op.name}: {why} not refused: status {call.status!r}")]

    def _file(self, figure: str, message: str) -> str:
        self.stats.add(figure, message)
        return f"[{figure}] {message}"

    # --- the checks of one call -----------------------------------------------------------------------

    def check(self, op: Operation, call: Call, *, allowed: int | None) -> list[str]:
        """Check one call's result and requests. `allowed`: most requests a guarded call may cause (None: a read)."""
        found: list[str] = []

        def bad(figure: str, message: str) -> None:
            found.append(self._file(figure, f"{op.name}: {message} [arguments {_short(call.arguments)}]"))

        if call.result is None:
            return found  # already counted as a JSON-RPC error
        structured = call.structured
        outcome = structured.get("outcome")
        self.stats.outcomes[str(outcome)] += 1
        if outcome not in OUTCOMES:
            bad("bad_outcome", f"outcome {outcome!r}, text {call.text[:160]!r}")
        if outcome == "unknown" and "verify_with" not in structured:
            bad("bad_outcome", "an unknown outcome that names no verify tool")
        if (
            outcome == "unknown"
            and op.verify_with
            and (structured.get("verify_with") or {}).get("tool") != op.verify_with
        ):
            bad("bad_outcome", f"an unknown outcome naming {structured.get('verify_with')!r}, not {op.verify_with}")
        try:
            json.dumps(call.result.model_dump(mode="json", by_alias=True), allow_nan=False, ensure_ascii=False).encode()
        except (ValueError, UnicodeEncodeError) as exc:
            bad("invalid_json", f"result is not strict JSON: {exc}")
        own = [r for r in call.requests if same_template(op, r)]
        others = [r for r in call.requests if not same_template(op, r)]
        reached = len(own) + call.rejected
        says_not_sent = NOT_SENT_WORDS in call.text or call.status in ("invalid_arguments", "confirmation_required")
        if says_not_sent and reached:
            bad("sent_reported_not_sent", f"says nothing was sent, yet {reached} request(s) arrived")
        executed = call.status not in ("invalid_arguments", "confirmation_required", "not_executed", "not_available")
        if executed and not reached and (outcome != "not_done" or NOT_SENT_WORDS not in call.text):
            bad("not_sent_reported_sent", f"no request left, yet the result says {outcome}: {call.text[:160]!r}")
        if allowed is not None and reached > allowed:
            figure = "unconfirmed_writes" if allowed == 0 else "repeated_writes"
            bad(figure, f"{reached} request(s) for a call allowed {allowed} (status {call.status!r})")
        if allowed is None and reached > 1 + READ_RETRIES:
            bad("repeated_writes", f"{reached} requests for one read")
        for request in own:
            for problem in template_problems(op, as_sent(op, call.arguments), request):
                bad("off_template", problem)
        # A confirmation preview may read first (a balance, an "is it allowed" check): only catalogued reads.
        for request in others:
            reads = [read for read in self.reads if same_template(read, request)]
            if not reads:
                bad("off_template", f"{request.method} {request.path!r} matches no catalogued read")
            elif call.status != "confirmation_required":
                bad("off_template", f"{request.method} {request.path!r} ({reads[0].name}) sent outside a preview")
            else:
                self.stats.counts["preview_reads"] += 1
                for problem in loose_template_problems(reads[0], request):
                    bad("off_template", f"preview read {reads[0].name}: {problem}")
        return found


def asks(op: Operation, arguments: Mapping[str, Any]) -> bool:
    """Whether this call needs a confirmation (every change does under the default guards policy): by the
    effect of the call itself, so a check that only sends an OTP when asked to is guarded only then."""
    sent = as_sent(op, arguments)
    if not isinstance(sent, dict):
        return op.guarded
    try:
        return op.effect_for(sent) != "read"
    except Exception:  # arguments no schema could accept: the call is refused before any guard
        return op.guarded


def as_sent(op: Operation, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
    """The arguments as the server sends them: converted to the schema's types where that is exact."""
    if not isinstance(arguments, dict) or too_deep(arguments):
        return arguments
    return coerce_arguments(op, arguments)


def same_template(op: Operation, request: Recorded) -> bool:
    """Whether a request has the operation's method, number of path segments and literal segments."""
    template, actual = op.path.split("/"), request.path.split("/")
    return (
        request.method == op.method
        and len(template) == len(actual)
        and all(want == got or want.startswith("{") for want, got in zip(template, actual, strict=True))
    )


def loose_template_problems(op: Operation, request: Recorded) -> list[str]:
    """The checks that need no argument values: placeholder segments and query and header names."""
    problems = []
    for want, got in zip(op.path.split("/"), request.path.split("/"), strict=True):
        if want.startswith("{") and unquote(got).strip() in ("", ".", ".."):
            problems.append(f"path segment {got!r} for {want} is empty or a dot segment")
    names = {a.wire for a in op.args if a.location == "query"} | set(op.constants.get("query", {}))
    stray = sorted({name for name, _ in request.query} - names)
    if stray:
        problems.append(f"undeclared query name(s) {stray}")
    declared = {a.wire.lower() for a in op.args if a.location == "header"}
    stray = sorted(set(request.headers) - STANDARD_HEADERS - declared)
    if stray:
        problems.append(f"undeclared header(s) {stray}")
    return problems


def template_problems(op: Operation, arguments: Mapping[str, Any], request: Recorded) -> list[str]:
    """How a recorded request differs from the operation's method, path template, query names and headers."""
    problems = []
    if request.method != op.method:
        problems.append(f"method {request.method}, not {op.method}")
    template = op.path.split("/")
    actual = request.path.split("/")
    wires = {a.wire: a for a in op.args if a.location == "path"}
    if len(template) != len(actual):
        problems.append(f"path {request.path!r} has {len(actual)} segments, the template {op.path!r} {len(template)}")
    else:
        for want, got in zip(template, actual, strict=True):
            if want.startswith("{") and want.endswith("}"):
                arg = wires[want[1:-1]]
                expected = quote(_scalar(arguments.get(arg.name)), safe="")
                if unquote(got).strip() in ("", ".", ".."):
                    problems.append(f"path segment {got!r} for {arg.name} is empty or a dot segment")
                elif got != expected:
                    problems.append(f"path segment {got!r} for {arg.name}, expected {expected!r}")
            elif got != want:
                problems.append(f"path segment {got!r}, the template has {want!r}")
    names = {a.wire for a in op.args if a.location == "query"} | set(op.constants.get("query", {}))
    stray = sorted({name for name, _ in request.query} - names)
    if stray:
        problems.append(f"undeclared query name(s) {stray}")
    expected_query = expected_params(op, arguments)
    if not stray and sorted(request.query) != sorted(expected_query):
        problems.append(f"query {request.query!r}, expected {expected_query!r}")
    declared = {a.wire.lower() for a in op.args if a.location == "header"}
    declared |= {name.lower() for name in op.constants.get("headers", {})}
    stray = sorted(set(request.headers) - STANDARD_HEADERS - declared)
    if stray:
        problems.append(f"undeclared header(s) {stray}")
    problems += body_problems(op, arguments, request)
    return problems


def expected_params(op: Operation, arguments: Mapping[str, Any]) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for arg in op.args:
        value = arguments.get(arg.name)
        if arg.location != "query" or value is None:
            continue
        if isinstance(value, list) and arg.style == "repeat":
            params += [(arg.wire, _scalar(item)) for item in value]
        elif isinstance(value, list):
            params.append((arg.wire, ",".join(_scalar(item) for item in value)))
        else:
            params.append((arg.wire, _scalar(value)))
    return params + list(op.constants.get("query", {}).items())


def body_problems(op: Operation, arguments: Mapping[str, Any], request: Recorded) -> list[str]:
    """A JSON body is strict JSON, holds each body argument at its dotted place and nothing undeclared on top."""
    if not request.body or "json" not in (request.header("Content-Type") or ""):
        return []
    try:
        body = json.loads(request.body, parse_constant=_refuse)
    except (ValueError, RecursionError) as exc:
        return [f"the body is not strict JSON ({exc})"]
    payload = next((a for a in op.args if a.location == "payload"), None)
    if payload is not None:
        return [] if body == arguments.get(payload.name, {}) else ["the body is not the payload argument"]
    problems = []
    body_args = [a for a in op.args if a.location == "body"]
    tops = {a.wire.split(".")[0] for a in body_args}
    if isinstance(body, dict) and set(body) - tops:
        problems.append(f"undeclared body field(s) {sorted(set(body) - tops)}")
    for arg in body_args:
        if arguments.get(arg.name) is not None and _dig(body, arg.wire) != arguments[arg.name]:
            problems.append(f"body field {arg.wire} differs from argument {arg.name}")
    return problems


def _dig(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _scalar(value: Any) -> str:
    """How a value is written in a URL: JSON's spelling for true/false, whole numbers in digits, compact JSON for
    containers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def depth(value: Any) -> int:
    """How deep containers nest in a value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _canonical(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (ValueError, RecursionError):
        return repr(value)


def _short(value: Any, limit: int = 300) -> str:
    try:
        text = json.dumps(value, ensure_ascii=True, default=str)
    except (ValueError, RecursionError):  # an integer of thousands of digits, say
        text = f"<{type(value).__name__} that JSON cannot show>"
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


async def _with_timeout(awaitable: Any, seconds: float) -> Any:
    with anyio.fail_after(seconds):
        return await awaitable


def server_pids() -> set[int]:
    """This process's children running `cap_mcp serve` (Linux /proc), to check that the server never exits."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if parent == str(os.getpid()) and b"cap_mcp" in command and b"serve" in command and "zombie" not in status:
            pids.add(int(entry.name))
    return pids


# --- raw JSON-RPC lines on a server's stdin ----------------------------------------------------------------


class RawServer:
    """`python -m cap_mcp serve` driven line by line, for what no SDK client would send."""

    def __init__(self, base_url: str, workdir: Path) -> None:
        import subprocess
        import threading
        from queue import Queue

        self.workdir = workdir
        env = {"PATH": os.environ.get("PATH", ""), **server_env(base_url, workdir)}
        self._stderr = (workdir / "raw-server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cap_mcp", "serve", "--toolsets", "all"],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
        )  # fmt: skip
        self._lines: Queue[bytes] = Queue()

        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self._lines.put(line)

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()

    def send(self, line: bytes, *, answer: bool = True, timeout: float = 30.0) -> dict[str, Any] | None:
        """Write one line; the next line the server writes, parsed (None when none came in time)."""
        from queue import Empty

        assert self.process.stdin is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()
        if not answer:
            return None
        try:
            raw = self._lines.get(timeout=timeout)
        except Empty:
            return None
        value: dict[str, Any] = json.loads(raw, parse_constant=_refuse)
        return value

    def handshake(self) -> dict[str, Any] | None:
        hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        answer = self.send(_line({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}))
        self.send(_line({"jsonrpc": "2.0", "method": "notifications/initialized"}), answer=False)
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()
        self._pump.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._stderr.close()


def _line(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def call_line(request_id: int, name: str, arguments: dict[str, Any]) -> bytes:
    """A tools/call line (Python's encoder: it goes deeper than pydantic's)."""
    return _line(
        {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    )


def _call_line(request_id: int, name: str, arguments_json: bytes) -> bytes:
    head = b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":' % (
        request_id,
        name.encode(),
    )
    return head + arguments_json + b"}}"


@dataclass(frozen=True)
class Malformed:
    """A line and the answer it must get: an error `code` with `id`, or a tool result (code None)."""

    name: str
    line: bytes
    code: int | None
    id: int | str | None
    status: str | None = None  # the result's status, when it must be refused before anything is sent


def _with(tool: str, extra: bytes) -> bytes:
    """The tool's example arguments plus a raw JSON member, as JSON text."""
    example = load_catalog(validate=False).operations[tool].example["arguments"]
    return json.dumps(example, separators=(",", ":")).encode()[:-1] + b"," + extra + b"}"


LOOKUP = b'{"identifierName":"mobile","identifierValue":"919800000001","source":"INSTORE"'
MALFORMED = [
    Malformed("not JSON", b"hello", -32700, None),
    Malformed("empty line", b"", -32700, None),
    Malformed("cut off", b'{"jsonrpc":"2.0","id":3,"method":"ping"', -32700, None),
    Malformed("a batch", b'[{"jsonrpc":"2.0","id":3,"method":"ping"}]', -32600, None),
    Malformed("an empty batch", b"[]", -32600, None),
    Malformed("a bare number", b"42", -32600, None),
    Malformed("null", b"null", -32600, None),
    Malformed("a request without method", b'{"jsonrpc":"2.0","id":4}', -32600, 4),
    Malformed("a string id without method", b'{"jsonrpc":"2.0","id":"abc","params":{}}', -32600, "abc"),
    Malformed("JSON-RPC 1.0", b'{"jsonrpc":"1.0","id":5,"method":"ping"}', -32600, 5),
    Malformed("params that are a list", b'{"jsonrpc":"2.0","id":6,"method":"tools/call","params":[1]}', -32600, 6),
    Malformed("an unknown method", b'{"jsonrpc":"2.0","id":7,"method":"no/such"}', -32601, 7),
    Malformed("an unknown tool", _call_line(8, "no_such_tool", b"{}"), -32602, 8),
    Malformed("nested 100000 deep", b"[" * 100_000 + b"]" * 100_000, -32700, None),
    Malformed("a call nested 100000 deep", _call_line(9, "customer_lookup", b"[" * 100_000 + b"]" * 100_000),
              -32700, None),
    Malformed("NUL bytes", b"\x00\x00\x00", -32700, None),
    Malformed("a NUL byte inside a string", b'{"jsonrpc":"2.0","id":10,"method":"ping\x00"}', -32700, None),
    Malformed("a lone surrogate escape", _call_line(11, "customer_lookup", LOOKUP + b',"accountId":"\\ud800"}'),
              -32700, None),
    Malformed("2 MB of garbage", b"{" + b"x" * 2_000_000, -32700, None),
    Malformed("NaN", _call_line(12, "customer_lookup", LOOKUP + b',"accountId":NaN}'), None, 12),
    Malformed("NaN for a number", _call_line(18, "user_group_transactions", _with("user_group_transactions",
              b'"min_amount":NaN')), None, 18, "invalid_arguments"),
    Malformed("1e400 for a number", _call_line(19, "user_group_transactions", _with("user_group_transactions",
              b'"max_amount":-1e400')), None, 19, "invalid_arguments"),
    Malformed("Infinity for a number in a body", _call_line(20, "points_group_is_transferrable",
              _with("points_group_is_transferrable", b'"pointsTobeTransferred":Infinity')), None, 20,
              "invalid_arguments"),
    Malformed("a call nested 500 deep", _call_line(13, "customer_lookup", LOOKUP + b',"x":' + b'{"a":' * 500
              + b"1" + b"}" * 500 + b"}"), None, 13),
    Malformed("an integer of 5000 digits", _call_line(14, "customer_lookup", LOOKUP + b',"accountId":'
              + b"9" * 5000 + b"}"), None, 14),
    Malformed("a 2 MB argument", _call_line(15, "customer_lookup", LOOKUP + b',"accountId":"' + b"x" * 2_000_000
              + b'"}'), None, 15),
    Malformed("an escaped NUL in an argument", _call_line(16, "customer_lookup", LOOKUP + b',"accountId":"a\\u0000b"}'),
              None, 16),
    Malformed("invalid UTF-8 in an argument", _call_line(17, "customer_lookup", LOOKUP + b',"accountId":"\xff\xfe"}'),
              None, 17),
]  # fmt: skip


# --- hypothesis, the same for the test and the benchmark --------------------------------------------------


def fuzz_tool(harness: Harness, op: Operation, examples: int, *, strict: bool, foreign: Operation) -> None:
    """Run `examples` hypothesis examples for one tool. strict: fail (and shrink) on the first finding."""

    @seed(zlib.crc32(op.name.encode()))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(plan=plans(op))
    def one(plan: Plan) -> None:
        findings = harness.run(op, plan, foreign=foreign)
        if strict:
            assert findings == [], "\n".join(findings)

    for plan in explicit_plans(op, everywhere=LONG):
        one = example(plan=plan)(one)
    one()


def foreign_for(ops: list[Operation]) -> Callable[[Operation], Operation]:
    """For each guarded tool, another guarded tool to try its token on."""
    guarded = [op for op in ops if op.guarded]
    return lambda op: next((other for other in guarded if other.name != op.name), op)
