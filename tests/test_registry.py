"""server.json for the MCP registry, checked against the fields and constraints its schema documents
(2025-12-11 release: name, description and version required; a PyPI package names its identifier,
an exact version and a transport), the registry's PyPI ownership line in the README, and this project's
own facts (version, settings, clusters)."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from conftest import ROOT

from cap_mcp.config import CLUSTERS, Settings

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
NAME = re.compile(r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$")  # reverse-DNS namespace, one slash, server name
RANGE = re.compile(r"[\^~<>=*x]|\.x\b|^latest$")


def load() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ROOT / "server.json").read_text())
    return document


def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]  # type: ignore[no-any-return]


def test_the_required_fields_and_their_limits() -> None:
    server = load()
    assert server["$schema"] == SCHEMA_URL
    assert {"name", "description", "version"} <= set(server)
    assert NAME.match(server["name"]) and 3 <= len(server["name"]) <= 200
    assert 1 <= len(server["description"]) <= 100
    assert 1 <= len(server.get("title", "x")) <= 100
    assert not RANGE.search(server["version"]) and server["version"] == project()["version"]
    assert set(server) <= {"$schema", "name", "title", "description", "version", "packages", "remotes",
                           "repository", "websiteUrl", "icons", "_meta"}  # fmt: skip


def test_the_pypi_package_is_this_project_run_over_stdio() -> None:
    [package] = load()["packages"]
    assert package["registryType"] == "pypi" and package["registryBaseUrl"] == "https://pypi.org"
    assert package["identifier"] == project()["name"]
    assert package["version"] == project()["version"] and not RANGE.search(package["version"])
    assert package["transport"] == {"type": "stdio"}
    assert project()["scripts"][package["identifier"]] == "cap_mcp.cli:main"  # what `uvx cap-mcp` runs
    for argument in package["packageArguments"]:
        assert argument["type"] in ("positional", "named") and ("value" in argument or "valueHint" in argument)
    assert [a["value"] for a in package["packageArguments"]] == ["serve"]


def test_the_environment_variables_are_real_settings() -> None:
    [package] = load()["packages"]
    variables = {item["name"]: item for item in package["environmentVariables"]}
    for name, item in variables.items():
        assert name.removeprefix("CAP_MCP_").lower() in Settings.model_fields, name
        assert item.get("format", "string") in ("string", "number", "boolean", "filepath")
        assert item["description"]
        if "default" in item and "choices" in item:
            assert item["default"] in item["choices"]
    assert variables["CAP_MCP_CLUSTER"]["choices"] == list(CLUSTERS)
    assert variables["CAP_MCP_AUTH"]["choices"] == ["basic", "oauth"]
    assert {name for name, item in variables.items() if item.get("isSecret")} == {
        "CAP_MCP_PASSWORD",
        "CAP_MCP_CLIENT_SECRET",
    }


def test_the_readme_carries_the_registrys_ownership_line() -> None:
    """The registry checks a PyPI package's description (our README) for `mcp-name: <server name>`."""
    readme = (ROOT / "README.md").read_text()
    assert f"mcp-name: {load()['name']}" in readme
    assert project()["readme"] == "README.md"
