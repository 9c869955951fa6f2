"""MCP resources: what a person can attach in a chat client, generated from the catalogue and the caller's policy.

- `capillary://policy` — this server's policy for the caller (JSON): what they see and may do; never a secret,
  never another caller's policy.
- `capillary://errors` — Capillary's error codes: meaning and what to do (Markdown), for the toolsets the caller
  can use.
- `capillary://guides/{toolset}` — one guide per toolset the caller can use (Markdown): what it covers, its tools
  (only those the caller can use), the usual order of calls (hand-written for the core toolsets in
  tool_schemas/guides.json), what needs confirming and which read tells whether a change took effect.
- Templates: the guides, `capillary://operations/{name}` (one operation's arguments, JSON) and
  `capillary://customers/{identifierName}/{identifierValue}` (the customer overview, JSON).

Lists are sorted and built only from the catalogue and the policy, so they are the same on every call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import mcp_types as types
from mcp import MCPError

from . import discovery, overview
from .catalog import GUIDES_FILE, Catalog, Operation, schema_dir
from .policy import Policy
from .runtime import Runtime
from .validation import argument_errors

SCHEME = "capillary://"
POLICY_URI = SCHEME + "policy"
ERRORS_URI = SCHEME + "errors"
GUIDE_TEMPLATE = SCHEME + "guides/{toolset}"
OPERATION_TEMPLATE = SCHEME + "operations/{name}"
CUSTOMER_TEMPLATE = SCHEME + "customers/{identifierName}/{identifierValue}"
MARKDOWN, JSON = "text/markdown", "application/json"

_GUIDE = re.compile(r"^capillary://guides/([^/?#]+)$")
_OPERATION = re.compile(r"^capillary://operations/([^/?#]+)$")
_CUSTOMER = re.compile(r"^capillary://customers/([^/?#]+)/([^/?#]+)$")


@cache
def usual_order(directory: Path | None = None) -> dict[str, list[dict[str, str]]]:
    """The hand-written usual order of calls per core toolset."""
    data = json.loads(((directory or schema_dir()) / GUIDES_FILE).read_text(encoding="utf-8"))
    order: dict[str, list[dict[str, str]]] = data["usual_order"]
    return order


def reachable_toolsets(catalog: Catalog, policy: Policy) -> list[str]:
    """Toolsets with at least one operation this caller can use, sorted."""
    return sorted({op.toolset for op in policy.profile.operations if op.toolset in catalog.toolsets})


def list_resources(runtime: Runtime, policy: Policy) -> list[types.Resource]:
    resources = [
        types.Resource(
            uri=POLICY_URI,
            name="policy",
            title="This server's policy for you",
            description="What you can see and do here: listed and reachable tools, toolsets, read-only, confirmations.",
            mime_type=JSON,
        ),
        types.Resource(
            uri=ERRORS_URI,
            name="errors",
            title="Capillary error codes",
            description="What each error code in a result means and what to do about it.",
            mime_type=MARKDOWN,
        ),
    ]
    for name in reachable_toolsets(runtime.catalog, policy):
        toolset = runtime.catalog.toolsets[name]
        resources.append(
            types.Resource(
                uri=f"{SCHEME}guides/{name}",
                name=f"guide-{name}",
                title=f"Guide: {toolset.title}",
                description=f"{toolset.description} Its tools, the usual order of calls, what needs confirming.",
                mime_type=MARKDOWN,
            )
        )
    return resources


def list_templates(runtime: Runtime, policy: Policy) -> list[types.ResourceTemplate]:
    templates = [
        types.ResourceTemplate(
            uri_template=GUIDE_TEMPLATE,
            name="guide",
            title="Toolset guide",
            description="The guide of one toolset (see the listed guides for the names).",
            mime_type=MARKDOWN,
        ),
        types.ResourceTemplate(
            uri_template=OPERATION_TEMPLATE,
            name="operation",
            title="Operation",
            description="One operation you can use: what it does, its arguments and whether it asks first.",
            mime_type=JSON,
        ),
    ]
    if policy.profile.allows(overview.NAME):
        templates.append(
            types.ResourceTemplate(
                uri_template=CUSTOMER_TEMPLATE,
                name="customer",
                title="Customer overview",
                description="Profile essentials, points, tier, expiring points, active coupons and the latest points "
                "events of one customer, e.g. capillary://customers/mobile/919800000001.",
                mime_type=JSON,
            )
        )
    return templates


async def read(runtime: Runtime, policy: Policy, uri: str, principal: str | None) -> types.ReadResourceResult:
    """The resource at `uri`, as this caller may see it; unknown or refused URIs raise -32602 saying why."""
    if uri == POLICY_URI:
        return _contents(uri, JSON, json.dumps(policy_document(runtime, policy), indent=1, ensure_ascii=False))
    if uri == ERRORS_URI:
        return _contents(uri, MARKDOWN, errors_markdown(runtime.catalog, policy))
    if match := _GUIDE.match(uri):
        name = unquote(match.group(1))
        if name not in reachable_toolsets(runtime.catalog, policy):
            raise _not_found(uri, f"no toolset {name!r} you can use; the listed guides name the ones you can")
        return _contents(uri, MARKDOWN, guide_markdown(runtime.catalog, policy, name))
    if match := _OPERATION.match(uri):
        op = policy.profile.get(unquote(match.group(1)))
        if op is None:
            raise _not_found(uri, "no operation of that name you can use; search_operations or the guides name them")
        schema = op.listed_schema
        return _contents(uri, JSON, json.dumps(discovery.operation_details(op, policy, schema), ensure_ascii=False))
    if match := _CUSTOMER.match(uri):
        return await _customer(runtime, policy, uri, unquote(match.group(1)), unquote(match.group(2)), principal)
    raise _not_found(uri, "unknown resource; resources/list and resources/templates/list show what there is")


async def _customer(
    runtime: Runtime, policy: Policy, uri: str, kind: str, value: str, principal: str | None
) -> types.ReadResourceResult:
    op = runtime.catalog.get(overview.NAME)
    why = policy.refusal(runtime.catalog, overview.NAME) if op is not None else "it is not in this catalogue"
    if op is None or why is not None:
        raise _not_found(uri, f"the customer overview is not available to you: {why}")
    arguments = {"identifierName": kind, "identifierValue": value, "source": "INSTORE"}
    problems = argument_errors(op, arguments)
    if problems:
        raise _not_found(uri, "; ".join(problems))
    snapshot = await overview.take(runtime, policy, arguments, principal)
    if not snapshot.found:
        raise _not_found(uri, f"no customer with {kind} {value}")
    if snapshot.refused is not None:
        raise _not_found(uri, f"the customer overview is not available to you: {snapshot.refused}")
    return _contents(uri, JSON, json.dumps(snapshot.structured, ensure_ascii=False))


def _contents(uri: str, mime: str, text: str) -> types.ReadResourceResult:
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)])


def _not_found(uri: str, why: str) -> MCPError:
    return MCPError(code=types.INVALID_PARAMS, message=f"Resource {uri}: {why}")


# --- the documents --------------------------------------------------------------------------------------


def policy_document(runtime: Runtime, policy: Policy) -> dict[str, Any]:
    """The caller's own policy: counts and switches only (no secrets, no other caller)."""
    from .tools import tool_definitions

    profile = policy.profile
    listed = tool_definitions(runtime, policy)
    return {
        "caller": policy.caller or "(this connection: the operator's policy)",
        "listed_tools": len(listed),
        "reachable_operations": len(profile.operations),
        "through_discovery": len(profile.operations) - len(profile.listed) if profile.discovery else 0,
        "toolsets_listed": sorted({op.toolset for op in profile.listed}),
        "toolsets_reachable": reachable_toolsets(runtime.catalog, policy),
        "read_only": profile.read_only,
        "dynamic": profile.dynamic,
        "discovery": profile.discovery,
        "excluded_tools": sorted(profile.excluded),
        "guards": policy.guards,
        "require_elicitation": policy.require_elicitation,
        "confirmation_ttl_seconds": runtime.settings.confirmation_ttl,
        "meaning": _meaning(policy),
    }


