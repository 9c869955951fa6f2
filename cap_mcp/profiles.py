"""Which tools a profile shows and allows — decided here, and only here.

Filters apply in this order:
1. read-only: a strict filter that beats every other setting — no operation that can change
   anything (whatever its arguments) is listed or callable, whatever was selected;
2. selection: the operations of the chosen toolsets (`default` = customer, points, coupon and
   transaction; `all` = everything; `support` = the everyday support-desk operations), plus single
   tools named with `tools`. An opt-in operation (`opt_in` in its data, e.g. `otp_get`, which would
   hand a customer's live code to the model) is never selected by a toolset, only by name;
3. exclusion: tools named with `exclude_tools` are removed.
Dynamic mode lists only the discovery tools; the selected operations stay
reachable through them. Tools are sorted by toolset, then name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from .catalog import Catalog, Operation
from .config import ConfigError

DEFAULT_TOOLSETS = ("customer", "points", "coupon", "transaction")

# `support`: the operations a support desk uses every day, for a direct profile that stays small
# (about 10,000 tokens of tool definitions instead of the ~26,000 of the four full toolsets).
SUPPORT_TOOLS = (
    "customer_lookup", "customer_get", "customer_register", "customer_update", "customer_loyalty_details",
    "customer_lookup_loyalty_details", "customer_coupons", "customer_lookup_tier", "customer_points_transfers",
    "customer_points_expiry_schedule", "points_is_transferrable", "points_transfer", "points_transfer_history",
    "points_ledger_balance", "points_ledger_info", "points_reverse", "points_is_redeemable",
    "points_issue_validation_code", "points_redeem", "coupon_get", "coupon_is_redeemable", "coupon_issue",
    "coupon_redeem", "coupon_reactivate", "coupon_series_get", "transaction_get", "transaction_add",
    "transaction_earning", "customer_labels_of_customer", "customer_labels_tag",
)  # fmt: skip


def toolset_key(name: str) -> str:
    """Accept the reference's section names too: customerLabels -> customer_labels."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip()).lower().replace("-", "_")


@dataclass(frozen=True)
class Profile:
    operations: tuple[Operation, ...]
    read_only: bool
    dynamic: bool
    toolsets: tuple[str, ...]

    @cached_property
    def _index(self) -> dict[str, Operation]:
        return {op.name: op for op in self.operations}

    def allows(self, name: str) -> bool:
        return name in self._index

    def get(self, name: str) -> Operation | None:
        return self._index.get(name)


def build_profile(
    catalog: Catalog,
    *,
    toolsets: Iterable[str] = ("default",),
    tools: Iterable[str] = (),
    exclude_tools: Iterable[str] = (),
    read_only: bool = False,
    dynamic: bool = False,
) -> Profile:
    """Resolve names (refusing unknown ones with the list of valid ones) and apply the filters in order."""
    toolsets = list(toolsets)
    support = [name for name in toolsets if toolset_key(name) == "support"]
    chosen = _resolve_toolsets(catalog, [name for name in toolsets if name not in support])
    named = _resolve_tools(catalog, tools, "CAP_MCP_TOOLS / --tools")
    singles = list(named)
    if support:
        singles += [name for name in SUPPORT_TOOLS if catalog.get(name) is not None]
    excluded = set(_resolve_tools(catalog, exclude_tools, "CAP_MCP_EXCLUDE_TOOLS / --exclude-tools"))

    selected = [op for op in catalog if (not read_only or op.max_effect == "read")]
    selected = [op for op in selected if op.toolset in chosen or op.name in singles]
    selected = [op for op in selected if not op.opt_in or op.name in named]
    selected = [op for op in selected if op.name not in excluded]
    selected.sort(key=lambda op: (op.toolset, op.name))
    return Profile(tuple(selected), read_only=read_only, dynamic=dynamic, toolsets=tuple(sorted(chosen)))


def _resolve_toolsets(catalog: Catalog, names: Iterable[str]) -> set[str]:
    chosen: set[str] = set()
    for raw in names:
        key = toolset_key(raw)
        if key == "all":
            chosen.update(catalog.toolsets)
        elif key == "default":
            chosen.update(name for name in DEFAULT_TOOLSETS if name in catalog.toolsets)
        elif key in catalog.toolsets:
            chosen.add(key)
        elif raw.strip():
            valid = ", ".join(["all", "default", "support", *sorted(catalog.toolsets)])
            raise ConfigError(f"CAP_MCP_TOOLSETS / --toolsets: unknown toolset {raw!r}; valid: {valid}")
    return chosen


def _resolve_tools(catalog: Catalog, names: Iterable[str], setting: str) -> list[str]:
    resolved = []
    for name in names:
        if catalog.get(name) is None:
            close = [op.name for op in catalog if name.split("_")[0] in op.name][:8]
            suggestion = f"; similar: {', '.join(close)}" if close else "; see `cap-mcp tools`"
            raise ConfigError(f"{setting}: unknown tool {name!r}{suggestion}")
        resolved.append(name)
    return resolved
