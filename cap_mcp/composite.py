"""Composite tools: one read tool made of several catalogued reads (today: `customer_overview`).

A composite is an `Operation` so that profiles, per-caller policies, read-only, validation, discovery search and
`tools/list` treat it exactly like a catalogued read: it has a toolset, a name, arguments and the effect `read`.
It differs in one place only: `calls.run_call` hands it to its own `run`, which sends each of its reads through
`calls.execute` (the shared client, limits, retries, outcome classes), checking each against the caller's policy.
It is not a Capillary operation, so it is not part of the catalogue's iteration (`cap-mcp tools`, the sandbox's
routes, the reference checks); `Catalog.get` finds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .catalog import Arg, Catalog, Operation

if TYPE_CHECKING:
    import mcp_types as types

    from .calls import Caller
    from .policy import Policy
    from .runtime import Runtime

Runner = Callable[["Runtime", "Policy", dict[str, Any], "Caller"], Awaitable["types.CallToolResult"]]


@dataclass(frozen=True)
class Composite(Operation):
    """A read tool that runs several catalogued reads; `reads` names them, in the order they are used."""

    reads: tuple[str, ...] = ()
    runner: Runner | None = field(default=None, repr=False, compare=False)

    async def run(
        self, runtime: Runtime, policy: Policy, arguments: dict[str, Any], caller: Caller
    ) -> types.CallToolResult:
        assert self.runner is not None, f"{self.name} has no runner"
        return await self.runner(runtime, policy, arguments, caller)


def composite(
    name: str,
    *,
    toolset: str,
    title: str,
    description: str,
    args: tuple[Arg, ...],
    reads: tuple[str, ...],
    runner: Runner,
    keywords: tuple[str, ...] = (),
) -> Composite:
    return Composite(
        name=name,
        toolset=toolset,
        title=title,
        description=description,
        method="",
        path="",
        effect="read",
        args=args,
        example={},
        reference={},
        keywords=keywords,
        reads=reads,
        runner=runner,
        _arg_index={a.name: a for a in args},
    )


def argument(name: str, schema: Mapping[str, Any], *, required: bool = False) -> Arg:
    """An argument of a composite: it is never sent anywhere itself, so its location is nominal."""
    return Arg(name=name, location="query", wire=name, required=required, schema=dict(schema))


def composites_for(catalog: Catalog) -> dict[str, Operation]:
    """The composites this catalogue can serve (each needs some catalogued reads; without them it is left out)."""
    from . import overview

    found: dict[str, Operation] = {}
    for build in (overview.definition,):
        tool = build(catalog)
        if tool is not None:
            found[tool.name] = tool
    return found