def _meaning(policy: Policy) -> list[str]:
    lines = []
    if policy.profile.read_only:
        lines.append("Read-only: no tool that can change data is listed or callable.")
    lines.append(
        {
            "all": "Every change asks a person to confirm that exact call first.",
            "destructive": "Changes that move value or cannot be undone ask first; other writes run at once.",
            "off": "Nothing asks for confirmation: the operator turned confirmations off.",
        }[policy.guards]
    )
    if policy.profile.discovery:
        lines.append("Operations not listed as tools are reachable through search_operations and call_operation.")
    if policy.require_elicitation:
        lines.append("Confirmations need a client that can show a form (no confirmation_token fallback).")
    return lines


def errors_markdown(catalog: Catalog, policy: Policy) -> str:
    lines = [
        "# Capillary error codes",
        "",
        "What a code in a result's `errors` means and what to do. Codes every section can return come first, then "
        "each toolset's own codes (for the toolsets you can use); a toolset's meaning wins for its tools.",
        "",
        "## Every section",
        "",
        *_code_table(catalog.error_codes.get("codes", {})),
    ]
    for name in reachable_toolsets(catalog, policy):
        codes = catalog.toolsets[name].error_codes
        if codes:
            lines += ["", f"## {name}", "", *_code_table(codes)]
    return "\n".join(lines) + "\n"


