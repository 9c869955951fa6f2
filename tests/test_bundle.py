"""The Claude Desktop bundle (.mcpb): laid out, validated and packed with the `mcpb` CLI, unpacked, and
started exactly as its manifest's mcp_config says (the mcpb library substitutes the values) for a real
MCP client to list tools and call one.

The `mcpb` CLI is pinned in tests/clients/package.json; without node and `npm ci --prefix tests/clients`
these tests are skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from cap_mcp import __version__
from cap_mcp.catalog import load_catalog
from cap_mcp.config import Settings
from cap_mcp.profiles import build_profile

CLIENTS = ROOT / "tests" / "clients"
MCPB = CLIENTS / "node_modules" / ".bin" / "mcpb"
MANIFEST = ROOT / "packaging" / "mcpb" / "manifest.json"
LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}

needs_mcpb = pytest.mark.skipif(
    shutil.which("node") is None or not MCPB.exists(),
    reason="the mcpb CLI is not installed: needs node and `npm ci --prefix tests/clients` (.ci/run does both)",
)


def test_the_manifest_asks_for_what_the_server_needs() -> None:
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["version"] == __version__
    options, config = manifest["user_config"], manifest["server"]["mcp_config"]
    assert {name for name, option in options.items() if option.get("sensitive")} == {"password", "client_secret"}
    assert all("default" in option for option in options.values())  # an unset value is never left as ${...}
    env = config["env"]
    used = {match for value in env.values() for match in re.findall(r"\$\{user_config\.(\w+)\}", value)}
    assert used == set(options)
    for name in env:
        assert name.startswith("CAP_MCP_") and name.removeprefix("CAP_MCP_").lower() in Settings.model_fields
    for cluster in ("india", "apac", "apac2", "eu", "us", "china"):
        assert cluster in options["cluster"]["description"]


def run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle laid out, validated, packed and unpacked (as an app installs it)."""
    if shutil.which("node") is None or not MCPB.exists():
        pytest.skip("the mcpb CLI is not installed: needs node and `npm ci --prefix tests/clients`")
    work = tmp_path_factory.mktemp("mcpb")
    built = run(sys.executable, ROOT / "packaging" / "build_mcpb.py", "--out", work / "bundle")
    assert built.returncode == 0, built.stderr
    validated = run(MCPB, "validate", work / "bundle" / "manifest.json")
    assert validated.returncode == 0 and "passes" in validated.stdout, validated.stdout + validated.stderr
    packed = run(MCPB, "pack", work / "bundle", work / "cap-mcp.mcpb")
    assert packed.returncode == 0 and (work / "cap-mcp.mcpb").is_file(), packed.stdout + packed.stderr
    unpacked = run(MCPB, "unpack", work / "cap-mcp.mcpb", work / "installed")
    assert unpacked.returncode == 0, unpacked.stdout + unpacked.stderr
    return work / "installed"


def host_config(installed: Path, user_config: dict[str, Any]) -> dict[str, Any]:
    out = run("node", CLIENTS / "mcpb_config.mjs", installed, json.dumps(user_config), timeout=60)
    assert out.returncode == 0, out.stderr
    config: dict[str, Any] = json.loads(out.stdout)
    return config


def python_on_path_fits(installed: Path) -> None:
    """The bundle carries compiled packages for the Python it was built with; the host's python3 must match."""
    required = json.loads((installed / "manifest.json").read_text())["compatibility"]["runtimes"]["python"]
    found = run("python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])", timeout=30).stdout.strip()
    if f">={found} " not in required + " ":
        pytest.skip(f"python3 on PATH is {found}; this bundle needs {required}")


# What the default profile lists: the everyday support-desk tools and the three discovery tools.
DEFAULT_LISTED = len(build_profile(load_catalog(validate=False)).listed) + 3


@needs_mcpb
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("user_config", "tools"),
    [({"sandbox": True}, DEFAULT_LISTED), ({"sandbox": True, "toolsets": "support", "read_only": True}, None)],
    ids=["sandbox", "support-read-only"],
)
async def test_the_installed_bundle_starts_as_its_manifest_says(
    installed: Path, tmp_path: Path, user_config: dict[str, Any], tools: int | None
) -> None:
    python_on_path_fits(installed)
    config = host_config(installed, user_config)
    assert config["command"] == "python3" and config["args"][0] == str(installed / "server" / "main.py")
    # The host's own environment (the SDK adds HOME, PATH, ...) with the audit log kept in the test's directory.
    env = {**config["env"], "XDG_STATE_HOME": str(tmp_path)}
    params = StdioServerParameters(command=config["command"], args=config["args"], env=env, cwd=str(tmp_path))
    with (tmp_path / "stderr.txt").open("w") as errors:
        async with Client(stdio_client(params, errlog=errors), mode="legacy") as client:
            listed = await client.list_tools()
            result = await client.call_tool("customer_lookup", LOOKUP)
    names = {tool.name for tool in listed.tools}
    if tools is not None:
        assert len(names) == tools
    else:  # the support profile, reads only
        assert "customer_lookup" in names and "points_transfer" not in names and len(names) < 30
    assert not result.is_error and result.structured_content["data"]["id"] == 5100001
    packages_come_from_the_bundle(installed)


def packages_come_from_the_bundle(installed: Path) -> None:
    """The SDK and pydantic the bundle runs are its own copies in lib/, not this test environment's."""
    lib = installed / "server" / "lib"
    code = "import sys; sys.path.insert(0, sys.argv[1]); import mcp, pydantic; print(mcp.__file__, pydantic.__file__)"
    out = run("python3", "-c", code, lib, timeout=60).stdout
    assert out.count(str(lib)) == 2, out


def test_the_readme_install_path_names_the_builder_and_the_cli() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "packaging/build_mcpb.py" in readme and "mcpb pack" in readme
    assert os.path.exists(ROOT / "packaging" / "build_mcpb.py")
