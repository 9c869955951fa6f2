"""MCP prompts: support-desk workflows (tool_schemas/prompts.json) rendered for the caller's policy.

A prompt is listed for a caller only when every tool of its required steps is reachable for them; optional
steps (the changes that fix things) are shown only to callers who can use their tool, and the prompt says what
was left out without naming tools the caller cannot use. Each step shows the exact call, why, when, and the
confirmation to expect under this caller's guards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp import MCPError

from .catalog import PROMPTS_FILE, Catalog, CatalogError, Operation, schema_dir
from .policy import Policy

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(int|number))?\}")
_MISSING = object()


class PromptArgumentError(ValueError):
    """A prompt argument is missing or has a value the prompt cannot use; the message says which."""


@dataclass(frozen=True)
class Argument:
    name: str
    description: str
    required: bool
    choices: tuple[str, ...] | None  # values offered by completion and checked by prompts/get; None: free text


@dataclass(frozen=True)
class Step:
    tool: str
    purpose: str
    arguments: Mapping[str, Any]
    why: str
    when: str | None
    optional: bool


@dataclass(frozen=True)
class PromptSpec:
    name: str
    title: str
    description: str
    arguments: tuple[Argument, ...]
    intro: str
    facts: Mapping[str, Mapping[str, str]]
    steps: tuple[Step, ...]
    closing: str

    def argument(self, name: str) -> Argument | None:
        return next((a for a in self.arguments if a.name == name), None)

    def tools(self, *, required_only: bool = False) -> list[str]:
        return [s.tool for s in self.steps if not (required_only and s.optional)]


_loaded: dict[int, tuple[Catalog, tuple[PromptSpec, ...]]] = {}


def specs(catalog: Catalog) -> tuple[PromptSpec, ...]:
    """Every prompt of tool_schemas/prompts.json, checked against this catalogue (loaded once per catalogue)."""
    entry = _loaded.get(id(catalog))
    if entry is None or entry[0] is not catalog:
        entry = _loaded[id(catalog)] = (catalog, load_prompts(catalog))
    return entry[1]


def load_prompts(catalog: Catalog, directory: Path | None = None) -> tuple[PromptSpec, ...]:
    data = json.loads(((directory or schema_dir()) / PROMPTS_FILE).read_text(encoding="utf-8"))
    prompts = tuple(_build(raw, catalog) for raw in data["prompts"])
    names = [p.name for p in prompts]
    if len(set(names)) != len(names):
        raise CatalogError(f"{PROMPTS_FILE}: duplicate prompt names")
    return tuple(sorted(prompts, key=lambda p: p.name))


def _build(raw: Mapping[str, Any], catalog: Catalog) -> PromptSpec:
    where = f"{PROMPTS_FILE}: {raw.get('name', '?')}"
    arguments = tuple(
        Argument(a["name"], a["description"], bool(a.get("required", False)), _choices(a, catalog, where))
        for a in raw["arguments"]
    )
    steps = tuple(
        Step(s["tool"], s["purpose"], s["arguments"], s["why"], s.get("when"), bool(s.get("optional", False)))
        for s in raw["steps"]
    )
    spec = PromptSpec(raw["name"], raw["title"], raw["description"], arguments, raw["intro"], raw.get("facts", {}),
                      steps, raw["closing"])  # fmt: skip
    known = {a.name for a in arguments} | set(spec.facts)
    for step in steps:
        if catalog.get(step.tool) is None:
            raise CatalogError(f"{where}: step names unknown tool {step.tool!r}")
        used = set(_names(step.arguments)) | set(_names(step.why)) | set(_names(step.when or ""))
        if used - known:
            raise CatalogError(f"{where}: {step.tool} uses undeclared {sorted(used - known)}")
    for name, fact in spec.facts.items():
        if "from" in fact and fact["from"] not in spec.tools():
            raise CatalogError(f"{where}: fact {name!r} comes from {fact['from']!r}, which is not a step")
    return spec


def _choices(raw: Mapping[str, Any], catalog: Catalog, where: str) -> tuple[str, ...] | None:
    if "enum" in raw:
        return tuple(raw["enum"])
    if "enum_from" not in raw:
        return None
    found: list[str] | None = None
    for ref in raw["enum_from"]:
        tool, _, arg = ref.partition(".")
        op = catalog.get(tool)
        schema = op.arg(arg).schema if op is not None and op.arg(arg) is not None else None  # type: ignore[union-attr]
        if schema is None or "enum" not in schema:
            raise CatalogError(f"{where}: enum_from {ref!r} names no enumerated argument")
        values = [str(v) for v in schema["enum"]]
        found = values if found is None else [v for v in found if v in values]
    return tuple(found or ())


def _names(template: Any) -> list[str]:
    if isinstance(template, str):
        return [m.group(1) for m in _PLACEHOLDER.finditer(template)]
    if isinstance(template, Mapping):
        return [n for k, v in template.items() for n in (*_names(k), *_names(v))]
    if isinstance(template, list):
        return [n for item in template for n in _names(item)]
    return []


# --- who sees what ---------------------------------------------------------------------------------------


def available(spec: PromptSpec, policy: Policy) -> bool:
    """Listed for this caller: every tool of its required steps is reachable."""
    return all(policy.profile.allows(tool) for tool in spec.tools(required_only=True))


def listed(catalog: Catalog, policy: Policy) -> list[PromptSpec]:
    return [spec for spec in specs(catalog) if available(spec, policy)]


def find(catalog: Catalog, policy: Policy, name: str) -> PromptSpec | None:
    return next((spec for spec in listed(catalog, policy) if spec.name == name), None)


def steps_for(spec: PromptSpec, policy: Policy) -> tuple[list[Step], list[Step]]:
    """The steps this caller gets, and the optional ones left out (their tool, or a fact they need, is missing)."""
    kept: list[Step] = []
    dropped: list[Step] = []
    for step in spec.steps:
        sources = {spec.facts[n].get("from") for n in _names(step.arguments) if n in spec.facts}
        needs_dropped = any(source in {s.tool for s in dropped} for source in sources)
        if step.optional and (not policy.profile.allows(step.tool) or needs_dropped):
            dropped.append(step)
        else:
            kept.append(step)
    return kept, dropped


def definition(spec: PromptSpec) -> types.Prompt:
    return types.Prompt(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        arguments=[
            types.PromptArgument(name=a.name, description=a.description, required=a.required) for a in spec.arguments
        ],
    )


# --- arguments and calls ---------------------------------------------------------------------------------


def check_arguments(spec: PromptSpec, given: Mapping[str, str] | None) -> dict[str, str]:
    """The prompt's arguments, checked: required ones present, enumerated ones one of their values."""
    values = {k: v for k, v in (given or {}).items() if v not in (None, "")}
    unknown = sorted(set(values) - {a.name for a in spec.arguments})
    if unknown:
        raise PromptArgumentError(
            f"unknown argument(s) {', '.join(unknown)}; valid: {', '.join(a.name for a in spec.arguments)}"
        )
    for arg in spec.arguments:
        if arg.required and arg.name not in values:
            raise PromptArgumentError(f"missing required argument '{arg.name}' ({arg.description})")
        if arg.choices is not None and arg.name in values and values[arg.name] not in arg.choices:
            raise PromptArgumentError(f"'{arg.name}' must be one of {', '.join(arg.choices)}, got {values[arg.name]!r}")
    return values


