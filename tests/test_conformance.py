"""The MCP conformance suite (@modelcontextprotocol/conformance, pinned in tests/clients/package.json) against
`python -m cap_mcp serve --transport http --sandbox`.

Each server scenario that applies to cap-mcp runs on its own and must pass. The others test fixtures of the
suite's reference server (tools named test_*, resources under test://, prompts named test_*) or features cap-mcp
does not offer (logging, deprecated as of 2026-07-28; resource subscriptions), so they cannot apply; every
scenario the pinned suite lists is in exactly one of the two lists, so a new version's scenarios get classified
on purpose. Skipped without node or without `npm ci --prefix tests/clients`. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ROOT
from test_real_clients import CLIENTS, NODE, free_port, run_node

CONFORMANCE = CLIENTS / "node_modules" / ".bin" / "conformance"

APPLICABLE = [
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "completion-complete",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
]
NOT_APPLICABLE = {
    "logging-set-level": "no logging capability: deprecated as of 2026-07-28; cap-mcp logs to stderr",
    "resources-subscribe": "no resource subscriptions (removed in 2026-07-28; nothing here changes on its own)",
    "resources-unsubscribe": "no resource subscriptions",
    **{
        name: "a fixture of the suite's reference server (test_* tools, test:// resources, test_* prompts)"
        for name in (
            "tools-call-simple-text", "tools-call-image", "tools-call-audio", "tools-call-embedded-resource",
            "tools-call-mixed-content", "tools-call-with-logging", "tools-call-error", "tools-call-with-progress",
            "tools-call-sampling", "tools-call-elicitation", "json-schema-2020-12", "elicitation-sep1034-defaults",
            "server-sse-polling", "elicitation-sep1330-enums", "resources-read-text", "resources-read-binary",
            "resources-templates-read", "prompts-get-simple", "prompts-get-with-args",
            "prompts-get-embedded-resource", "prompts-get-with-image",
        )
    },
}  # fmt: skip

if NODE is None:
    pytestmark = pytest.mark.skip(reason="node is not installed: the conformance suite is a Node.js program")
elif not CONFORMANCE.exists():
    pytestmark = pytest.mark.skip(reason="the conformance suite is not installed: run `npm ci --prefix tests/clients`")


@pytest.fixture(scope="module", params=["stateful", "stateless"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bool]]:
    """The sandbox server over Streamable HTTP on loopback, without a token (the suite sends none)."""
    directory = tmp_path_factory.mktemp(f"conformance-{request.param}")
    port = free_port()
    environment = {name: value for name, value in os.environ.items() if not name.startswith("CAP_MCP_")}
    environment["CAP_MCP_AUDIT_LOG"] = str(directory / "audit.jsonl")
    log = directory / "server.log"
    command = [sys.executable, "-m", "cap_mcp", "serve", "--transport", "http", "--sandbox", "--port", str(port)]
    if request.param == "stateless":
        command.append("--stateless")
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"cap-mcp serve did not start:\n{log.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", request.param == "stateless"
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_every_scenario_of_the_pinned_suite_is_classified(tmp_path: Path) -> None:
    ran = run_node([str(CONFORMANCE), "list", "--server"], tmp_path)
    assert ran.returncode == 0, ran.stderr
    listed = set(re.findall(r"^\s*-\s+(\S+)\s*$", ran.stdout, re.MULTILINE))
    assert listed, ran.stdout
    assert listed == set(APPLICABLE) | set(NOT_APPLICABLE), "classify the suite's new or removed scenarios"
    assert not set(APPLICABLE) & set(NOT_APPLICABLE)


@pytest.mark.parametrize("scenario", APPLICABLE)
def test_conformance_scenario_passes(server: tuple[str, bool], tmp_path: Path, scenario: str) -> None:
    url, stateless = server
    if scenario == "server-sse-multiple-streams" and stateless:
        pytest.skip("several streams of one session: a stateless server has no sessions")
    # Exactly: tests/clients/node_modules/.bin/conformance server --url http://127.0.0.1:N/mcp --scenario NAME
    ran = run_node([str(CONFORMANCE), "server", "--url", url, "--scenario", scenario], tmp_path)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", ran.stdout)
    assert ran.returncode == 0, plain + ran.stderr
    passed = re.search(r"Passed: (\d+)/(\d+), (\d+) failed, (\d+) warnings", plain)
    assert passed, plain
    assert passed.group(1) == passed.group(2) and passed.group(3) == "0" and passed.group(4) == "0", plain
