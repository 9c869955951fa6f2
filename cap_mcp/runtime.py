"""Assembles one running cap-mcp from settings: catalogue, profile, shared client, guards, audit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from .audit import AuditLog
from .catalog import Catalog, load_catalog
from .client import CapillaryClient
from .config import ConfigError, Settings
from .guards import Guard
from .logsetup import install_filters
from .observe import Observers, default_observers
from .policy import ANY_CALLER, Policy, caller_policies, operator_policy
from .previews import PreviewReads
from .profiles import Profile
from .single_use import UsedStore, used_store_for
from .tokens import TokenSealer

log = logging.getLogger("cap_mcp")

# Credentials the embedded sandbox accepts (documented in the README).
SANDBOX_BASE_URL = "http://sandbox.cap-mcp.invalid"


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    policy: Policy  # the operator's: local transports, the terminal, and callers without their own
    client: CapillaryClient
    guard: Guard
    audit: AuditLog
    used: UsedStore
    caller_policies: dict[str, Policy] = field(default_factory=dict)
    observer: Observers = field(default_factory=Observers)
    _limiters: dict[str, anyio.CapacityLimiter] = field(default_factory=dict)
    tool_lists: dict[int, Any] = field(default_factory=dict)  # per policy, built on first tools/list
    search_indexes: dict[int, Any] = field(default_factory=dict)  # per profile, built on first search

    @property
    def profile(self) -> Profile:
        return self.policy.profile

    def policy_for(self, caller: str | None) -> Policy:
        """The policy of an authenticated caller: their own, else the one for any caller, else the operator's."""
        if caller is None or not self.caller_policies:
            return self.policy
        return self.caller_policies.get(caller) or self.caller_policies.get(ANY_CALLER) or self.policy

    def limiter(self, caller: str | None) -> anyio.CapacityLimiter:
        """At most CAP_MCP_MAX_CONCURRENT_PER_CALLER upstream calls at once per caller (default: the pool size)."""
        key = caller or "local"
        limiter = self._limiters.get(key)
        if limiter is None:
            limit = self.settings.max_concurrent_per_caller or self.settings.max_connections
            limiter = self._limiters[key] = anyio.CapacityLimiter(limit)
        return limiter

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.used.aclose()


class BuiltOnFirstRequest:
    """An ASGI app made when the first request arrives: the sandbox's modules and routes take ~25 ms to import
    and build, which a start-up (the first tools/list) should not wait for."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = self._build()
        await self._app(scope, receive, send)


def _sandbox_app(catalog: Catalog) -> Any:
    from .sandbox import SandboxApp

    return SandboxApp(catalog)


def sandbox_settings(settings: Settings) -> Settings:
    """Point the client at the embedded sandbox with its documented credentials."""
    from pydantic import SecretStr

    from .sandbox.credentials import PASSWORD, USERNAME

    return settings.model_copy(
        update={
            "base_url": settings.base_url or SANDBOX_BASE_URL,
            "auth": "basic" if settings.auth == "basic" or not settings.client_key else settings.auth,
            "username": settings.username or USERNAME,
            "password": settings.password or SecretStr(PASSWORD),
        }
    )


def build_runtime(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    used: UsedStore | None = None,
) -> Runtime:
    catalog = catalog or load_catalog(validate=False)
    install_filters()  # httpx would log query strings (OTPs, mobiles) if its level allowed it
    if settings.sandbox and transport is None and settings.base_url is None:
        settings = sandbox_settings(settings)
        transport = httpx.ASGITransport(app=BuiltOnFirstRequest(lambda: _sandbox_app(catalog)))
    elif settings.sandbox:
        settings = sandbox_settings(settings)
    policy = operator_policy(settings, catalog)
    callers = caller_policies(settings, catalog)
    observer = default_observers(lambda name: _route(catalog, name))
    client = CapillaryClient(settings, catalog, transport=transport, observer=observer)
    try:
        audit = AuditLog(settings.audit_log, catalog.get)
    except OSError as exc:
        raise ConfigError(
            f"CAP_MCP_AUDIT_LOG: cannot write {settings.audit_log} ({exc.strerror}); "
            "set it to a writable file, or to 'off' to disable the audit log"
        ) from None
    used = used or used_store_for(settings.state_url.get_secret_value() if settings.state_url else None)
    guard = Guard(
        settings,
        sealer=TokenSealer(settings.state_keys(), ttl=settings.confirmation_ttl),
        used=used,
        audit=audit,
        reads=PreviewReads(client, catalog),
    )
    if settings.guards == "off":
        log.warning(
            "CONFIRMATION GUARDS ARE OFF (CAP_MCP_GUARDS=off): every tool, points transfers and coupon "
            "redemptions included, runs without asking anyone"
        )
    elif settings.guards == "destructive":
        log.warning("guards relaxed: 'write' operations run without confirmation; destructive ones still ask")
    return Runtime(settings, catalog, policy, client, guard, audit, used, caller_policies=callers, observer=observer)


def _route(catalog: Catalog, name: str) -> tuple[str, str] | None:
    """An operation's method and path template (for trace spans)."""
    op = catalog.get(name)
    return (op.method, op.path) if op is not None else None
