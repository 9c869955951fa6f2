"""What cap-mcp costs a client: tool surface, cold start, added latency and memory, against the targets.

    .venv/bin/python benchmarks/surface.py            # full run (7 cold starts per profile, 300 calls)
    .venv/bin/python benchmarks/surface.py --quick    # a smaller, faster run
    .venv/bin/python benchmarks/surface.py --json     # only the JSON result on stdout

Everything runs on this machine over loopback: `cap-mcp serve` over stdio through the SDK's
`mcp.Client`, and `cap-mcp sandbox` on a free 127.0.0.1 port. Every phase has a time limit and
every subprocess is stopped before the script exits. Progress goes to stderr.

1. Surface: for each profile, the `tools/list` result exactly as the client received it (the
   JSON-RPC `result` object, re-serialised from the parsed message, which reproduces the wire
   bytes), its characters and tokens (`anthropic_tokenizer`, the local BPE), the tools listed and
   the operations reachable (listed, or through the discovery tools), and whether every property,
   type, required name, enum value and constraint of the catalogue's input schemas is still there
   (`cap_mcp.wire_schema.facts`, references followed) for every reachable operation: from
   `tools/list` for a listed one, from `describe_operation` for one reachable through discovery.
   Then a very large answer: a 6,000-row points ledger from a loopback "Capillary", asked for
   through `points_ledger_info`; the tokens of the tool result as received.
2. Cold start: spawn `cap-mcp serve --sandbox` to the first `tools/list` answer, and the same for a bare
   SDK server over stdio listing the very tool definitions cap-mcp listed in step 1
   (`benchmarks/bare_sdk_server.py --stdio`), alternated run by run; the target is cap-mcp within
   1.05x of the bare server. The imports of the stdio start-up are checked too: nothing for HTTP
   metrics, traces or JSON logs may be among them.
3. Added latency: the customer look-up as a direct httpx GET on the sandbox and through
   `cap-mcp serve` pointed at it, interleaved in one process.
4. Peak RSS (`VmHWM`) of that server, with all toolsets, after listing tools and the calls.
5. Catalogue search quality: top-1 / top-3 on each search case file (`search_quality.py`).

`--surface-only` runs section 1 (and the large answer) alone, with its targets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
from _common import ROOT, cap_mcp_command, free_port, machine_info, percentile, rounded, table
from anthropic_tokenizer import count_tokens
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.message import SessionMessage
from search_quality import render as render_search
from search_quality import run as run_search

from cap_mcp.auth import basic_header
from cap_mcp.catalog import Catalog, load_catalog
from cap_mcp.profiles import build_profile
from cap_mcp.wire_schema import facts

SANDBOX_USER = "sandbox.till"
SANDBOX_PASSWORD = "sandbox123"
LOOKUP_PATH = "/v2/customers/lookup/customerDetails"
LOOKUP_ARGS = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}

# name -> (CAP_MCP_* settings for `cap-mcp serve`, arguments for build_profile)
PROFILES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "default": ({"CAP_MCP_TOOLSETS": "default"}, {"toolsets": ("default",)}),
    "all": ({"CAP_MCP_TOOLSETS": "all"}, {"toolsets": ("all",)}),
    "read-only": (
        {"CAP_MCP_TOOLSETS": "default", "CAP_MCP_READ_ONLY": "true"},
        {"toolsets": ("default",), "read_only": True},
    ),
    "dynamic": (
        {"CAP_MCP_TOOLSETS": "default", "CAP_MCP_DYNAMIC": "true"},
        {"toolsets": ("default",), "dynamic": True},
    ),
}
COLD_START_PROFILES = ("default", "all")
LISTED: dict[str, list[dict[str, Any]]] = {}  # each profile's tools/list as received, for the bare server
BARE_SERVER = Path(__file__).with_name("bare_sdk_server.py")
# Modules cap-mcp adds for HTTP operations; a stdio start-up must not import them.
NOT_AT_STDIO_START = ("prometheus_client", "opentelemetry.sdk", "cap_mcp.metrics", "cap_mcp.tracing",
                      "cap_mcp.logs", "cap_mcp.http_app", "cap_mcp.http_protocol")  # fmt: skip


@dataclass(frozen=True)
class Target:
    label: str
    key: str  # where the measured value is in the results, dotted
    limit: float
    unit: str


TARGETS = (
    Target("default profile, tokens", "surface.default.tokens", 10_000, "tokens"),
    Target("dynamic profile, tokens", "surface.dynamic.tokens", 1_500, "tokens"),
    Target("all profile, tokens", "surface.all.tokens", 60_000, "tokens"),
    Target("6,000-row ledger answer, tokens", "large_result.tokens", 20_000, "tokens"),
    Target("cold start, default (median)", "cold_start.default.median_s", 0.8, "s"),
    Target("cold start, all (median)", "cold_start.all.median_s", 0.8, "s"),
    Target("cold start over a bare SDK server, default", "cold_start.default.over_bare", 1.05, "x"),
    Target("cold start over a bare SDK server, all", "cold_start.all.over_bare", 1.05, "x"),
    Target("added latency (median)", "latency.added_median_ms", 1.6, "ms"),
    Target("peak RSS, all toolsets", "rss.vm_hwm_mib", 90, "MiB"),
)

# Phase time limits, in seconds: the script always stops by itself.
SPAWN_LIMIT = 60.0
SANDBOX_START_LIMIT = 30.0
LATENCY_LIMIT = 600.0


@dataclass
class Options:
    runs: int
    calls: int
    warmup: int
    mode: str  # the SDK Client's mode: "auto" (2026-07-28 first) or "legacy" (initialize handshake)
    json_only: bool
    surface_only: bool = False


@dataclass
class SurfaceRow:
    profile: str
    tools: int
    reachable: int  # operations callable: listed, or through the discovery tools
    chars: int
    tokens: int
    instructions_tokens: int
    complete: bool
    protocol: str
    missing: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- small helpers


def progress(message: str) -> None:
    print(f"[surface] {message}", file=sys.stderr, flush=True)


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "p95": percentile(values, 0.95),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def lookup(result: dict[str, Any], dotted: str) -> Any:
    value: Any = result
    for part in dotted.split("."):
        value = value[part]
    return value


# ---------------------------------------------------------------- machine


# ---------------------------------------------------------------- processes


def serve_params(env: dict[str, str], *flags: str) -> StdioServerParameters:
    command, *prefix = cap_mcp_command()
    # The SDK merges `env` over a minimal default environment, so no CAP_MCP_* of ours leaks in;
    # PYTHONPATH is passed on, to measure another checkout with this venv.
    passed = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    return StdioServerParameters(
        command=command,
        args=[*prefix, "serve", *flags],
        env={**passed, "CAP_MCP_AUDIT_LOG": "off", **env},
        cwd=str(ROOT),
    )


def child_pids() -> set[int]:
    pids: set[int] = set()
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        pids.update(int(pid) for pid in children.read_text().split())
    return pids


def proc_status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(f"{key} not in /proc/{pid}/status")


def proc_cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_text().split("\0")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@asynccontextmanager
async def running_sandbox() -> AsyncIterator[str]:
    """`cap-mcp sandbox` on a free loopback port, stopped on exit; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAP_MCP_")}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [*cap_mcp_command(), "sandbox", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
            cwd=ROOT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_until_serving(proc, url, log)
            yield url
        finally:
            stop_process(proc)


