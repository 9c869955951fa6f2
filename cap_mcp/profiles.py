"""Which tools a profile lists and which operations it allows — decided here, and only here.

Filters apply in this order:
1. read-only: a strict filter that beats every other setting — no operation that can change anything is
   listed or callable, whatever was selected;
2. exclusion: tools named with `exclude_tools` are neither listed nor callable;
3. selection: the **listed** tools are the operations of the chosen toolsets (`default` = the everyday
   support-desk operations; `core` = the customer, points, coupon and transaction toolsets; `all` = everything;
   section names), plus single tools named with `tools`. `dynamic` lists none of them directly.
4. reach: with discovery (`all`, the default) the three discovery tools are listed too, and through them every
   operation of the catalogue that passed 1 and 2 stays callable, validated and guarded like a listed tool;
   `selected` limits discovery to the selection; `off` lists no discovery tools and allows only listed tools.
Tools are sorted by toolset, then name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from .catalog import Catalog, Operation
from .config import ConfigError

Discovery = Literal["all", "selected", "off"]

CORE_TOOLSETS = ("customer", "points", "coupon", "transaction")

# `support`: the operations a support desk uses every day.
SUPPORT_TOOLS = (
    "customer_lookup", "customer_get", "customer_register", "customer_update", "customer_loyalty_details",
    "customer_lookup_loyalty_details", "customer_coupons", "customer_lookup_tier", "customer_points_transfers",
    "customer_points_expiry_schedule", "points_is_transferrable", "points_transfer", "points_transfer_history",
    "points_ledger_balance", "points_ledger_info", "points_reverse", "points_is_redeemable",
    "points_issue_validation_code", "points_redeem", "coupon_get", "coupon_is_redeemable", "coupon_issue",
    "coupon_redeem", "coupon_reactivate", "coupon_series_get", "transaction_get", "transaction_add",
    "transaction_earning", "customer_labels_of_customer", "customer_labels_tag",
)  # fmt: skip

# `default`: what a support desk reaches for first, listed directly; everything else through discovery.
# customer_overview is a composite read (cap_mcp/overview.py): the usual first reads about a customer in one call.
DEFAULT_TOOLS = (*SUPPORT_TOOLS, "customer_overview")

PROFILE_NAMES = ("default", "support", "core", "all")


def toolset_key(name: str) -> str:
    """Accept the reference's section names too: customerLabels -> customer_labels."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip()).lower().replace("-", "_")


@dataclass(frozen=True)
class Profile:
    """What one configuration shows (`listed`) and allows (`operations`)."""

    operations: tuple[Operation, ...]
    listed: tuple[Operation, ...]
    discovery: bool
    read_only: bool
    dynamic: bool
    toolsets: tuple[str, ...]
    excluded: frozenset[str] = field(default_factory=frozenset)

    @cached_property
    def _index(self) -> dict[str, Operation]:
        return {op.name: op for op in self.operations}

    def allows(self, name: str) -> bool:
        return name in self._index

    def get(self, name: str) -> Operation | None:
        return self._index.get(name)

    def why_not(self, op: Operation) -> str:
        """The true reason an operation of the catalogue is not callable here."""
        if self.read_only and op.max_effect != "read":
            return "this server is read-only for you: tools that can change data are neither listed nor callable"
        if op.name in self.excluded:
            return "the operator excluded it (CAP_MCP_EXCLUDE_TOOLS / --exclude-tools)"
        if op.opt_in is not None:
            return f"it is off by default; the operator can name it with --tools {op.name} ({op.opt_in})"
        return f"its toolset '{op.toolset}' is not enabled here (CAP_MCP_TOOLSETS / --toolsets, or --tools {op.name})"


def build_profile(
    catalog: Catalog,
    *,
    toolsets: Iterable[str] = ("default",),
    tools: Iterable[str] = (),
    exclude_tools: Iterable[str] = (),
    read_only: bool = False,
    dynamic: bool = False,
    discovery: Discovery = "all",
) -> Profile:
    """Resolve names (refusing unknown ones with the list of valid ones) and apply the filters in order."""
    chosen, singles = resolve_selection(catalog, toolsets)
    named = _resolve_tools(catalog, tools, "CAP_MCP_TOOLS / --tools")
    singles |= set(named)
    excluded = frozenset(_resolve_tools(catalog, exclude_tools, "CAP_MCP_EXCLUDE_TOOLS / --exclude-tools"))

    def allowed(op: Operation) -> bool:
        if read_only and op.max_effect != "read":
            return False
        if op.name in excluded:
            return False
        return op.opt_in is None or op.name in named

    candidates = (*catalog, *catalog.composites.values())  # composites are selected and filtered like any read
    permitted = sorted((op for op in candidates if allowed(op)), key=lambda op: (op.toolset, op.name))
    selected = tuple(op for op in permitted if op.toolset in chosen or op.name in singles)
    listed = () if dynamic else selected
    reachable = tuple(permitted) if discovery == "all" else selected
    if discovery == "off" and dynamic:
        raise ConfigError("CAP_MCP_DYNAMIC needs discovery: CAP_MCP_DISCOVERY=off leaves nothing to call")
    return Profile(
        operations=reachable,
        listed=listed,
        discovery=discovery != "off" and len(reachable) > len(listed),
        read_only=read_only,
        dynamic=dynamic,
        toolsets=tuple(sorted(chosen)),
        excluded=excluded,
    )


def resolve_selection(catalog: Catalog, names: Iterable[str]) -> tuple[set[str], set[str]]:
    """Toolsets and single tools named by profile and toolset names (refusing unknown ones)."""
    chosen: set[str] = set()
    singles: set[str] = set()
    for raw in names:
        key = toolset_key(raw)
        if key == "all":
            chosen.update(catalog.toolsets)
        elif key == "core":
            chosen.update(name for name in CORE_TOOLSETS if name in catalog.toolsets)
        elif key == "default":
            singles.update(name for name in DEFAULT_TOOLS if catalog.get(name) is not None)
        elif key == "support":
            singles.update(name for name in SUPPORT_TOOLS if catalog.get(name) is not None)
        elif key in catalog.toolsets:
            chosen.add(key)
        elif raw.strip():
            raise ConfigError(f"CAP_MCP_TOOLSETS / --toolsets: unknown toolset {raw!r}; valid: {valid_names(catalog)}")
    return chosen, singles


def valid_names(catalog: Catalog) -> str:
    """Every name a toolset selection accepts, for error messages."""
    return ", ".join([*PROFILE_NAMES, *sorted(catalog.toolsets)])


def _resolve_tools(catalog: Catalog, names: Iterable[str], setting: str) -> list[str]:
    resolved = []
    for name in names:
        if catalog.get(name) is None:
            close = [op.name for op in catalog if name.split("_")[0] in op.name][:8]
            suggestion = f"; similar: {', '.join(close)}" if close else "; see `cap-mcp tools`"
            raise ConfigError(f"{setting}: unknown tool {name!r}{suggestion}")
        resolved.append(name)
    return resolved
