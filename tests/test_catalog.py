"""The catalogue as data: every file valid, the loader strict, every reference operation covered."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from reference_docs import NOT_FOUND, SECTIONS, V1_POINTS_DOC, all_reference_operations, reference_root, section_doc

from cap_mcp.catalog import Catalog, CatalogError, load_catalog, load_meta_schema, schema_dir, toolset_files

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("path", toolset_files(), ids=lambda p: p.name)
def test_every_toolset_file_validates_against_the_meta_schema(path: Path) -> None:
    validator = Draft202012Validator(load_meta_schema())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(json.loads(path.read_text()))
    ]
    assert errors == []


def test_the_meta_schema_is_itself_valid() -> None:
    Draft202012Validator.check_schema(load_meta_schema())


def test_the_full_catalogue_loads_with_validation(catalog: Catalog) -> None:
    strict = load_catalog(validate=True)
    assert len(strict) == len(catalog) >= 269 - 20  # shared headings collapse into one tool
    sections = sorted(t.section for t in strict.toolsets.values())
    assert len([s for s in sections if "/" not in s]) == 31
    assert [s for s in sections if "/" in s] == ["v1.1/coupon", "v1.1/customer", "v1.1/transaction"]


def test_names_are_unique_snake_case_short_and_prefixed(catalog: Catalog) -> None:
    for op in catalog:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", op.name), op.name
        assert len(op.name) <= 64
        assert op.name.startswith(op.toolset + "_")


def test_tool_names_are_stable(catalog: Catalog) -> None:
    """Renaming a tool breaks saved client configurations: this snapshot makes it a deliberate act."""
    names = "\n".join(sorted(op.name for op in catalog)) + "\n"
    snapshot = SNAPSHOTS / "tool_names.txt"
    if not snapshot.exists():
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(names)
    assert names == snapshot.read_text()


def test_every_example_validates_against_its_own_schema(catalog: Catalog) -> None:
    failures = []
    for op in catalog:
        errors = list(Draft202012Validator(op.input_schema).iter_errors(op.example["arguments"]))
        failures += [f"{op.name}: {e.message}" for e in errors]
    assert failures == []


def test_every_non_read_operation_has_a_summary(catalog: Catalog) -> None:
    assert [op.name for op in catalog if op.guarded and not op.summary] == []


def test_value_moving_operations_are_destructive(catalog: Catalog) -> None:
    for name in (
        "points_transfer",
        "points_group_transfer",
        "points_reverse",
        "points_redeem",
        "coupon_issue",
        "coupon_redeem",
        "coupon_redeem_bulk",
        "coupon_reactivate",
        "rewards_issue",
        "transaction_add",
    ):
        assert catalog.get(name).effect == "destructive", name
    assert catalog.get("points_is_transferrable").effect == "read"  # a POST that only checks


def test_v1_points_redemption_is_catalogued(catalog: Catalog) -> None:
    redeem = catalog.get("points_redeem")
    assert (redeem.method, redeem.path, redeem.host) == ("POST", "/v1.1/points/redeem", "intouch")
    assert catalog.get("points_is_redeemable").path == "/v1.1/points/isredeemable"
    assert catalog.get("points_issue_validation_code").path == "/v1.1/points/validationcode"


@pytest.mark.skipif(reference_root() is None, reason=NOT_FOUND)
def test_every_reference_operation_is_catalogued_or_excluded(catalog: Catalog) -> None:
    root = reference_root()
    assert root is not None
    index = (root / "v2" / "index.html.md").read_text()
    includes = index.split("includes:")[1].split("search:")[0]
    listed = re.findall(r"(?m)^  - (\w+)\s*$", includes)
    assert listed == list(SECTIONS), "the reference's includes: list changed"
    claimed: dict[str, set[str]] = {}
    for op in catalog:
        claimed.setdefault(op.reference["doc"], set()).update(op.reference["headings"])
    for toolset in catalog.toolsets.values():
        for item in toolset.exclusions:
            claimed.setdefault(section_doc(toolset.section), set()).add(item["heading"])
    missing = [
        f"{doc}: {heading}"
        for doc, headings in all_reference_operations(root).items()
        for heading in headings
        if heading not in claimed.get(doc, set())
    ]
    assert missing == []
    total = sum(len(h) for h in all_reference_operations(root).values())
    assert total >= 269 + 36  # 269 v2 headings and 36 in the four v1.1 files


def test_exclusions_give_reasons(catalog: Catalog) -> None:
    for item in catalog.exclusions:
        assert len(item["reason"]) >= 10


# --- the loader refuses malformed files -----------------------------------------------------------

GOOD_OP = {
    "name": "demo_get",
    "title": "Get a thing",
    "description": "Gets a thing by id, for tests.",
    "reference": {"doc": "v2/_demo.md", "headings": ["Get Thing"]},
    "method": "GET",
    "path": "/v2/things/{id}",
    "effect": "read",
    "args": {"id": {"in": "path", "required": True, "schema": {"type": "integer"}}},
    "example": {"arguments": {"id": 1}, "response": {}},
}


def _write(tmp_path: Path, *operations: dict, **file_keys: object) -> Path:
    shutil.copy(schema_dir() / "meta.schema.json", tmp_path / "meta.schema.json")
    document = {
        "toolset": "demo",
        "section": "demo",
        "title": "Demo",
        "description": "Demo toolset.",
        "operations": list(operations),
        **file_keys,
    }
    (tmp_path / "demo.json").write_text(json.dumps(document))
    return tmp_path


@pytest.mark.parametrize("validate", [True, False], ids=["with meta-schema", "loader rules alone"])
@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda op: op.update(colour="red"), "colour"),
        (lambda op: op["args"]["id"].update(where="path"), "where"),
        (lambda op: op["args"]["id"].pop("in"), "'in'"),
        (lambda op: op.update(path="/v2/things/{thingId}"), "thingId"),
    ],
    ids=["unknown operation key", "unknown argument key", "argument without location", "placeholder without argument"],
)
def test_the_loader_refuses(tmp_path: Path, mutate, message: str, validate: bool) -> None:
    op = json.loads(json.dumps(GOOD_OP))
    mutate(op)
    with pytest.raises(CatalogError, match=re.escape(message) if validate is False else None):
        load_catalog(_write(tmp_path, op), validate=validate)


def test_the_loader_refuses_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="duplicate tool name 'demo_get'"):
        load_catalog(_write(tmp_path, GOOD_OP, GOOD_OP), validate=False)


def test_the_loader_accepts_the_good_operation(tmp_path: Path) -> None:
    catalog = load_catalog(_write(tmp_path, GOOD_OP))
    assert catalog.get("demo_get").input_schema["required"] == ["id"]


def test_reference_documents_named_by_operations_exist(catalog: Catalog) -> None:
    root = reference_root()
    if root is None:
        pytest.skip(NOT_FOUND)
    docs = {op.reference["doc"] for op in catalog}
    assert V1_POINTS_DOC in docs
    assert all((root / doc).is_file() for doc in docs)
