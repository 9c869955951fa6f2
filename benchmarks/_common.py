"""Helpers the benchmark scripts share: machine facts, percentiles, ports, tables, the cap-mcp command."""

from __future__ import annotations

import math
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rounded(value: Any, places: int = 4) -> Any:
    """The results with floats cut to a few decimals, for the JSON blob."""
    if isinstance(value, float):
        return round(value, places)
    if isinstance(value, dict):
        return {k: rounded(v, places) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, places) for v in value]
    return value


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Iterable[str]) -> str:
        return "  ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line("-" * w for w in widths), *(line(row) for row in rows)])


def cap_mcp_command() -> list[str]:
    """The venv's `cap-mcp` console script, or `python -m cap_mcp` if it is not installed."""
    script = Path(sys.executable).with_name("cap-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cap_mcp"]


def machine_info(**extra: Any) -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mcp": metadata.version("mcp"),
        "cap_mcp": metadata.version("cap-mcp"),
        **extra,
        "commit": git_commit(),
    }


def git_commit() -> str | None:
    """The checkout's commit, marked when the code measured has uncommitted changes."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        changed = _git("status", "--porcelain", "--", "cap_mcp", "tool_schemas", "pyproject.toml")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head} with uncommitted changes" if changed else head


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=5, check=True
    ).stdout.strip()