def _code_table(codes: Any) -> list[str]:
    rows = ["| code | meaning | what to do |", "|---|---|---|"]
    for code in sorted(codes, key=lambda c: (len(str(c)), str(c))):
        entry = codes[code]
        hint = entry.get("hint") or ("nothing: it succeeded" if entry.get("kind") == "success" else "")
        rows.append(f"| {code} | {_cell(entry.get('message', ''))} | {_cell(hint)} |")
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


@dataclass(frozen=True)
class _Row:
    op: Operation
    listed: bool


def guide_markdown(catalog: Catalog, policy: Policy, name: str) -> str:
    toolset = catalog.toolsets[name]
    listed = {op.name for op in policy.profile.listed}
    rows = [_Row(op, op.name in listed) for op in policy.profile.operations if op.toolset == name]
    total = len(toolset.operations) + sum(1 for op in catalog.composites.values() if op.toolset == name)
    lines = [f"# {toolset.title} (`{name}`)", "", toolset.description, ""]
    order = [step for step in usual_order().get(name, []) if policy.profile.allows(step["tool"])]
    if order:
        lines += ["## Usual order", "", " → ".join(f"`{s['tool']}` ({s['why']})" for s in order), ""]
    lines += [f"## Tools you can use ({len(rows)} of {total})", "", "| tool | effect | confirmation | what it does |",
              "|---|---|---|---|"]  # fmt: skip
    for row in rows:
        how = "" if row.listed else " (through call_operation)"
        confirm = "asks a person first" if policy.may_ask(row.op) else "runs at once"
        lines.append(f"| `{row.op.name}`{how} | {row.op.effect} | {confirm} | {_cell(_first_sentence(row.op))} |")
    asking = [row.op.name for row in rows if policy.may_ask(row.op)]
    lines += ["", "## What needs confirming", ""]
    if asking:
        lines.append(
            ", ".join(f"`{n}`" for n in asking) + ": the server asks a person to confirm that exact call first — a "
            "form in the client, or a CONFIRMATION REQUIRED answer with a preview and a confirmation_token (show the "
            "preview; call again with the token only if they agree)."
        )
    else:
        lines.append("Nothing here asks for confirmation for you.")
    checks = [(row.op.name, row.op.verify_with) for row in rows if row.op.verify_with and row.op.effect != "read"]
    checks = [(tool, verify) for tool, verify in checks if verify and policy.profile.allows(verify)]
    if checks:
        lines += ["", "## When an outcome is unknown", "",
                  "Do not repeat the call; check first with the read that tells whether it took effect:", ""]  # fmt: skip
        lines += [f"- `{tool}` → `{verify}`" for tool, verify in checks]
    if toolset.error_codes:
        codes = ", ".join(sorted(toolset.error_codes, key=lambda c: (len(c), c)))
        lines += [
            "",
            "## Error codes",
            "",
            f"This toolset's own codes: {codes}. Meanings and what to do: {ERRORS_URI}.",
        ]
    return "\n".join(lines) + "\n"


def _first_sentence(op: Operation) -> str:
    head = op.description.split(". ")[0].strip()
    return head if head.endswith(".") else head + "."
