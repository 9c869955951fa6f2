"""Load on cap-mcp over Streamable HTTP: many copilots at once, one server, then two replicas.

    .venv/bin/python benchmarks/load_http.py                         # 50 clients x 20 look-ups
    .venv/bin/python benchmarks/load_http.py --clients 50 --calls 20
    .venv/bin/python benchmarks/load_http.py --quick                 # 10 clients x 5 look-ups
    .venv/bin/python benchmarks/load_http.py --json                  # only the JSON result on stdout

Everything runs on this machine over loopback and stops by itself: every phase has a time limit,
and every subprocess (sandbox, servers, redis-server) is stopped on exit, also on Ctrl-C, SIGTERM
or an error. Progress goes to stderr.

0. Baseline: the same clients and calls against a bare SDK server (`benchmarks/bare_sdk_server.py`: a
   low-level `Server` with one tool doing the same upstream GET), so that cap-mcp's figures can be read
   as "what cap-mcp adds to the SDK"; the report compares peak RSS (target: within 1.15x).
1. One server: `cap-mcp sandbox` on a free 127.0.0.1 port, one `cap-mcp serve --transport http
   --stateless` pointed at it, and N concurrent SDK clients (`mcp.Client` over
   `streamable_http_client`, each with an `httpx2.AsyncClient` carrying its own bearer token).
2. Two replicas: the same, with two stateless servers sharing a redis-server (started here, no
   persistence) and one CAP_MCP_STATE_KEY; client i talks to replica i % 2 (a load balancer stand-in).
   Skipped, and said so, when redis-server is not installed.

`--one-token` gives every client the same bearer token (one copilot serving many people) and
`--upstream-latency S` makes the sandbox answer after S seconds; with `--per-caller N` (sets
CAP_MCP_MAX_CONCURRENT_PER_CALLER) they show what the per-caller limit costs such a deployment.

Each simulated copilot has its own bearer token (CAP_MCP_HTTP_TOKEN=c1:tok1,c2:tok2,...), so the
per-caller limit (CAP_MCP_MAX_CONCURRENT_PER_CALLER, default: the connection pool) never binds: a
client makes one call at a time. Each client connects and lists the tools (what a copilot does on
connect; on 2026-07-28 the SDK needs the listing before a call) before the clock starts; then all
clients make their calls back to back: `customer_lookup` by mobile over the five seed customers.
Errors are results with is_error and exceptions. Latency is per `call_tool`, client side; wall time
runs from the start signal to the last answer. Peak RSS is each server's VmHWM after the run, or the
highest VmRSS sampled every 50 ms if that is higher (VmHWM is updated lazily by the kernel). CPU
seconds from the start signal to the last answer (from /proc) show what the run was bound by: the
clients all run in this process, and other processes on the machine are counted too. With replicas,
redis-server's command count shows whether the calls touched the shared state.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
import httpx
import httpx2
from _common import ROOT, cap_mcp_command, free_port, machine_info, percentile, rounded, table
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

SANDBOX_USER = "sandbox.till"
SANDBOX_PASSWORD = "sandbox123"
TOOL = "customer_lookup"
SEED_MOBILES = [f"91980000000{n}" for n in range(1, 6)]
CLIENTS = "clients (this process)"

# Time limits in seconds: the script always stops by itself.
START_LIMIT = 30.0  # a subprocess answering on its port
READY_LIMIT = 60.0  # every client connected and has listed the tools
PHASE_LIMIT = 600.0  # a whole phase, calls included
CALL_TIMEOUT = 30.0  # one HTTP request of a client
STOP_LIMIT = 10.0  # SIGTERM, then SIGKILL


@dataclass
class Options:
    clients: int
    calls: int
    mode: str  # the SDK Client's mode: "auto" (2026-07-28 first) or "legacy" (initialize handshake)
    json_only: bool
    one_token: bool = False
    upstream_latency: float = 0.0
    per_caller: int | None = None
    baseline: bool = True
    replicas: bool = True


RSS_TARGET = 1.15  # cap-mcp's peak RSS over the bare SDK server's, same clients and calls


@dataclass
class ClientRun:
    """What one simulated copilot saw."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    connected: bool = False
    finished_at: float = 0.0


