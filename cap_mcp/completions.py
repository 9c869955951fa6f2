"""`completion/complete` for prompt and resource-template arguments.

Values come only from the catalogue and the caller's policy: identifier kinds and other enumerated values,
toolset names, operation names. Free-text arguments (a mobile, an email, a bill number, a coupon code) get no
suggestions: nothing personal is ever offered, whether from Capillary, the sandbox or anywhere else.
An unknown prompt, template or argument gets an empty list (a picker then simply shows nothing).
"""

from __future__ import annotations

import mcp_types as types

from . import overview, prompts, resources
from .catalog import Catalog
from .policy import Policy

MAX_VALUES = 100  # the protocol's limit per answer


def complete(catalog: Catalog, policy: Policy, params: types.CompleteRequestParams) -> types.CompleteResult:
    ref, argument = params.ref, params.argument
    if isinstance(ref, types.PromptReference):
        choices = _prompt_choices(catalog, policy, ref.name, argument.name)
    else:
        choices = _template_choices(catalog, policy, ref.uri, argument.name)
    return _answer(choices, argument.value)


def _prompt_choices(catalog: Catalog, policy: Policy, name: str, argument: str) -> list[str]:
    spec = prompts.find(catalog, policy, name)
    arg = spec.argument(argument) if spec is not None else None
    return list(arg.choices) if arg is not None and arg.choices is not None else []


def _template_choices(catalog: Catalog, policy: Policy, uri: str, argument: str) -> list[str]:
    if uri == resources.GUIDE_TEMPLATE and argument == "toolset":
        return resources.reachable_toolsets(catalog, policy)
    if uri == resources.OPERATION_TEMPLATE and argument == "name":
        return sorted(op.name for op in policy.profile.operations)
    if uri == resources.CUSTOMER_TEMPLATE and argument == "identifierName" and policy.profile.allows(overview.NAME):
        op = catalog.get(overview.NAME)
        kinds = op.arg("identifierName") if op is not None else None
        return [str(v) for v in kinds.schema.get("enum", ())] if kinds is not None else []
    return []


def _answer(choices: list[str], typed: str) -> types.CompleteResult:
    """Choices starting with what was typed (case-insensitive), in their own order; at most MAX_VALUES."""
    typed = typed.strip().lower()
    matches = [c for c in choices if c.lower().startswith(typed)]
    return types.CompleteResult(
        completion=types.Completion(values=matches[:MAX_VALUES], total=len(matches), has_more=len(matches) > MAX_VALUES)
    )
