"""The command line: tools --json for outside checks, call with explicit consent, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import BASIC_HEADER, ROOT, TRANSFER_ARGS
from recorder import Recorder


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cap_mcp", *args], capture_output=True, text=True, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", **(env or {})}, input=stdin, timeout=60)  # fmt: skip


def test_tools_json_has_the_fields_outside_checks_read(catalog) -> None:
    tools = json.loads(run("tools", "--json").stdout)
    assert len(tools) == len(catalog)
    for tool in tools:
        assert {"name", "toolset", "title", "method", "path", "effect", "guarded", "input_schema"} <= set(tool)
        assert {"effect_when", "max_effect", "opt_in", "verify_with", "verify_args", "verify_reason"} <= set(tool)
        assert tool["guarded"] == (tool["max_effect"] != "read")
        assert tool["max_effect"] in [tool["effect"], *(c["effect"] for c in tool["effect_when"])]
    transfer = next(t for t in tools if t["name"] == "points_transfer")
    assert (transfer["method"], transfer["path"], transfer["effect"]) == ("POST", "/v2/points/transfer", "destructive")
    assert "code" in transfer["input_schema"]["required"]
    check = next(t for t in tools if t["name"] == "points_is_transferrable")
    assert (check["effect"], check["max_effect"], check["guarded"]) == ("read", "destructive", True)
    assert next(t for t in tools if t["name"] == "otp_get")["opt_in"]


def test_tools_counts_per_toolset() -> None:
    out = run("tools", "--toolset", "points").stdout
    assert "points (11 operations)" in out and "points_transfer" in out and "[confirms]" in out
    assert "unknown toolset 'pointz'" in run("tools", "--toolset", "pointz").stderr


def call_env(recorder: Recorder, tmp_path: Path) -> dict[str, str]:
    return {"CAP_MCP_BASE_URL": recorder.url, "CAP_MCP_USERNAME": "store.server", "CAP_MCP_PASSWORD": "server123",
            "CAP_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl")}  # fmt: skip


def test_call_a_read(recorder: Recorder, tmp_path: Path) -> None:
    args = json.dumps({"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"})
    out = run("call", "customer_lookup", "--args", args, env=call_env(recorder, tmp_path))
    assert out.returncode == 0 and json.loads(out.stdout)["status"] == "success"
    assert recorder.calls()[0].header("Authorization") == BASIC_HEADER


def test_call_a_guarded_tool_needs_consent(recorder: Recorder, tmp_path: Path) -> None:
    env = call_env(recorder, tmp_path)
    refused = run("call", "points_transfer", "--args", json.dumps(TRANSFER_ARGS), env=env, stdin="y\n")
    assert refused.returncode == 3 and "Transfer 120 points" in refused.stderr and "--yes" in refused.stderr
    assert recorder.calls("POST", "/v2/points/transfer") == []
    done = run("call", "points_transfer", "--args", json.dumps(TRANSFER_ARGS), "--yes", env=env)
    assert done.returncode == 0 and len(recorder.calls("POST", "/v2/points/transfer")) == 1
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [x["confirmed_by"] for x in lines] == [None, "operator"]
    assert lines[1]["arguments"]["code"] == "***"


def test_call_reports_bad_input_clearly(recorder: Recorder, tmp_path: Path) -> None:
    env = call_env(recorder, tmp_path)
    assert "not valid JSON" in run("call", "customer_lookup", "--args", "{nope", env=env).stderr
    bad = run("call", "customer_lookup", "--args", "{}", env=env)
    assert bad.returncode == 2 and "missing required argument 'identifierName'" in bad.stderr
    assert recorder.requests == []


def test_help_describes_the_commands() -> None:
    out = run("--help").stdout
    for command in ("serve", "tools", "call", "sandbox", "demo"):
        assert command in out
    assert "--read-only" in run("serve", "--help").stdout
