"""Lay out the cap-mcp MCP Bundle (.mcpb) for Claude Desktop, ready for `mcpb pack`.

    python packaging/build_mcpb.py --out build/mcpb            # from a venv with cap-mcp installed
    npx @anthropic-ai/mcpb pack build/mcpb cap-mcp.mcpb

The bundle is a `python` server: manifest.json (packaging/mcpb/manifest.json, with the compatibility
of this build added), server/main.py, and server/lib/ holding cap_mcp (with its tool_schemas) and
every package it needs, copied from the environment running this script. Some of those packages are
compiled (pydantic-core, cryptography, rpds-py), so a bundle runs on the operating system and Python
minor version it was built with; the manifest's `compatibility` says which. Build one per platform.
Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "packaging" / "mcpb"
PLATFORMS = {"linux": "linux", "darwin": "darwin", "win32": "win32"}


def dependency_closure(project: str = "cap-mcp") -> dict[str, metadata.Distribution]:
    """Every installed distribution `project` needs here (markers evaluated, requested extras followed)."""
    found: dict[str, metadata.Distribution] = {}
    todo: list[tuple[str, frozenset[str]]] = [(project, frozenset())]
    expanded: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if (key, extras) in expanded:
            continue
        expanded.add((key, extras))
        dist = found.setdefault(key, metadata.distribution(name))
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in {"", *extras}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return found


def copy_distribution(dist: metadata.Distribution, lib: Path) -> None:
    """The distribution's files that live in site-packages (its package and its .dist-info)."""
    for file in dist.files or []:
        if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix == ".pth":
            continue
        source = Path(str(dist.locate_file(file)))
        if source.is_file():
            target = lib / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def build(out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    (out / "server").mkdir(parents=True)
    shutil.copy2(TEMPLATE / "server" / "main.py", out / "server" / "main.py")
    lib = out / "server" / "lib"
    for key, dist in sorted(dependency_closure().items()):
        if key != "cap-mcp":
            copy_distribution(dist, lib)
    # cap_mcp itself from this checkout, laid out as its wheel is (tool_schemas inside the package).
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "cap_mcp", lib / "cap_mcp", ignore=ignore)
    shutil.copytree(ROOT / "tool_schemas", lib / "cap_mcp" / "tool_schemas", ignore=ignore)
    manifest = json.loads((TEMPLATE / "manifest.json").read_text(encoding="utf-8"))
    major, minor = sys.version_info[:2]
    manifest["compatibility"] = {
        "platforms": [PLATFORMS.get(sys.platform, sys.platform)],
        "runtimes": {"python": f">={major}.{minor} <{major}.{minor + 1}"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "mcpb", help="directory to lay the bundle out in")
    args = parser.parse_args()
    out = build(args.out)
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    print(f"{out}: {size / 1e6:.1f} MB; next: npx @anthropic-ai/mcpb pack {out} cap-mcp.mcpb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
