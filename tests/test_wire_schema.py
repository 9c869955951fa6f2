"""What `tools/list` and `describe_operation` show is the catalogue's schema, shorter: nothing of it is lost."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from cap_mcp.catalog import Catalog
from cap_mcp.server import build_server
from cap_mcp.wire_schema import compact, expand, facts

pytestmark = pytest.mark.anyio

# Every profile a client can be given, by its settings.
PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    "all": {"toolsets": ("all",)},
    "read_only": {"read_only": True},
    "dynamic": {"dynamic": True},
    "support": {"toolsets": ("support",)},
    "core, no discovery": {"toolsets": ("core",), "discovery": "off"},
}


def _without_closed(node: Any) -> Any:
    """The catalogue's schema less `additionalProperties: false`, which listed schemas leave to the server."""
    if isinstance(node, dict):
        return {k: _without_closed(v) for k, v in node.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(node, list):
        return [_without_closed(item) for item in node]
    return node


def _own_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """A listed schema without the guards' confirmation_token, which the catalogue does not hold."""
    properties = {k: v for k, v in schema["properties"].items() if k != "confirmation_token"}
    return {**schema, "properties": properties}


async def _shown_schemas(runtime: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each operation's input schema as a client sees it: listed, or described through discovery."""
    profile = runtime.policy.profile
    async with Client(build_server(runtime), mode="legacy") as client:
        listed = {t.name: t.input_schema for t in (await client.list_tools()).tools}
        schemas = {op.name: listed[op.name] for op in profile.listed}
        for op in profile.operations:
            if op.name not in schemas and profile.discovery:
                described = await client.call_tool("describe_operation", {"name": op.name})
                assert not described.is_error, described.content
                schemas[op.name] = described.structured_content["input_schema"]
    return schemas, [op.name for op in profile.operations]


@pytest.mark.parametrize("profile", list(PROFILES))
async def test_every_reachable_operation_shows_its_whole_schema(make_runtime, catalog: Catalog, profile: str) -> None:
    schemas, reachable = await _shown_schemas(make_runtime(**PROFILES[profile]))
    assert reachable and set(schemas) == set(reachable), "every reachable operation's schema can be seen"
    for name in reachable:
        expected = catalog.get(name).input_schema  # type: ignore[union-attr]
        shown = _own_arguments(schemas[name])
        lost = facts(expected) - facts(shown)
        assert not lost, f"{profile}: {name} lost {sorted(lost)[:5]}"
        assert expand(shown) == expand(_without_closed(expected)), f"{profile}: {name} says something else"


def test_facts_name_every_property_type_enum_value_and_requirement() -> None:
    schema = {
        "type": "object",
        "properties": {
            "customer": {"$ref": "#/$defs/customer"},
            "source": {"type": "string", "enum": ["INSTORE", "ALL"], "format": "x"},
        },
        "required": ["customer"],
        "$defs": {"customer": {"type": "object", "properties": {"mobile": {"type": "string"}}, "required": ["mobile"]}},
    }
    assert facts(schema) == {
        '$ type "object"', "$ has customer", "$ has source", "$ requires customer",
        '$.customer type "object"', "$.customer has mobile", "$.customer requires mobile", '$.customer.mobile type "string"',
        '$.source type "string"', '$.source format "x"', '$.source allows "INSTORE"', '$.source allows "ALL"',
    }  # fmt: skip


LINE = {
    "type": "object",
    "properties": {
        "itemCode": {"type": "string", "description": "Item code"},
        "qty": {"type": "number"},
        "comboType": {"enum": ["COMBO_PARENT", "COMBO_ITEM", "ADD_ON_ITEM", "SPLIT"]},
    },
    "required": ["itemCode"],
}


def test_a_repeated_shape_is_written_once_and_named_after_its_holders() -> None:
    schema = {
        "type": "object",
        "properties": {
            "comboDetails": {"type": "array", "items": LINE},
            "addOnDetails": {"type": "array", "items": LINE},
            "splitDetails": {"type": "array", "items": LINE},
            "lineItems": {"type": "array", "items": {"type": "object", "properties": {"combo": LINE}}},
        },
        "additionalProperties": False,
    }
    listed = compact(schema)
    # Named by the words their holders' names share, else by the shape's own first properties.
    assert listed["properties"]["addOnDetails"] == {"$ref": "#/$defs/details"}
    assert listed["properties"]["lineItems"]["items"]["properties"]["combo"] == {"$ref": "#/$defs/comboType_itemCode"}
    assert listed["$defs"] == {
        "details": {"type": "array", "items": {"$ref": "#/$defs/comboType_itemCode"}},
        "comboType_itemCode": LINE,
    }
    assert "additionalProperties" not in listed
    assert expand(listed) == expand(_without_closed(schema))


def test_a_short_or_single_shape_stays_in_place() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "format": "date-time"}, "b": {"type": "string", "format": "date-time"},
                       "line": LINE},
    }  # fmt: skip
    assert compact(schema) == schema