def call_arguments(step: Step, values: Mapping[str, Any]) -> dict[str, Any]:
    """A step's tool arguments with these values (prompt arguments and facts); missing optional ones left out."""
    filled = _fill(step.arguments, values)
    assert isinstance(filled, dict)
    return filled


class Shown(str):
    """A value shown in the text instead of a real one (a fact to be read from an earlier step); never converted."""

    __slots__ = ()


def _fill(template: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(template, str):
        match = _PLACEHOLDER.fullmatch(template)
        if match:
            name, kind = match.groups()
            if name not in values:
                return _MISSING
            return _convert(name, values[name], kind)
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), f"<{m.group(1)}>")), template)
    if isinstance(template, Mapping):
        result = {}
        for key, value in template.items():
            filled = _fill(value, values)
            if filled is not _MISSING:
                result[str(_fill(key, values))] = filled
        return result
    if isinstance(template, list):
        return [item for item in (_fill(x, values) for x in template) if item is not _MISSING]
    return template


def _convert(name: str, value: Any, kind: str | None) -> Any:
    if kind is None or isinstance(value, Shown) or not isinstance(value, str):
        return value
    try:
        number = float(value.strip())
    except ValueError:
        raise PromptArgumentError(f"'{name}' must be a number, got {value!r}") from None
    if kind == "int":
        if not number.is_integer():
            raise PromptArgumentError(f"'{name}' must be a whole number, got {value!r}")
        return int(number)
    return int(number) if number.is_integer() else number


