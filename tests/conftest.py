"""Shared fixtures: a recording loopback "Capillary", settings and runtimes pointed at it, MCP clients."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp.client import ClientRequestContext

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recorder import Recorder

from cap_mcp.catalog import Catalog, load_catalog
from cap_mcp.config import Settings, load_settings
from cap_mcp.runtime import Runtime, build_runtime

ROOT = Path(__file__).resolve().parent.parent
BASIC_USER, BASIC_PASSWORD = "store.server", "server123"
BASIC_HEADER = "Basic c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3"

# Tests must not depend on the developer's own configuration (CAP_MCP_FUZZ* only choose how long the fuzz runs).
for _name in [n for n in os.environ if n.startswith("CAP_MCP_") and not n.startswith("CAP_MCP_FUZZ")]:
    del os.environ[_name]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(validate=False)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as rec:
        yield rec


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(recorder: Recorder, audit_path: Path) -> SettingsFactory:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "base_url": recorder.url,
            "username": BASIC_USER,
            "password": BASIC_PASSWORD,
            "audit_log": str(audit_path),
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
async def make_runtime(make_settings: SettingsFactory, catalog: Catalog) -> AsyncIterator[Callable[..., Runtime]]:
    built: list[Runtime] = []

    def make(**overrides: Any) -> Runtime:
        runtime = build_runtime(make_settings(**overrides), catalog=catalog)
        built.append(runtime)
        return runtime

    yield make
    for runtime in built:
        await runtime.aclose()


Elicit = Callable[[ClientRequestContext, types.ElicitRequestParams], Awaitable[types.ElicitResult]]


def answering(action: str, *, confirm: bool = True, seen: list[str] | None = None) -> Elicit:
    """An elicitation callback that answers every form the same way, keeping the messages it saw."""

    async def on_elicit(ctx: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        if seen is not None:
            seen.append(params.message)
        if action == "accept":
            return types.ElicitResult(action="accept", content={"confirm": confirm})
        return types.ElicitResult(action=action)  # type: ignore[arg-type]

    return on_elicit


TRANSFER_ARGS: dict[str, Any] = {
    "pointsTobeTransferred": 120,
    "fromCustomerIdentifier": {"type": "MOBILE", "value": "919800000001"},
    "toCustomerIdentifier": {"type": "ID", "value": "5100002"},
    "code": "482913",
}
REDEEM_ARGS: dict[str, Any] = {
    "redemptionRequestList": [{"code": "WELCOME-ASHA-01"}],
    "user": {"mobile": "919800000001"},
    "billAmount": 2000,
    "transactionNumber": "BILL-2001",
}