async def wait_until_serving(proc: subprocess.Popen[bytes], url: str, log: Any) -> None:
    deadline = time.monotonic() + SANDBOX_START_LIMIT
    async with httpx.AsyncClient(timeout=1.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"cap-mcp sandbox exited ({proc.returncode}): {log.read().decode()[-2000:]}")
            try:
                await http.get(url + "/")
                return
            except httpx.TransportError:
                await anyio.sleep(0.05)
    raise TimeoutError(f"cap-mcp sandbox did not answer on {url} within {SANDBOX_START_LIMIT:.0f} s")


# ---------------------------------------------------------------- 1. surface


@asynccontextmanager
async def recording_stdio(
    params: StdioServerParameters, results: dict[Any, dict[str, Any]]
) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's stdio transport, keeping each JSON-RPC response's `result` (by request id) as received.

    Responses are parsed into `JSONRPCResponse` whose `result` is the plain dict from the wire, so
    `json.dumps(result, separators=(",", ":"), ensure_ascii=False)` gives back the server's bytes.
    """
    async with stdio_client(params) as (read, write):
        send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)

        async def forward() -> None:
            async with send:
                async for item in read:
                    if isinstance(item, SessionMessage) and isinstance(item.message, types.JSONRPCResponse):
                        results[item.message.id] = item.message.result
                    await send.send(item)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(forward)
            try:
                yield receive, write
            finally:
                tasks.cancel_scope.cancel()


def wire_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def schema_facts(schema: Any) -> set[str]:
    """Every property, type, required name, enum value and constraint, with where it sits, in a JSON Schema
    (`$ref`s to its own `$defs` followed)."""
    return facts(schema) if isinstance(schema, dict) else set()


def lost_facts(catalog: Catalog, listed: dict[str, dict[str, Any]], expected: Iterable[str]) -> list[str]:
    """What of each expected operation's catalogue schema is missing from the listed schema."""
    missing: list[str] = []
    for name in expected:
        schema = listed.get(name)
        if schema is None:
            missing.append(f"{name}: not listed")
            continue
        op = catalog.get(name)
        assert op is not None
        missing += [f"{name}: {fact}" for fact in sorted(schema_facts(op.input_schema) - schema_facts(schema))]
    return missing


