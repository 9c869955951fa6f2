"""Third-party MCP clients against `cap-mcp serve --transport http`: the official TypeScript SDK and the
MCP Inspector CLI, each a real Node.js process talking Streamable HTTP with a bearer token.

The clients live in tests/clients (package.json + package-lock.json); install them once with
`npm ci --prefix tests/clients` (.ci/run does when npm is there). Without node or without them, these
tests are skipped. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT

CLIENTS = ROOT / "tests" / "clients"
TS_CLIENT = CLIENTS / "ts_client.mjs"
INSPECTOR = CLIENTS / "node_modules" / ".bin" / "mcp-inspector"
NODE = shutil.which("node")
CALLER = "ci-copilot"
LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}
ISSUE = {"seriesId": 3002, "customer": {"id": 5100002}}
CLIENT_TIMEOUT = 90.0  # seconds for one client process, start-up included

if NODE is None:
    pytestmark = pytest.mark.skip(reason="node is not installed: these tests drive Node.js MCP clients")
elif not (CLIENTS / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir() or not INSPECTOR.exists():
    pytestmark = pytest.mark.skip(
        reason="tests/clients/node_modules is not installed: run `npm ci --prefix tests/clients`"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str  # http://127.0.0.1:N/mcp
    token: str
    stateless: bool
    audit: Path
    log: Path

    def audit_lines(self) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module", params=["stateful", "stateless"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`python -m cap_mcp serve --transport http --sandbox` on a free loopback port, with a bearer token."""
    stateless = request.param == "stateless"
    directory = tmp_path_factory.mktemp(f"serve-{request.param}")
    port, token = free_port(), secrets.token_urlsafe(24)
    served = Served(f"http://127.0.0.1:{port}/mcp", token, stateless, directory / "audit.jsonl",
                    directory / "server.log")  # fmt: skip
    environment = {name: value for name, value in os.environ.items() if not name.startswith("CAP_MCP_")}
    environment.update(CAP_MCP_HTTP_TOKEN=f"{CALLER}:{token}", CAP_MCP_AUDIT_LOG=str(served.audit))
    command = [sys.executable, "-m", "cap_mcp", "serve", "--transport", "http", "--sandbox", "--port", str(port)]
    if stateless:
        command.append("--stateless")
    with served.log.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"cap-mcp serve exited with {process.returncode}:\n{served.log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"cap-mcp serve did not answer /healthz within 30 s:\n{served.log.read_text()}")
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if health.status_code == 200 and health.json()["stateless"] is stateless:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.stdout.strip(), f"no output (exit {self.returncode}); stderr:\n{self.stderr}"
        return json.loads(self.stdout)


