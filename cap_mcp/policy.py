"""One policy, every door: what a caller may see and do, resolved the same way for MCP tools, the discovery
call tool, resources, and `cap-mcp call`.

A `Policy` is a profile (what is listed and what is callable) plus the guards policy. The operator's settings give
the default policy; over HTTP, named callers (the names of CAP_MCP_HTTP_TOKEN entries, or of an identity
provider's client ids) can each get their own from CAP_MCP_CALLER_POLICIES — a JSON object, inline or in a file:

    {"lookup-assistant": {"read_only": true},
     "support-copilot": {"toolsets": ["default", "customer_labels"], "exclude_tools": ["points_reverse"]},
     "*": {"read_only": true}}

A caller's entry replaces the selection (toolsets, tools, dynamic, discovery) and can only tighten the rest:
read-only and require_elicitation are or-ed with the operator's, exclusions are added, and the stricter guards
policy wins. "*" applies to authenticated callers not named; callers without an entry get the operator's policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .catalog import Catalog, Operation
from .config import ConfigError, Settings
from .profiles import Profile, build_profile

Guards = Literal["all", "destructive", "off"]
_STRICTNESS: dict[str, int] = {"off": 0, "destructive": 1, "all": 2}
_FIELDS = {"toolsets", "tools", "exclude_tools", "read_only", "dynamic", "discovery", "guards", "require_elicitation"}
ANY_CALLER = "*"


@dataclass(frozen=True)
class Policy:
    """What one caller sees and may do."""

    profile: Profile
    guards: Guards
    require_elicitation: bool
    caller: str | None = None

    def needs_confirmation(self, op: Operation, arguments: Mapping[str, Any]) -> bool:
        """Whether this call must be confirmed by a person first."""
        effect = op.effect_for(arguments)
        if effect == "read" or self.guards == "off":
            return False
        return effect == "destructive" or self.guards == "all"

    def may_ask(self, op: Operation) -> bool:
        """Whether some call of this operation can need a confirmation (its tool then takes confirmation_token)."""
        return op.max_effect != "read" and (self.guards == "all" or (self.guards == "destructive" and
                                            op.max_effect == "destructive"))  # fmt: skip

    def refusal(self, catalog: Catalog, name: str, arguments: Mapping[str, Any] | None = None) -> str | None:
        """Why this call may not run here, in words for the model; None when it may. Unknown names raise KeyError."""
        op = catalog.get(name)
        if op is None:
            raise KeyError(name)
        if not self.profile.allows(name):
            return self.profile.why_not(op)
        if arguments is not None and self.profile.read_only and op.effect_for(arguments) != "read":
            return "this server is read-only for you, and with these arguments the call would change data"
        return None


def operator_policy(settings: Settings, catalog: Catalog) -> Policy:
    profile = build_profile(
        catalog,
        toolsets=settings.toolsets,
        tools=settings.tools,
        exclude_tools=settings.exclude_tools,
        read_only=settings.read_only,
        dynamic=settings.dynamic,
        discovery=settings.discovery,
    )
    return Policy(profile, settings.guards, settings.require_elicitation)


def caller_policies(settings: Settings, catalog: Catalog) -> dict[str, Policy]:
    """Per-caller policies from CAP_MCP_CALLER_POLICIES, each checked now (a mistake stops start-up)."""
    spec = load_caller_spec(settings.caller_policies)
    return {name: _caller_policy(name, entry, settings, catalog) for name, entry in spec.items()}


def load_caller_spec(value: str | None) -> dict[str, dict[str, Any]]:
    if not value:
        return {}
    text = value if value.lstrip().startswith("{") else _read(value)
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"CAP_MCP_CALLER_POLICIES: not valid JSON ({exc})") from None
    if not isinstance(spec, dict) or not all(isinstance(v, dict) for v in spec.values()):
        raise ConfigError('CAP_MCP_CALLER_POLICIES: expected {"caller-name": {"read_only": true, ...}, ...}')
    for name, entry in spec.items():
        unknown = sorted(set(entry) - _FIELDS)
        if unknown:
            raise ConfigError(
                f"CAP_MCP_CALLER_POLICIES: caller {name!r}: unknown field(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(_FIELDS))}"
            )
    return spec


def _read(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"CAP_MCP_CALLER_POLICIES: cannot read {path} ({exc.strerror})") from None


def _caller_policy(name: str, entry: dict[str, Any], settings: Settings, catalog: Catalog) -> Policy:
    where = f"CAP_MCP_CALLER_POLICIES: caller {name!r}"

    def names(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = entry.get(key, default)
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {key} must be a list of names")
        return tuple(value)

    def flag(key: str) -> bool:
        value = entry.get(key, False)
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false")
        return value

    guards = entry.get("guards", settings.guards)
    if guards not in _STRICTNESS:
        raise ConfigError(f"{where}: guards must be one of all, destructive, off")
    discovery = entry.get("discovery", settings.discovery)
    if discovery not in ("all", "selected", "off"):
        raise ConfigError(f"{where}: discovery must be one of all, selected, off")
    try:
        profile = build_profile(
            catalog,
            toolsets=names("toolsets", settings.toolsets),
            tools=names("tools", settings.tools),
            exclude_tools=(*settings.exclude_tools, *names("exclude_tools", ())),
            read_only=settings.read_only or flag("read_only"),
            dynamic=entry.get("dynamic", settings.dynamic) is True,
            discovery=discovery,
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    stricter = max(guards, settings.guards, key=_STRICTNESS.__getitem__)
    return Policy(profile, stricter, settings.require_elicitation or flag("require_elicitation"), caller=name)
