"""Check toolset files against the reference: `python tests/check_section.py tool_schemas/points.json ...`.

Prints, per file: operations, reference headings not covered, headings claimed that
the reference does not have, examples that do not validate, summary fields that are
not arguments, and the size of the tool definitions the model will see.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_docs import operation_headings, reference_root, section_doc

from cap_mcp.catalog import load_toolset_file

_FIELD = re.compile(r"\{([A-Za-z0-9_.\-]+)\}")


def check(path: Path) -> list[str]:
    problems: list[str] = []
    toolset = load_toolset_file(path)
    root = reference_root()

    exclusions = list(toolset.exclusions)
    claimed: dict[str, set[str]] = {}
    for op in toolset.operations:
        claimed.setdefault(op.reference["doc"], set()).update(op.reference["headings"])
        errors = sorted(e.message for e in Draft202012Validator(op.input_schema).iter_errors(op.example["arguments"]))
        problems += [f"{op.name}: example argument error: {e}" for e in errors]
        for field in _FIELD.findall(op.summary or ""):
            if op.arg(field.split(".")[0]) is None:
                problems.append(f"{op.name}: summary field {{{field}}} is not an argument")
        for arg in op.args:
            if arg.location == "path" and arg.name not in op.example["arguments"]:
                problems.append(f"{op.name}: example lacks path argument {arg.name}")
    for item in exclusions:
        claimed.setdefault(section_doc(toolset.section), set()).add(item["heading"])
    if root is not None:
        for doc, headings in claimed.items():
            text = (root / doc).read_text(encoding="utf-8")
            # Any heading of the document may be claimed: a few real operations lack the table.
            present = {h.strip() for h in re.findall(r"(?m)^#{1,4} (.+)$", text)}
            problems += [f"not a heading of {doc}: {h!r}" for h in sorted(headings - present)]
        doc = section_doc(toolset.section)
        documented = operation_headings((root / doc).read_text(encoding="utf-8"))
        covered = claimed.get(doc, set())
        problems += [f"not catalogued or excluded ({doc}): {h!r}" for h in documented if h not in covered]
    else:
        problems.append("reference not found: coverage not checked")
    listed = [
        {"name": op.name, "description": op.description, "inputSchema": op.input_schema, "annotations": op.annotations}
        for op in toolset.operations
    ]
    size = len(json.dumps(listed))
    print(f"{path.name}: {len(toolset.operations)} operations, tools/list size {size} chars (~{size // 4} tokens)")
    return problems


def main(argv: list[str]) -> int:
    failed = False
    for name in argv:
        for problem in check(Path(name)):
            failed = True
            print("  -", problem)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
