"""Profiles decide what the model sees; snapshots make every change to that surface visible in review."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import TRANSFER_ARGS
from mcp import Client

from cap_mcp.config import ConfigError
from cap_mcp.profiles import CORE_TOOLSETS, DEFAULT_TOOLS, SUPPORT_TOOLS, build_profile
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio
SNAPSHOTS = Path(__file__).parent / "snapshots"
PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    "all": {"toolsets": ("all",)},
    "read_only": {"read_only": True},
    "dynamic": {"dynamic": True, "toolsets": ("all",)},
    "support": {"toolsets": ("support",)},
}


async def listed(runtime: Any) -> list[dict[str, Any]]:
    async with Client(build_server(runtime), mode="legacy") as client:
        tools = (await client.list_tools()).tools
    return [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]


@pytest.mark.parametrize("profile", list(PROFILES))
async def test_surface_snapshot(make_runtime, profile: str) -> None:
    """The tool definitions each profile shows. Update on purpose: UPDATE_SNAPSHOTS=1 pytest tests/test_profiles.py"""
    surface = await listed(make_runtime(**PROFILES[profile]))
    path = SNAPSHOTS / f"surface_{profile}.json"
    text = json.dumps(surface, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"the {profile} tool surface changed; review and update the snapshot"


async def test_default_lists_the_support_desk_tools_sorted_then_discovery(make_runtime, catalog) -> None:
    names = [t["name"] for t in await listed(make_runtime())]
    expected = sorted((catalog.get(name).toolset, name) for name in DEFAULT_TOOLS)
    assert names == [name for _, name in expected] + ["search_operations", "describe_operation", "call_operation"]


async def test_core_lists_the_four_core_toolsets(make_runtime, catalog) -> None:
    names = [t["name"] for t in await listed(make_runtime(toolsets=("core",), discovery="off"))]
    everything = [*catalog, *catalog.composites.values()]  # customer_overview belongs to the customer toolset
    assert names == [
        op.name for op in sorted(everything, key=lambda o: (o.toolset, o.name)) if op.toolset in CORE_TOOLSETS
    ]


def test_filters_apply_in_the_documented_order(catalog) -> None:
    profile = build_profile(catalog, toolsets=("points",), tools=("coupon_get", "otp_generate"),
                            exclude_tools=("points_reverse",))  # fmt: skip
    names = {op.name for op in profile.listed}
    assert {"points_transfer", "coupon_get", "otp_generate"} <= names and "points_reverse" not in names
    assert not profile.allows("points_reverse") and profile.allows("events_list"), "discovery reaches the rest"
    strict = build_profile(catalog, toolsets=("all",), tools=("points_transfer",), read_only=True)
    assert all(op.max_effect == "read" for op in strict.operations) and not strict.allows("points_transfer")
    selected = build_profile(catalog, toolsets=("points",), discovery="selected")
    assert {op.toolset for op in selected.operations} == {"points"}
    closed = build_profile(catalog, toolsets=("points",), discovery="off")
    assert closed.operations == closed.listed and not closed.discovery


def test_section_names_are_accepted_as_toolset_names(catalog) -> None:
    assert {op.toolset for op in build_profile(catalog, toolsets=("customerLabels",)).listed} == {"customer_labels"}


def test_unknown_names_stop_start_up_listing_valid_ones(catalog) -> None:
    with pytest.raises(ConfigError, match=r"unknown toolset 'pointz'; valid: default, support, core, all, .*points"):
        build_profile(catalog, toolsets=("pointz",))
    with pytest.raises(ConfigError, match=r"unknown tool 'points_transfr'.*points_transfer"):
        build_profile(catalog, tools=("points_transfr",))


def test_the_support_profile_is_small_and_complete(catalog) -> None:
    assert all(catalog.get(name) for name in SUPPORT_TOOLS)
    names = {op.name for op in build_profile(catalog, toolsets=("support",)).listed}
    assert names == set(SUPPORT_TOOLS)


async def test_dynamic_mode_reaches_everything_with_the_same_guards(make_runtime, recorder) -> None:
    async with Client(build_server(make_runtime(dynamic=True, toolsets=("all",)))) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        found = await client.call_tool("search_operations", {"query": "give her points to her husband"})
        described = await client.call_tool("describe_operation", {"name": "points_transfer"})
        bad = await client.call_tool("call_operation", {"name": "points_transfer", "arguments": {"code": 1}})
        first = await client.call_tool("call_operation", {"name": "points_transfer", "arguments": TRANSFER_ARGS})
        token = first.structured_content["confirmation_token"]
        done = await client.call_tool("call_operation", {"name": "points_transfer", "arguments": TRANSFER_ARGS,
                                                         "confirmation_token": token})  # fmt: skip
        events = await client.call_tool("call_operation", {"name": "events_list", "arguments": {}})
    assert tools == ["search_operations", "describe_operation", "call_operation"]
    assert "points_transfer" in [r["name"] for r in found.structured_content["results"][:3]]
    assert "pointsTobeTransferred" in described.structured_content["input_schema"]["properties"]
    assert bad.is_error and "Invalid arguments" in bad.content[0].text
    assert len(recorder.calls("POST", "/v2/points/transfer")) == 1 and not done.is_error
    assert not events.is_error


async def test_dynamic_mode_respects_read_only(make_runtime, recorder) -> None:
    async with Client(build_server(make_runtime(dynamic=True, read_only=True, toolsets=("all",)))) as client:
        refused = await client.call_tool("call_operation", {"name": "points_transfer", "arguments": TRANSFER_ARGS})
        hits = await client.call_tool("search_operations", {"query": "transfer points"})
    assert refused.is_error and "read-only" in refused.content[0].text
    assert all(r["effect"] == "read" for r in hits.structured_content["results"])
    assert recorder.calls("POST", "/v2/points/transfer") == []