# --- rendering -------------------------------------------------------------------------------------------


def render(
    spec: PromptSpec, catalog: Catalog, policy: Policy, given: Mapping[str, str] | None
) -> types.GetPromptResult:
    """The prompt as one user message: the situation, the steps in order with their calls and confirmations."""
    values: dict[str, Any] = check_arguments(spec, given)
    for name, fact in spec.facts.items():
        values.setdefault(name, Shown(f"<{fact.get('about') or fact.get('ask')}>"))
    kept, dropped = steps_for(spec, policy)
    listed_names = {op.name for op in policy.profile.listed}
    lines = [_text(spec.intro, values), "",
             "Work through these steps with the tools, in order. Stop and tell me when a step shows something "
             "unexpected or fails.", ""]  # fmt: skip
    for number, step in enumerate(kept, start=1):
        op = catalog.get(step.tool)
        assert op is not None
        call = _shown_call(op, step, call_arguments(step, values), spec)
        lines.append(f"{number}. {step.tool} — {step.purpose}")
        if step.tool in listed_names:
            lines.append(f"   Call: {step.tool} {json.dumps(call, ensure_ascii=False)}")
        else:
            inner = {"name": step.tool, "arguments": call}
            lines.append(f"   Call (not listed as a tool here): call_operation {json.dumps(inner, ensure_ascii=False)}")
        if step.when:
            lines.append(f"   When: {_text(step.when, values)}.")
        lines.append(f"   Why: {_text(step.why, values)}")
        lines.append(f"   {_confirmation(op, policy)}")
    asked = [f"{name}: {fact['ask']}" for name, fact in spec.facts.items() if "ask" in fact]
    if asked:
        lines += ["", "From the customer: " + "; ".join(asked) + "."]
    for step in dropped:
        lines += ["", f"Left out here: {step.purpose} — that needs a change you cannot make with your access; hand "
                  "it to a colleague who can, with what you found."]  # fmt: skip
    lines += ["", _text(spec.closing, values)]
    text = "\n".join(lines)
    return types.GetPromptResult(
        description=spec.description,
        messages=[types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))],
    )


def _shown_call(op: Operation, step: Step, call: dict[str, Any], spec: PromptSpec) -> dict[str, Any]:
    """Required tool arguments whose prompt argument was not given are shown as <what to put there>."""
    for arg in op.args:
        if arg.required and arg.name not in call:
            names = _names(step.arguments.get(arg.name, ""))
            described = spec.argument(names[0]) if names else None
            call[arg.name] = f"<{described.description if described else arg.name}>"
    return call


def _text(template: str, values: Mapping[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), f"<{m.group(1)}>")), template)


def _confirmation(op: Operation, policy: Policy) -> str:
    if op.max_effect == "read":
        return "Confirmation: none, it only reads."
    if policy.needs_confirmation(op, {}):
        return (
            "Confirmation: this changes data, so the server asks a person to confirm this exact call first — a form "
            "in the client, or a CONFIRMATION REQUIRED answer with a preview and a confirmation_token: show the "
            "preview and call again with the token only if they agree."
        )
    return "Confirmation: this changes data and runs at once here (the operator turned confirmations off for it)."


def get(catalog: Catalog, policy: Policy, name: str, arguments: Mapping[str, str] | None) -> types.GetPromptResult:
    """prompts/get: an unknown (or not listed) prompt or a bad argument is -32602 with what to fix."""
    spec = find(catalog, policy, name)
    if spec is None:
        valid = ", ".join(s.name for s in listed(catalog, policy)) or "none"
        raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown prompt {name!r}; prompts available: {valid}")
    try:
        return render(spec, catalog, policy, arguments)
    except PromptArgumentError as exc:
        raise MCPError(code=types.INVALID_PARAMS, message=f"Prompt {name}: {exc}") from None
