"""The command line at its edges, run as a real subprocess: closed pipes, profile names, complete lists of valid values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from recorder import Recorder
from test_cli import call_env, run

from cap_mcp.config import CLUSTERS
from cap_mcp.profiles import build_profile

ISSUE = json.dumps({"seriesId": 3002, "customer": {"id": 5100002}})


def reading(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cap_mcp", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", **(env or {})})  # fmt: skip


def test_tools_into_a_reader_that_stops_early_ends_quietly() -> None:
    # The text listing (~30 KB) may fit in the pipe before the reader goes (then nothing failed: status 0);
    # the JSON one (~800 KB) cannot, so its write fails (status 141, as a program stopped by SIGPIPE).
    for args, take, statuses in ((("tools",), "line", (0, 141)), (("tools", "--json"), 100, (141,))):
        with reading(*args) as process:  # like `cap-mcp tools | head -1` and `cap-mcp tools --json | head -c 100`
            assert process.stdout is not None and process.stderr is not None
            first = process.stdout.readline() if take == "line" else process.stdout.read(int(take))
            process.stdout.close()
            stderr = process.stderr.read().decode()
            assert process.wait(60) in statuses, stderr
        assert first and stderr == ""  # no traceback, no "Exception ignored" at exit


def test_a_write_into_a_closed_pipe_still_reports_its_outcome(recorder: Recorder, tmp_path: Path) -> None:
    with reading("call", "coupon_issue", "--args", ISSUE, "--yes", env=call_env(recorder, tmp_path)) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # the reader is gone before the call ends: `... --yes | head -0`
        stderr = process.stderr.read().decode()
        assert process.wait(60) == 0, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert "coupon_issue ran: done (HTTP 200) (and in the audit log)" in stderr
    assert len(recorder.calls("POST", "/v2/coupon/issue")) == 1
    [line] = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert line["outcome"] == "executed: success" and line["confirmed_by"] == "operator"


def test_a_write_into_an_open_pipe_prints_its_result(recorder: Recorder, tmp_path: Path) -> None:
    with reading("call", "coupon_issue", "--args", ISSUE, "--yes", env=call_env(recorder, tmp_path)) as process:
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and json.loads(out)["status"] == "success" and err == b""


def test_tools_takes_every_profile_name_serve_takes(catalog) -> None:
    def listed(toolsets: str) -> list[str]:
        out = run("tools", "--json", "--toolset", toolsets)
        assert out.returncode == 0, out.stderr
        return sorted(tool["name"] for tool in json.loads(out.stdout))

    def served(*toolsets: str) -> list[str]:
        """The catalogued operations `serve --toolsets` lists as tools (the overview is not a Capillary operation)."""
        return sorted(
            op.name for op in build_profile(catalog, toolsets=toolsets).listed if catalog.operations.get(op.name)
        )

    assert listed("default") == served("default") and 20 < len(listed("default")) < 40
    assert listed("all") == served("all") == sorted(op.name for op in catalog if op.opt_in is None)
    assert listed("support") == served("support")
    assert listed("customerLabels") == listed("customer_labels") == served("customer_labels")
    assert listed("points,customerLabels") == served("points", "customer_labels")
    assert "30 operations in 5 toolsets" in run("tools", "--toolsets", "support").stdout


def test_every_list_of_valid_values_is_complete(catalog, tmp_path: Path) -> None:
    unknown = run("tools", "--toolset", "pointz")
    assert unknown.returncode == 2
    for name in ["all", "default", "support", *catalog.toolsets]:
        assert name in unknown.stderr, name
    no_cluster = run("call", "customer_lookup", "--args", "{}", env={"CAP_MCP_USERNAME": "u", "CAP_MCP_PASSWORD": "p",
                                                                      "CAP_MCP_AUDIT_LOG": "off"})  # fmt: skip
    assert no_cluster.returncode == 2
    for cluster in CLUSTERS:
        assert f" {cluster}" in no_cluster.stderr, cluster
    wrong_cluster = run("call", "customer_lookup", "--args", "{}", env={"CAP_MCP_CLUSTER": "mars"})
    for cluster in CLUSTERS:
        assert f"'{cluster}'" in wrong_cluster.stderr, cluster
    for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        assert level in run("--log-level", "loud", "tools").stderr
    assert "text" in run("tools", env={"CAP_MCP_LOG_FORMAT": "xml"}).stderr
    assert "json" in run("tools", env={"CAP_MCP_LOG_FORMAT": "xml"}).stderr
    guards = run("serve", "--guards", "some")
    for policy in ("all", "destructive", "off"):
        assert f"'{policy}'" in guards.stderr


def test_a_read_into_a_closed_pipe_ends_quietly(recorder: Recorder, tmp_path: Path) -> None:
    lookup = json.dumps({"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"})
    with reading("call", "customer_lookup", "--args", lookup, env=call_env(recorder, tmp_path)) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(60) == 0
    assert stderr == ""  # the reader chose to stop; a read has nothing to report