# Schemas in the catalogue's style: objects, arrays, enums, descriptions, nested and repeated.
_leaf = st.fixed_dictionaries(
    {"type": st.sampled_from(["string", "integer", "number", "boolean"])},
    optional={
        "description": st.sampled_from(["Till code", "For multi-account sources", "e.g. SKU, CATEGORY"]),
        "enum": st.lists(st.sampled_from(["INSTORE", "WECHAT", "MARTJACK", "ALL", "mobile", "email"]),
                         min_size=1, max_size=6, unique=True),
    },
)  # fmt: skip
_names = st.sampled_from(["source", "identifierName", "identifierValue", "items", "value", "customer", "type"])


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    objects = st.builds(
        lambda props, required: {"type": "object", "properties": props,
                                 **({"required": sorted(set(required) & set(props))} if required else {})},
        st.dictionaries(_names, children, min_size=1, max_size=4),
        st.lists(_names, max_size=2),
    )  # fmt: skip
    arrays = st.builds(lambda item: {"type": "array", "items": item}, children)
    return objects | arrays


_schemas = st.recursive(_leaf, _extend, max_leaves=30)


@settings(max_examples=300, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_names, _schemas, min_size=1, max_size=5), st.integers(min_value=1, max_value=4))
def test_compact_says_the_same_in_no_more_characters(properties: dict[str, Any], copies: int) -> None:
    # Repeat the properties under several names, as the catalogue repeats identifier and line-item shapes.
    schema = {"type": "object", "properties": {f"{name}{n}": sub for n in range(copies) for name, sub in
                                               properties.items()}, "additionalProperties": False}  # fmt: skip
    listed = compact(schema)
    assert expand(listed) == expand(_without_closed(schema))
    assert facts(listed) == facts(schema)
    text = json.dumps(listed, separators=(",", ":"))
    assert len(text) <= len(json.dumps(_without_closed(schema), separators=(",", ":")))
    for name in listed.get("$defs", {}):
        assert text.count(f'"#/$defs/{name}"') >= 2, "a definition is shared, else the shape stays in place"


def test_a_type_that_the_enum_says_is_left_out_and_written_back() -> None:
    schema = {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": ["MOBILE", "EMAIL"]},
            "level": {"type": "integer", "enum": [1, 2, 3]},
            "ratio": {"type": "number", "enum": [1, 2]},  # an enum of integers does not say "number"
            "mixed": {"type": ["string", "integer"], "enum": ["1", 1]},
            "flag": {"type": "boolean", "enum": [True]},
        },
    }
    listed = compact(schema)
    assert listed["properties"]["kind"] == {"enum": ["MOBILE", "EMAIL"]}
    assert listed["properties"]["level"] == {"enum": [1, 2, 3]}
    assert listed["properties"]["flag"] == {"enum": [True]}
    assert listed["properties"]["ratio"] == {"type": "number", "enum": [1, 2]}
    assert listed["properties"]["mixed"] == {"type": ["string", "integer"], "enum": ["1", 1]}
    assert facts(listed) == facts(schema)
    assert expand(listed) == schema
