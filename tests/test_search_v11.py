"""Everyday support requests find the v1.1 operations (histories, notes, tickets...) through search_operations.

`search_cases_v11.json` has the same shape as `search_cases.json`: a request and the operation
names that answer it. The first result should be one of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cap_mcp.catalog import Catalog
from cap_mcp.discovery import search_operations

CASES_FILE = Path(__file__).resolve().parent / "search_cases_v11.json"
MIN_TOP1 = 0.9
MIN_TOP3 = 0.97


def load_cases() -> list[dict[str, Any]]:
    return json.loads(CASES_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_cases_are_well_formed(catalog: Catalog) -> None:
    cases = load_cases()
    assert len(cases) >= 25
    queries = [c["query"].strip().lower() for c in cases]
    assert len(set(queries)) == len(queries), "duplicate requests"
    for case in cases:
        assert all(catalog.get(name) is not None for name in case["expected"]), case
        assert catalog.get(case["expected"][0]).toolset.startswith("v11_"), case  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_v11_requests_rank_their_operation_first(make_runtime) -> None:
    runtime = make_runtime(toolsets=("all",), dynamic=True)
    cases = load_cases()
    top1, top3, misses = 0, 0, []
    for case in cases:
        result = search_operations(runtime, runtime.policy, {"query": case["query"], "limit": 3})
        found = [r["name"] for r in result.structured_content["results"]]
        top1 += bool(found) and found[0] in case["expected"]
        top3 += bool(set(found) & set(case["expected"]))
        if not found or found[0] not in case["expected"]:
            misses.append(f"  {case['query']!r}: expected {case['expected']}, got {found}")
    print(f"\nv1.1 search: top-1 {top1}/{len(cases)}, top-3 {top3}/{len(cases)}")
    if misses:
        print("not first:\n" + "\n".join(misses))
    assert top1 / len(cases) >= MIN_TOP1
    assert top3 / len(cases) >= MIN_TOP3