async def described_schemas(client: Client, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Dynamic mode: each operation's input schema as describe_operation gives it."""
    schemas: dict[str, dict[str, Any]] = {}
    for name in names:
        result = await client.call_tool("describe_operation", {"name": name})
        if not result.is_error and result.structured_content:
            schemas[name] = result.structured_content["input_schema"]
    return schemas


async def measure_surface(profile: str, catalog: Catalog, mode: str) -> SurfaceRow:
    env, settings = PROFILES[profile]
    built = build_profile(catalog, **settings)
    expected = [op.name for op in built.operations]
    responses: dict[Any, dict[str, Any]] = {}
    with anyio.fail_after(SPAWN_LIMIT):
        async with Client(recording_stdio(serve_params(env, "--sandbox"), responses), mode=mode) as client:
            before = set(responses)
            listed = await client.list_tools()
            [request_id] = set(responses) - before
            wire = wire_json(responses[request_id])
            LISTED[profile] = responses[request_id]["tools"]
            schemas = {tool.name: tool.input_schema for tool in listed.tools if catalog.get(tool.name)}
            if built.discovery:
                schemas |= await described_schemas(client, [name for name in expected if name not in schemas])
            instructions = client.instructions or ""
            protocol = client.protocol_version
    missing = lost_facts(catalog, schemas, expected)
    return SurfaceRow(
        profile=profile,
        tools=len(listed.tools),
        reachable=len(expected),
        chars=len(wire),
        tokens=count_tokens(wire),
        instructions_tokens=count_tokens(instructions),
        complete=not missing,
        protocol=protocol,
        missing=missing[:20],
    )


# ---------------------------------------------------------------- 1b. a very large answer

LEDGER_ROWS = 6_000
LEDGER_PATH = "/v2/pointsLedger/getCustomerLedgerInfo"
LEDGER_ARGS = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE", "offset": 0}


def ledger_entry(n: int) -> dict[str, Any]:
    return {"eventLogId": 880000 + n, "eventName": "TransactionAdd", "ledgerCreatedDate": "2026-11-01 12:00:00.0",
            "entryDetails": [{"ledgerEntryType": "CREDIT", "points": str(n % 90), "pointsCategory": "Main",
                              "programName": "Rewards Club", "programId": 2001}],
            "netPointsOnEvent": f"{n % 90}.000", "transactionDetails": {"transactionId": 7700000 + n,
                                                                        "transactionNumber": f"BILL-{n}"},
            "store": "Central Store", "storeCode": "central", "tillCode": "central.till1"}  # fmt: skip


@contextmanager
def ledger_server(body: bytes) -> Iterator[str]:
    """A loopback "Capillary" that answers the ledger read with `body` (any other path: 404); yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            found = self.path.split("?", 1)[0] == LEDGER_PATH
            payload = body if found else b'{"errors": [{"code": 404, "message": "not found"}]}'
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def measure_large_result(mode: str) -> dict[str, Any]:
    """The tool result for a 6,000-row ledger as the client received it, against the upstream answer."""
    ledger = {"customerDetails": {"userId": 5100001}, "ledgerDetails": {"totalEntries": LEDGER_ROWS},
              "ledgerEntries": [ledger_entry(n) for n in range(LEDGER_ROWS)], "warnings": []}  # fmt: skip
    upstream = wire_json(ledger)
    responses: dict[Any, dict[str, Any]] = {}
    with ledger_server(upstream.encode()) as url:
        env = {"CAP_MCP_BASE_URL": url, "CAP_MCP_USERNAME": SANDBOX_USER, "CAP_MCP_PASSWORD": SANDBOX_PASSWORD}
        with anyio.fail_after(SPAWN_LIMIT):
            async with Client(recording_stdio(serve_params(env), responses), mode=mode) as client:
                before = set(responses)
                result = await client.call_tool("points_ledger_info", LEDGER_ARGS)
                # the client may list tools first (to check results against output schemas): keep the call's answer
                [answer] = [responses[key] for key in set(responses) - before if "content" in responses[key]]
    if result.is_error:
        raise RuntimeError(f"points_ledger_info answered an error: {result.content}")
    wire = wire_json(answer)
    shown = len((result.structured_content or {}).get("data", {}).get("ledgerEntries", []))
    return {
        "rows": LEDGER_ROWS,
        "rows_shown": shown,
        "upstream_chars": len(upstream),
        "upstream_tokens": count_tokens(upstream),
        "chars": len(wire),
        "tokens": count_tokens(wire),
    }


# ---------------------------------------------------------------- 2. cold start


async def cold_start_once(params: StdioServerParameters, mode: str) -> float:
    with anyio.fail_after(SPAWN_LIMIT):
        started = time.perf_counter()
        async with Client(params, mode=mode) as client:
            await client.list_tools()
            elapsed = time.perf_counter() - started
    return elapsed


def bare_params(tools_file: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=[str(BARE_SERVER), "--stdio", "--tools-file", str(tools_file)], cwd=str(ROOT)
    )


async def measure_cold_starts(runs: int, mode: str, work: Path) -> dict[str, dict[str, Any]]:
    series = [(profile, server) for profile in COLD_START_PROFILES for server in ("cap-mcp", "bare")]
    times: dict[tuple[str, str], list[float]] = {key: [] for key in series}
    params = {}
    for profile in COLD_START_PROFILES:
        tools_file = work / f"tools-{profile}.json"
        tools_file.write_text(json.dumps(LISTED[profile]), encoding="utf-8")
        params[profile, "cap-mcp"] = serve_params(PROFILES[profile][0], "--sandbox")
        params[profile, "bare"] = bare_params(tools_file)
    for run in range(runs):
        order = series if run % 2 == 0 else series[::-1]  # alternate, so that drift hits all alike
        for key in order:
            times[key].append(await cold_start_once(params[key], mode))
        progress(f"cold start run {run + 1}/{runs}")
    results: dict[str, dict[str, Any]] = {}
    for profile in COLD_START_PROFILES:
        ours, bare = times[profile, "cap-mcp"], times[profile, "bare"]
        results[profile] = {
            **{f"{k}_s": v for k, v in summary(ours).items() if k in ("median", "min", "max")},
            "runs": ours,
            "bare_median_s": statistics.median(bare),
            "bare_runs": bare,
            "over_bare": statistics.median(ours) / statistics.median(bare),
            "tools": len(LISTED[profile]),
        }
    return results


async def stdio_start_imports(work: Path) -> dict[str, Any]:
    """The modules `cap-mcp serve --sandbox` imports up to its first tools/list (python -X importtime)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-X", "importtime", "-m", "cap_mcp", "serve", "--sandbox"],
        env={
            "CAP_MCP_AUDIT_LOG": "off",
            **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
        },
        cwd=str(ROOT),
    )
    log = work / "importtime.txt"
    with log.open("w") as errors:
        async with Client(stdio_client(params, errlog=errors), mode="legacy") as client:
            await client.list_tools()
    lines = [line for line in log.read_text().splitlines() if line.startswith("import time:")]
    modules = {line.rsplit("|", 1)[-1].strip() for line in lines}
    unwanted = sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_AT_STDIO_START))
    return {"modules": len(modules), "unwanted": unwanted}