def progress(message: str) -> None:
    print(f"[load_http] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- machine and /proc


def redis_version() -> str | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=5).stdout
    return next((part.split("=", 1)[1] for part in out.split() if part.startswith("v=")), out.strip())


def proc_status_mib(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(f"{key} not in /proc/{pid}/status")


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> dict[str, float]:
    """CPU time of the whole machine so far, all cores: busy (any process) and stolen by the hypervisor."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return {"busy": (user + nice + system + irq + softirq) / tick, "steal": steal / tick}


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- subprocesses


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, limit: int = 2000) -> str:
        return self.log_since(0)[-limit:]

    def log_size(self) -> int:
        self.log.flush()
        return self.log.seek(0, os.SEEK_END)

    def log_since(self, offset: int) -> str:
        self.log.flush()
        self.log.seek(offset)
        return self.log.read().decode(errors="replace")


class Children:
    """The subprocesses of a phase; all are stopped when the block ends, however it ends."""

    def __init__(self) -> None:
        self.started: list[Child] = []

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Child:
        log = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in stop_all, after the child exited
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,  # Ctrl-C reaches only this script, which then stops them in order
        )
        child = Child(name, proc, log)
        self.started.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self.started):
            if child.proc.poll() is None:
                child.proc.terminate()
        for child in reversed(self.started):
            try:
                child.proc.wait(timeout=STOP_LIMIT)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait(timeout=STOP_LIMIT)
            child.log.close()
        self.started.clear()


@contextlib.contextmanager
def children() -> Iterator[Children]:
    group = Children()
    try:
        yield group
    finally:
        group.stop_all()


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any CAP_MCP_* of the caller's, plus the given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAP_MCP_")}
    return {**env, **extra}


def wait_http(child: Child, url: str) -> None:
    """Until the child answers HTTP on url (any status), it exits, or START_LIMIT passes."""
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited ({child.proc.returncode}):\n{child.log_tail()}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError(f"{child.name} did not answer on {url} within {START_LIMIT:.0f} s")


def wait_redis(child: Child, port: int) -> None:
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited ({child.proc.returncode}):\n{child.log_tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(64).startswith(b"+PONG"):
                return
        time.sleep(0.05)
    raise TimeoutError(f"redis-server did not answer PING on port {port} within {START_LIMIT:.0f} s")


def redis_commands_processed(port: int) -> int:
    """redis-server's total_commands_processed (INFO stats), over a plain socket."""
    with socket.create_connection(("127.0.0.1", port), timeout=5.0) as sock:
        sock.sendall(b"INFO stats\r\n")
        reply = b""
        while b"total_commands_processed:" not in reply or not reply.endswith(b"\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    for line in reply.decode().splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":", 1)[1])
    raise RuntimeError("redis-server INFO stats has no total_commands_processed")


def start_sandbox(group: Children, latency: float = 0.0) -> tuple[Child, str]:
    port = free_port()
    child = group.start("sandbox", [*cap_mcp_command(), "sandbox", "--port", str(port)], clean_env())
    url = f"http://127.0.0.1:{port}"
    wait_http(child, url + "/")
    if latency:
        httpx.post(url + "/_sandbox/faults", json={"latency": latency, "rules": []}, timeout=5.0).raise_for_status()
    return child, url


def start_bare_server(group: Children, sandbox_url: str, http_tokens: str) -> tuple[Child, str]:
    port = free_port()
    command = [sys.executable, str(Path(__file__).with_name("bare_sdk_server.py")), "--port", str(port),
               "--upstream", sandbox_url, "--tokens", http_tokens]  # fmt: skip
    child = group.start("bare SDK server", command, clean_env())
    url = f"http://127.0.0.1:{port}"
    wait_http(child, url + "/mcp")
    return child, url


def start_redis(group: Children) -> int:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    wait_redis(group.start("redis-server", command), port)
    return port


def start_server(group: Children, name: str, sandbox_url: str, http_tokens: str, **extra: str) -> tuple[Child, str]:
    port = free_port()
    env = clean_env(
        CAP_MCP_BASE_URL=sandbox_url,
        CAP_MCP_USERNAME=SANDBOX_USER,
        CAP_MCP_PASSWORD=SANDBOX_PASSWORD,
        CAP_MCP_HTTP_TOKEN=http_tokens,
        CAP_MCP_AUDIT_LOG="off",
        **extra,
    )
    command = [*cap_mcp_command(), "serve", "--transport", "http", "--port", str(port), "--stateless"]
    child = group.start(name, command, env)
    url = f"http://127.0.0.1:{port}"
    wait_http(child, url + "/healthz")
    return child, url


# ---------------------------------------------------------------- what the processes did during the run


class Monitor:
    """CPU per process and for the machine, server RSS (sampled, and VmHWM), server log lines, redis commands:
    from the moment every client is ready to the end of the run."""

    SAMPLE_EVERY = 0.05  # seconds between RSS samples

    def __init__(self, sandbox: Child, servers: list[Child], redis_port: int | None) -> None:
        self.sandbox = sandbox
        self.servers = servers
        self.redis_port = redis_port
        self.cpu: dict[str, float] = {}
        self.machine: dict[str, float] = {}
        self.rss_ready: dict[str, float] = {}
        self.rss_max: dict[str, float] = {}
        self.log_offsets: dict[str, int] = {}
        self.redis_commands = 0
        self.load_average = 0.0
        self.cpu_used: dict[str, float] = {}
        self.machine_used: dict[str, float] = {}

    def _cpu_now(self) -> dict[str, float]:
        cpu = {child.name: proc_cpu_seconds(child.pid) for child in [self.sandbox, *self.servers]}
        return cpu | {CLIENTS: own_cpu_seconds()}

    def start(self) -> None:
        self.load_average = os.getloadavg()[0]
        self.cpu = self._cpu_now()
        self.machine = machine_cpu_seconds()
        self.rss_ready = {child.name: proc_status_mib(child.pid, "VmRSS") for child in self.servers}
        self.rss_max = dict(self.rss_ready)
        self.log_offsets = {child.name: child.log_size() for child in self.servers}
        if self.redis_port is not None:
            self.redis_commands = redis_commands_processed(self.redis_port)

    def stop(self) -> None:
        self.cpu_used = {name: seconds - self.cpu[name] for name, seconds in self._cpu_now().items()}
        self.machine_used = {name: seconds - self.machine[name] for name, seconds in machine_cpu_seconds().items()}

    async def sample(self) -> None:
        while True:
            for child in self.servers:
                rss = proc_status_mib(child.pid, "VmRSS")
                self.rss_max[child.name] = max(self.rss_max[child.name], rss)
            await anyio.sleep(self.SAMPLE_EVERY)

    def finish(self, clients_per_server: list[int]) -> dict[str, Any]:
        cpu, machine = self.cpu_used, self.machine_used
        servers = []
        for child, clients in zip(self.servers, clients_per_server, strict=True):
            hwm = proc_status_mib(child.pid, "VmHWM")
            servers.append(
                {
                    "name": child.name,
                    "pid": child.pid,
                    "clients": clients,
                    "rss_ready_mib": self.rss_ready[child.name],
                    "vm_hwm_mib": hwm,
                    "rss_sampled_max_mib": self.rss_max[child.name],
                    "peak_rss_mib": max(hwm, self.rss_max[child.name]),
                    "rss_after_mib": proc_status_mib(child.pid, "VmRSS"),
                    "log_lines": child.log_since(self.log_offsets[child.name]).splitlines()[:10],
                }
            )
        result: dict[str, Any] = {
            "servers": servers,
            "cpu_s": cpu,
            "machine_cpu_s": {
                "busy": machine["busy"],
                "other_processes": max(0.0, machine["busy"] - sum(cpu.values())),
                "steal": machine["steal"],
                "load_average_1m_at_start": self.load_average,
            },
        }
        if self.redis_port is not None:  # minus the INFO that read the first count
            result["redis_commands"] = redis_commands_processed(self.redis_port) - self.redis_commands - 1
        return result


# ---------------------------------------------------------------- the load


def caller_tokens(clients: int, one_token: bool = False) -> list[str]:
    """One random bearer token per simulated copilot (or one shared by all of them)."""
    if one_token:
        return [f"tok1-{secrets.token_urlsafe(16)}"] * clients
    return [f"tok{n}-{secrets.token_urlsafe(16)}" for n in range(1, clients + 1)]


def token_setting(tokens: list[str]) -> str:
    return ",".join(f"c{n}:{token}" for n, token in enumerate(dict.fromkeys(tokens), start=1))


def lookup_args(client_index: int, call_index: int) -> dict[str, str]:
    mobile = SEED_MOBILES[(client_index + call_index) % len(SEED_MOBILES)]
    return {"identifierName": "mobile", "identifierValue": mobile, "source": "INSTORE"}


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return " | ".join(describe_error(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {str(exc)[:120]}"


class Load:
    """N copilots: connect and list tools, wait for the start signal, then make their calls."""

    def __init__(self, urls: list[str], tokens: list[str], options: Options) -> None:
        self.urls = urls
        self.tokens = tokens
        self.options = options
        self.runs = [ClientRun() for _ in tokens]
        self.ready_count = 0
        self.all_ready = anyio.Event()
        self.done_count = 0
        self.all_done = anyio.Event()
        self.go = anyio.Event()
        self.started_at = 0.0

    def _mark_ready(self) -> None:
        self.ready_count += 1
        if self.ready_count == len(self.runs):
            self.all_ready.set()

    def _mark_done(self) -> None:
        self.done_count += 1
        if self.done_count == len(self.runs):
            self.all_done.set()

    async def client(self, index: int) -> None:
        run = self.runs[index]
        url = self.urls[index % len(self.urls)]  # round robin over the replicas
        headers = {"Authorization": f"Bearer {self.tokens[index]}"}
        try:
            async with (
                httpx2.AsyncClient(headers=headers, timeout=CALL_TIMEOUT) as http,
                Client(streamable_http_client(url + "/mcp", http_client=http), mode=self.options.mode) as client,
            ):
                await client.list_tools()
                run.connected = True
                self._mark_ready()
                await self.go.wait()
                await self._calls(index, client, run)
        except Exception as exc:
            stage = "client" if run.connected else "connect"
            run.errors[f"{stage}: {describe_error(exc)}"] += 1
        finally:
            if not run.connected:
                self._mark_ready()  # counted, so the others do not wait for it
            if not run.finished_at:
                self._mark_done()

    async def _calls(self, index: int, client: Client, run: ClientRun) -> None:
        for call in range(self.options.calls):
            started = time.perf_counter()
            try:
                result = await client.call_tool(TOOL, lookup_args(index, call))
            except Exception as exc:
                run.errors[f"exception: {describe_error(exc)}"] += 1
            else:
                if result.is_error:
                    text = result.content[0].text if result.content and hasattr(result.content[0], "text") else ""
                    run.errors[f"is_error: {text[:120]}"] += 1
            run.latencies_ms.append((time.perf_counter() - started) * 1000)
        run.finished_at = time.perf_counter()
        self._mark_done()

    async def run(self, monitor: Monitor) -> None:
        with anyio.fail_after(PHASE_LIMIT):
            async with anyio.create_task_group() as sampling:
                async with anyio.create_task_group() as tasks:
                    for index in range(len(self.runs)):
                        tasks.start_soon(self.client, index)
                    with anyio.fail_after(READY_LIMIT):
                        await self.all_ready.wait()
                    monitor.start()
                    sampling.start_soon(monitor.sample)
                    self.started_at = time.perf_counter()
                    self.go.set()
                    await self.all_done.wait()
                    monitor.stop()
                sampling.cancel_scope.cancel()


def call_figures(load: Load) -> dict[str, Any]:
    latencies = [ms for run in load.runs for ms in run.latencies_ms]
    errors: Counter[str] = Counter()
    for run in load.runs:
        errors.update(run.errors)
    not_connected = sum(not run.connected for run in load.runs)
    planned = len(load.runs) * load.options.calls
    failed_calls = sum(n for kind, n in errors.items() if kind.startswith(("exception", "is_error")))
    ends = [run.finished_at for run in load.runs if run.finished_at]
    wall = (max(ends) - load.started_at) if ends else 0.0
    return {
        "planned_calls": planned,
        "calls": len(latencies),
        "errors": failed_calls + (planned - len(latencies)),  # a call never made counts as an error
        "clients_not_connected": not_connected,
        "error_kinds": dict(errors.most_common(10)),
        "wall_s": wall,
        "throughput_per_s": len(latencies) / wall if wall else 0.0,
        "latency_ms": {
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies),
            "mean": sum(latencies) / len(latencies),
        }
        if latencies
        else None,
    }


# ---------------------------------------------------------------- phases


def run_phase(label: str, replicas: int, options: Options, *, bare: bool = False) -> dict[str, Any]:
    """Start sandbox (+ redis) + servers, run the load, collect figures, stop everything."""
    tokens = caller_tokens(options.clients, options.one_token)
    with children() as group:
        sandbox, sandbox_url = start_sandbox(group, options.upstream_latency)
        extra: dict[str, str] = {}
        if options.per_caller is not None:
            extra["CAP_MCP_MAX_CONCURRENT_PER_CALLER"] = str(options.per_caller)
        redis_port = None
        if replicas > 1:
            redis_port = start_redis(group)
            extra |= {
                "CAP_MCP_STATE_KEY": secrets.token_urlsafe(32),
                "CAP_MCP_STATE_URL": f"redis://127.0.0.1:{redis_port}/0",
            }
        names = [f"replica-{n}" for n in range(1, replicas + 1)] if replicas > 1 else ["server"]
        if bare:
            servers = [start_bare_server(group, sandbox_url, token_setting(tokens))]
        else:
            servers = [start_server(group, name, sandbox_url, token_setting(tokens), **extra) for name in names]
        progress(f"{label}: {options.clients} clients x {options.calls} calls on {replicas} server(s)")
        monitor = Monitor(sandbox, [child for child, _ in servers], redis_port)
        load = Load([url for _, url in servers], tokens, options)
        anyio.run(load.run, monitor)
        clients_per_server = [len(range(index, options.clients, replicas)) for index in range(replicas)]
        return call_figures(load) | monitor.finish(clients_per_server)


# ---------------------------------------------------------------- report


def render_phase(title: str, figures: dict[str, Any], calls_per_client: int) -> list[str]:
    latency = figures["latency_ms"] or {}
    missing = figures["clients_not_connected"]
    lines = [
        title,
        f"  calls {figures['calls']} of {figures['planned_calls']}, errors {figures['errors']}"
        + (f" ({missing} clients never connected)" if missing else ""),
        f"  wall {figures['wall_s']:.2f} s, throughput {figures['throughput_per_s']:.1f} calls/s",
        "  latency per call: " + ", ".join(f"{k} {latency.get(k, 0):.1f} ms" for k in ("p50", "p95", "p99", "max")),
    ]
    lines += [f"  error x{n}: {kind}" for kind, n in figures["error_kinds"].items()]
    cpu = figures["cpu_s"]
    rows = [
        [
            s["name"],
            str(s["clients"]),
            f"{s['rss_ready_mib']:.1f} MiB",
            f"{s['peak_rss_mib']:.1f} MiB",
            f"{s['vm_hwm_mib']:.1f} MiB",
            f"{s['rss_after_mib']:.1f} MiB",
            f"{cpu[s['name']]:.2f} s",
            f"{cpu[s['name']] * 1000 / (s['clients'] * calls_per_client):.2f} ms",
        ]
        for s in figures["servers"]
    ]
    headers = ["server", "clients", "RSS ready", "peak RSS", "VmHWM", "RSS after", "CPU in run", "CPU/call"]
    lines += ["", *("  " + row for row in table(headers, rows).splitlines())]
    machine = figures["machine_cpu_s"]
    lines.append(
        f"  CPU in run, elsewhere: sandbox {cpu['sandbox']:.2f} s, {CLIENTS} {cpu[CLIENTS]:.2f} s, "
        f"other processes on the machine {machine['other_processes']:.2f} s, steal {machine['steal']:.2f} s "
        f"(load average {machine['load_average_1m_at_start']:.2f} at the start)"
    )
    if "redis_commands" in figures:
        lines.append(f"  redis-server commands during the run: {figures['redis_commands']}")
    for server in figures["servers"]:
        lines += [f"  {server['name']} logged: {line}" for line in server["log_lines"]]
    return lines


def rss_comparison(results: dict[str, Any]) -> dict[str, Any] | None:
    """cap-mcp's peak RSS against the bare SDK server's, for the same clients and calls."""
    if "baseline" not in results:
        return None
    bare = results["baseline"]["servers"][0]["peak_rss_mib"]
    ours = results["single"]["servers"][0]["peak_rss_mib"]
    return {"bare_sdk_mib": bare, "cap_mcp_mib": ours, "ratio": ours / bare, "target": RSS_TARGET,
            "met": ours / bare <= RSS_TARGET}  # fmt: skip


def render(results: dict[str, Any]) -> str:
    machine, options = results["machine"], results["options"]
    tokens = "one bearer token shared by all clients" if options["one_token"] else "one bearer token per client"
    limit = options["per_caller"] if options["per_caller"] is not None else "its default (the pool)"
    parts = [
        "cap-mcp load benchmark, Streamable HTTP (stateless), loopback",
        f"machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable); "
        f"Python {machine['python']}; {machine['platform']}",
        f"versions: cap-mcp {machine['cap_mcp']} (commit {machine['commit']}), mcp {machine['mcp']}, "
        f"redis-server {machine['redis_server']}",
        f"load: {options['clients']} clients x {options['calls']} {TOOL} calls, {tokens} (per-caller limit "
        f"{limit}), sandbox latency {options['upstream_latency']:.3f} s, client mode {options['mode']}",
    ]
    if "baseline" in results:
        parts += ["", *render_phase("0. Bare SDK server (baseline)", results["baseline"], options["calls"])]
    parts += ["", *render_phase("1. One server", results["single"], options["calls"])]
    if "replicas" in results:
        title = "2. Two replicas sharing redis, clients round-robin"
        parts += ["", *render_phase(title, results["replicas"], options["calls"])]
    elif options["replicas"]:
        parts += ["", "2. Two replicas: skipped (redis-server is not installed)"]
    comparison = results.get("rss_comparison")
    if comparison:
        verdict = "met" if comparison["met"] else "MISSED"
        parts += ["", f"Peak RSS, cap-mcp vs bare SDK server: {comparison['cap_mcp_mib']:.1f} / "
                  f"{comparison['bare_sdk_mib']:.1f} MiB = {comparison['ratio']:.3f}x "
                  f"(target <= {comparison['target']}x: {verdict})"]  # fmt: skip
    return "\n".join(parts)


# ---------------------------------------------------------------- main


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, help="concurrent MCP clients (default 50; 10 with --quick)")
    parser.add_argument("--calls", type=int, help="look-ups per client (default 20; 5 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a small, fast run")
    parser.add_argument(
        "--mode", choices=["auto", "legacy"], default="auto", help="MCP client mode (default auto: 2026-07-28)"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--one-token", action="store_true", help="all clients share one bearer token")
    parser.add_argument("--upstream-latency", type=float, default=0.0, help="sandbox answers after this many s")
    parser.add_argument("--per-caller", type=int, help="CAP_MCP_MAX_CONCURRENT_PER_CALLER for cap-mcp")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare SDK server")
    parser.add_argument("--no-replicas", action="store_true", help="skip the two-replica phase")
    args = parser.parse_args(argv)
    clients = args.clients or (10 if args.quick else 50)
    calls = args.calls or (5 if args.quick else 20)
    if clients < 1 or calls < 1:
        parser.error("--clients and --calls must be at least 1")
    return Options(clients=clients, calls=calls, mode=args.mode, json_only=args.json, one_token=args.one_token,
                   upstream_latency=args.upstream_latency, per_caller=args.per_caller,
                   baseline=not args.no_baseline, replicas=not args.no_replicas)  # fmt: skip


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every subprocess is stopped on the way out."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    stop_on_sigterm()
    results: dict[str, Any] = {"machine": machine_info(redis_server=redis_version()), "options": asdict(options)}
    try:
        if options.baseline:
            results["baseline"] = run_phase("bare SDK server", 1, options, bare=True)
        results["single"] = run_phase("one server", 1, options)
        if options.replicas and shutil.which("redis-server"):
            results["replicas"] = run_phase("two replicas", 2, options)
        elif options.replicas:
            progress("two replicas: skipped, redis-server is not installed (apt-get install redis-server)")
        results["rss_comparison"] = rss_comparison(results)
    except KeyboardInterrupt:
        progress("interrupted; every subprocess was stopped")
        return 130
    except (RuntimeError, TimeoutError, BaseExceptionGroup) as exc:  # a phase could not run; all was stopped
        progress(f"failed: {describe_error(exc)}")
        return 1
    if not options.json_only:
        print(render(results))
        print()
    print(json.dumps(rounded(results), ensure_ascii=False))
    failed = sum(results[phase]["errors"] for phase in ("baseline", "single", "replicas") if phase in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
