"""The README's tool table is generated from the catalogue; this keeps it in sync."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def generated_table() -> str:
    out = subprocess.run([sys.executable, "-m", "cap_mcp", "tools", "--markdown"], capture_output=True, text=True,
                         cwd=ROOT, check=True)  # fmt: skip
    return out.stdout


def test_readme_tool_table_matches_the_catalogue() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- tools:start -->\n(.*)<!-- tools:end -->", readme, re.S)
    assert match, "README lacks the tools markers"
    assert match.group(1) == generated_table(), "regenerate: python -m cap_mcp tools --markdown (between the markers)"


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install . && .venv/bin/cap-mcp demo" in readme
    test_command = "python3 -m venv .venv && .venv/bin/pip install '.[test]' && .venv/bin/python -m pytest"
    assert test_command in readme and test_command in ci


def test_readme_says_what_the_tests_need_besides_python() -> None:
    """.ci/run installs more than the test command does; the README says what, and what skips without it."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for needed in ("redis-server", "npm ci --prefix tests/clients"):
        assert needed in ci and needed in readme, needed
    assert "CAPILLARY_DOCS_DIR" in readme and "../shared/capillary-api-docs" in readme
    assert re.search(r"ends `\d+ passed, \d+ skipped`", readme), "the README gives the fresh machine's result"