# ---------------------------------------------------------------- 3 + 4. added latency and peak RSS


async def timed(call: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000.0


async def measure_latency_and_rss(options: Options) -> tuple[dict[str, Any], dict[str, Any]]:
    """Direct GET and MCP call interleaved (alternating which goes first), then the server's VmHWM."""
    timings: dict[str, list[float]] = {name: [] for name in SERIES}
    async with running_sandbox() as url:
        headers = {"Authorization": basic_header(SANDBOX_USER, SANDBOX_PASSWORD), "Accept": "application/json"}
        lookup_url = f"{url}{LOOKUP_PATH}?" + "&".join(f"{k}={v}" for k, v in LOOKUP_ARGS.items())
        env = {
            "CAP_MCP_BASE_URL": url,
            "CAP_MCP_USERNAME": SANDBOX_USER,
            "CAP_MCP_PASSWORD": SANDBOX_PASSWORD,
            "CAP_MCP_TOOLSETS": "all",
        }
        known = child_pids()
        with anyio.fail_after(LATENCY_LIMIT):
            async with (
                httpx.AsyncClient(headers=headers, timeout=10.0) as http,
                Client(serve_params(env), mode=options.mode) as client,
            ):
                server_pid = find_server(known)

                async def direct() -> None:
                    response = await http.get(lookup_url)
                    if response.status_code != 200:
                        raise RuntimeError(f"direct look-up answered {response.status_code}: {response.text[:300]}")

                async def mcp() -> None:
                    result = await client.call_tool("customer_lookup", LOOKUP_ARGS)
                    if result.is_error:
                        raise RuntimeError(f"customer_lookup through cap-mcp failed: {result.content}")

                async def mcp_floor() -> None:
                    result = await client.call_tool("customer_lookup", {})
                    if not result.is_error:
                        raise RuntimeError("customer_lookup without arguments was not refused")

                calls = {"direct": direct, "mcp": mcp, "mcp_floor": mcp_floor}
                listed = await client.list_tools()
                for _ in range(options.warmup):
                    for call in calls.values():
                        await call()
                for index in range(options.calls):
                    order = SERIES if index % 2 == 0 else SERIES[::-1]
                    for name in order:
                        timings[name].append(await timed(calls[name]))
                rss = {
                    "pid": server_pid,
                    "tools_listed": len(listed.tools),
                    "tool_calls": 2 * (options.warmup + options.calls),
                    "vm_hwm_mib": proc_status_kib(server_pid, "VmHWM") / 1024,
                    "vm_rss_mib": proc_status_kib(server_pid, "VmRSS") / 1024,
                }
    direct_stats, mcp_stats = summary(timings["direct"]), summary(timings["mcp"])
    latency = {
        "calls": options.calls,
        "warmup": options.warmup,
        "direct_ms": direct_stats,
        "mcp_ms": mcp_stats,
        "mcp_floor_ms": summary(timings["mcp_floor"]),
        "added_median_ms": mcp_stats["median"] - direct_stats["median"],
        "added_p95_ms": mcp_stats["p95"] - direct_stats["p95"],
    }
    return latency, rss


SERIES = ("direct", "mcp", "mcp_floor")


def find_server(known: set[int]) -> int:
    """The `cap-mcp serve` subprocess the client just spawned."""
    for pid in sorted(child_pids() - known):
        if "serve" in proc_cmdline(pid):
            return pid
    raise RuntimeError("could not find the cap-mcp serve subprocess")


# ---------------------------------------------------------------- report


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for target in TARGETS:
        if target.key.split(".")[0] not in results:
            continue  # a section this run left out (--surface-only)
        value = float(lookup(results, target.key))
        over = value - target.limit
        rows.append(
            {
                "target": target.label,
                "limit": target.limit,
                "value": value,
                "unit": target.unit,
                "met": over <= 0,
                "missed_by": max(over, 0.0),
                "missed_by_pct": max(over, 0.0) / target.limit * 100,
            }
        )
    complete = all(row["complete"] for row in results["surface"].values())
    rows.append(
        {"target": "schemas complete, every profile", "limit": 1, "value": int(complete), "unit": "", "met": complete}
    )
    if "stdio_imports" in results:
        lean = not results["stdio_imports"]["unwanted"]
        rows.append({"target": "no HTTP-only module at stdio start-up", "limit": 1, "value": int(lean), "unit": "",
                     "met": lean})  # fmt: skip
    return rows


def fmt(value: float, unit: str) -> str:
    if unit == "tokens":
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "x":
        return f"{value:.3f}x"
    return "yes" if value else "no"


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    parts = [
        "cap-mcp surface benchmark",
        f"machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable); "
        f"Python {machine['python']}; {machine['platform']}",
        f"versions: cap-mcp {machine['cap_mcp']} (commit {machine['commit']}), mcp {machine['mcp']}; "
        f"client mode {results['options']['mode']}",
        "",
        "1. Tool surface: tools/list result as received over stdio (tokens: anthropic_tokenizer, local BPE)",
    ]
    surface = results["surface"].values()
    limits = {t.key: t.limit for t in TARGETS}
    headers = ["profile", "tools listed", "operations reachable", "chars", "tokens", "target", "schemas complete",
               "instructions tokens", "protocol"]  # fmt: skip
    parts.append(
        table(
            headers,
            [
                [
                    s["profile"],
                    str(s["tools"]),
                    str(s["reachable"]),
                    f"{s['chars']:,}",
                    f"{s['tokens']:,}",
                    _limit(limits.get(f"surface.{s['profile']}.tokens"), s["tokens"]),
                    "yes" if s["complete"] else "no",
                    f"{s['instructions_tokens']:,}",
                    s["protocol"],
                ]
                for s in surface
            ],
        )
    )
    parts += [f"  lost: {item}" for s in surface for item in s["missing"]]
    big = results["large_result"]
    parts += [
        f"  a {big['rows']:,}-row points ledger through points_ledger_info: upstream {big['upstream_tokens']:,} "
        f"tokens, tool result {big['tokens']:,} tokens ({big['rows_shown']:,} rows shown), target "
        + _limit(limits["large_result.tokens"], big["tokens"])
    ]
    if "cold_start" in results:
        parts += _render_runtime(results)
    parts += ["", "6. Targets"]
    rows = []
    for v in results["targets"]:
        if v["unit"]:
            verdict = "met" if v["met"] else f"MISSED by {fmt(v['missed_by'], v['unit'])} (+{v['missed_by_pct']:.0f}%)"
            rows.append([v["target"], f"<= {fmt(v['limit'], v['unit'])}", fmt(v["value"], v["unit"]), verdict])
        else:
            rows.append([v["target"], "yes", fmt(v["value"], ""), "met" if v["met"] else "MISSED"])
    parts.append(table(["target", "limit", "measured", "verdict"], rows))
    return "\n".join(parts)


def _limit(limit: float | None, value: float) -> str:
    if limit is None:
        return "-"
    return f"<= {limit:,.0f} ({'met' if value <= limit else 'MISSED'})"


def _render_runtime(results: dict[str, Any]) -> list[str]:
    """Sections 2 to 5: cold start, latency, memory, search quality."""
    parts = ["", f"2. Cold start, spawn to first tools/list answer ({results['options']['runs']} runs each)"]
    parts.append(
        table(
            ["profile", "tools", "median", "min", "max", "bare SDK median", "cap-mcp / bare"],
            [
                [
                    name,
                    str(c["tools"]),
                    f"{c['median_s']:.3f} s",
                    f"{c['min_s']:.3f} s",
                    f"{c['max_s']:.3f} s",
                    f"{c['bare_median_s']:.3f} s",
                    f"{c['over_bare']:.3f}x",
                ]
                for name, c in results["cold_start"].items()
            ],
        )
    )
    imports = results["stdio_imports"]
    parts.append(
        f"  stdio start-up imports {imports['modules']} modules; for HTTP operations only: "
        + (", ".join(imports["unwanted"]) or "none")
    )
    latency = results["latency"]
    parts += [
        "",
        f"3. Customer look-up, {latency['calls']} interleaved calls each after {latency['warmup']} warm-up "
        "(the argument-error call shows the MCP round trip alone: client SDK, stdio, server)",
    ]
    series = (
        ("direct httpx GET", "direct_ms"),
        ("through cap-mcp (stdio)", "mcp_ms"),
        ("cap-mcp, no upstream (argument error)", "mcp_floor_ms"),
    )
    rows = [[label, *(f"{latency[key][k]:.2f} ms" for k in ("median", "p95", "min", "max"))] for label, key in series]
    added = [f"{latency['added_median_ms']:.2f} ms", f"{latency['added_p95_ms']:.2f} ms"]
    rows.append(["added by cap-mcp (through - direct)", *added, "", ""])
    parts.append(table(["path", "median", "p95", "min", "max"], rows))
    rss = results["rss"]
    parts += [
        "",
        f"4. Server memory, all toolsets ({rss['tools_listed']} tools, after tools/list and {rss['tool_calls']} tool calls): "
        f"peak RSS (VmHWM) {rss['vm_hwm_mib']:.1f} MiB, current RSS {rss['vm_rss_mib']:.1f} MiB",
        "",
        "5. " + render_search(results["search"]),
    ]
    return parts


# ---------------------------------------------------------------- main


async def run(options: Options) -> dict[str, Any]:
    catalog = load_catalog(validate=False)
    results: dict[str, Any] = {"machine": machine_info(), "options": asdict(options), "surface": {}}
    for profile in PROFILES:
        progress(f"surface: {profile}")
        results["surface"][profile] = asdict(await measure_surface(profile, catalog, options.mode))
    progress(f"a {LEDGER_ROWS:,}-row ledger answer")
    results["large_result"] = await measure_large_result(options.mode)
    if options.surface_only:
        results["targets"] = verdicts(results)
        return results
    progress(f"cold start: {options.runs} runs x {len(COLD_START_PROFILES)} profiles, cap-mcp and a bare SDK server")
    with tempfile.TemporaryDirectory() as work:
        results["cold_start"] = await measure_cold_starts(options.runs, options.mode, Path(work))
        results["stdio_imports"] = await stdio_start_imports(Path(work))
    progress(f"latency: {options.warmup} warm-up + {options.calls} calls each way")
    results["latency"], results["rss"] = await measure_latency_and_rss(options)
    progress("catalogue search quality")
    results["search"] = run_search(show=set())
    results["targets"] = verdicts(results)
    return results


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="cold starts per profile (default 7; 3 with --quick)")
    parser.add_argument("--calls", type=int, help="measured look-ups each way (default 300; 50 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer runs and calls")
    parser.add_argument(
        "--mode", choices=["auto", "legacy"], default="auto", help="MCP client mode (default auto: 2026-07-28)"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--surface-only", action="store_true", help="only the tool surface and the large answer")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    calls = args.calls or (50 if args.quick else 300)
    if runs < 1 or calls < 1:
        parser.error("--runs and --calls must be at least 1")
    return Options(runs=runs, calls=calls, warmup=10 if args.quick else 30, mode=args.mode, json_only=args.json,
                   surface_only=args.surface_only)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    results = anyio.run(run, options)
    if not options.json_only:
        print(render(results))
        print()
    print(json.dumps(rounded(results), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