def run_node(arguments: list[str], home: Path) -> Ran:
    """Run a Node.js client in its own process group; on timeout the whole group is killed."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("CAP_MCP_")}
    # The Inspector keeps a catalogue and client settings under ~/.mcp-inspector: keep them out of the real home.
    environment.update(HOME=str(home), NO_COLOR="1", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    process = subprocess.Popen(arguments, cwd=ROOT, env=environment, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=CLIENT_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=10)
        pytest.fail(f"{arguments[0]} took more than {CLIENT_TIMEOUT} s; stderr:\n{stderr.decode(errors='replace')}")
    return Ran(process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace"))


def ts_client(server: Served, token: str, home: Path) -> Ran:
    # Exactly: node tests/clients/ts_client.mjs http://127.0.0.1:N/mcp TOKEN
    return run_node([str(NODE), str(TS_CLIENT), server.url, token], home)


def inspector(server: Served, home: Path, *arguments: str, token: str | None = None) -> Ran:
    # Exactly: tests/clients/node_modules/.bin/mcp-inspector --cli URL --header "Authorization: Bearer TOKEN" ...
    header = ["--header", f"Authorization: Bearer {token or server.token}"] if token != "" else []
    return run_node([str(INSPECTOR), "--cli", server.url, *header, "--format", "json", *arguments], home)


# --- the official TypeScript SDK --------------------------------------------------------------------------


def test_ts_sdk_lists_tools_looks_up_and_issues_a_coupon_only_after_the_token_round(
    server: Served, tmp_path: Path
) -> None:
    ran = ts_client(server, server.token, tmp_path)
    assert ran.returncode == 0, ran.stderr
    summary = ran.json()

    assert summary["server"]["name"] == "cap-mcp"
    assert (summary["sessionId"] is None) is server.stateless
    assert {"customer_lookup", "coupon_issue", "coupon_get", "points_transfer"} <= set(summary["tools"])

    lookup = summary["lookup"]
    assert not lookup["isError"] and lookup["status"] == "success"
    assert (lookup["id"], lookup["name"]) == (5100001, "Asha Rao")

    first, confirmed, replayed = summary["issue_first"], summary["issue_confirmed"], summary["issue_replayed"]
    coupons = summary["coupons"]
    assert not first["isError"] and first["status"] == "confirmation_required" and first["has_confirmation_token"]
    assert "nothing has been done" in first["text"]
    assert coupons["after_first_call"] == coupons["before"]  # the first call issued nothing
    assert not confirmed["isError"] and confirmed["status"] == "success", confirmed
    assert (confirmed["data"]["seriesId"], confirmed["data"]["issuedTo"]) == (3002, 5100002)
    assert coupons["after_confirmed_call"] == coupons["before"] + 1  # the token round issued exactly one
    assert replayed["isError"] and "already used" in replayed["text"]
    assert coupons["after_replayed_token"] == coupons["before"] + 1

    code = confirmed["data"]["code"]
    rounds = [line for line in server.audit_lines() if line["tool"] == "coupon_issue"]
    assert [line["outcome"] for line in rounds][-3:] == ["token issued", "executed: success",
                                                       "refused: token already used"]  # fmt: skip
    assert rounds[-2]["confirmed_by"] == "token" and all(line["caller"] == CALLER for line in rounds)
    audit = server.audit.read_text()
    assert server.token not in audit and code not in audit


def test_ts_sdk_with_a_wrong_token_is_refused(server: Served, tmp_path: Path) -> None:
    ran = ts_client(server, "not-" + server.token, tmp_path)
    assert ran.returncode == 1
    assert "invalid_token" in ran.stderr or "401" in ran.stderr, ran.stderr


# --- the MCP Inspector CLI --------------------------------------------------------------------------------

ERAS = ["legacy", "modern"]  # 2025-11-25 with a session; 2026-07-28


@pytest.mark.parametrize("era", ERAS)
def test_inspector_cli_lists_tools(server: Served, tmp_path: Path, era: str) -> None:
    ran = inspector(server, tmp_path, "--method", "tools/list", "--protocol-era", era)
    assert ran.returncode == 0, ran.stderr
    tools = {tool["name"]: tool for tool in ran.json()["result"]["tools"]}
    assert {"customer_lookup", "coupon_issue", "points_transfer"} <= set(tools)
    assert tools["customer_lookup"]["inputSchema"]["type"] == "object"
    assert "identifierValue" in tools["customer_lookup"]["inputSchema"]["properties"]


@pytest.mark.parametrize("era", ERAS)
def test_inspector_cli_calls_customer_lookup(server: Served, tmp_path: Path, era: str) -> None:
    ran = inspector(server, tmp_path, "--method", "tools/call", "--tool-name", "customer_lookup",
                    "--tool-args-json", json.dumps(LOOKUP), "--protocol-era", era)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    result = ran.json()["result"]
    assert not result.get("isError")
    structured = result["structuredContent"]
    assert structured["status"] == "success" and structured["data"]["id"] == 5100001
    assert structured["data"]["profiles"][0]["firstName"] == "Asha"
    assert "Asha" in result["content"][0]["text"]


def test_inspector_cli_without_a_token_is_refused(server: Served, tmp_path: Path) -> None:
    ran = inspector(server, tmp_path, "--method", "tools/list", "--stored-auth-only", token="")
    assert ran.returncode != 0 and "auth_required" in ran.stderr, (ran.returncode, ran.stderr)
    assert not ran.stdout.strip()


@pytest.mark.parametrize("era", ERAS)
def test_inspector_cli_token_round_across_two_invocations(server: Served, tmp_path: Path, era: str) -> None:
    """Each CLI run is a new connection. The token is bound to the caller and, on a 2025-era stateful
    connection, to the session too: there a second run cannot use it; stateless or on 2026-07-28 it can."""
    first = inspector(server, tmp_path, "--method", "tools/call", "--tool-name", "coupon_issue",
                      "--tool-args-json", json.dumps(ISSUE), "--protocol-era", era)  # fmt: skip
    assert first.returncode == 0, first.stderr
    preview = first.json()["result"]["structuredContent"]
    assert preview["status"] == "confirmation_required"
    args = {**ISSUE, "confirmation_token": preview["confirmation_token"]}
    second = inspector(server, tmp_path, "--method", "tools/call", "--tool-name", "coupon_issue",
                       "--tool-args-json", json.dumps(args), "--protocol-era", era)  # fmt: skip
    result = second.json()["result"]
    if era == "legacy" and not server.stateless:
        assert second.returncode != 0 and result["isError"]
        assert "another session" in result["content"][0]["text"]
    else:
        assert second.returncode == 0, second.stderr
        assert result["structuredContent"]["status"] == "success"
        assert result["structuredContent"]["data"]["issuedTo"] == 5100002
