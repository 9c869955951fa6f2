"""Dynamic mode: three discovery tools through which every operation of the profile stays reachable.

Search ranks operations with BM25 over their name, title, description, keywords
and toolset, after mapping everyday words to Capillary's ("voucher" → coupon,
"bill" → transaction, "member" → customer), so that a request in plain language
finds the right operation.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import mcp_types as types

from .catalog import Operation
from .results import text_result

if TYPE_CHECKING:
    from .runtime import Runtime

DISCOVERY_TOOLS: list[dict[str, Any]] = [
    {
        "name": "search_operations",
        "title": "Find a Capillary operation",
        "description": "Finds the operations for a request in plain words (e.g. 'give her points to her husband', "
        "'is this voucher still valid'). Returns names, toolsets and one-line descriptions, best first.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What you want to do, in everyday words"},
                "toolset": {"type": "string", "description": "Only this toolset, e.g. points"},
                "effect": {"type": "string", "enum": ["read", "write", "destructive"]},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    },
    {
        "name": "describe_operation",
        "title": "Describe a Capillary operation",
        "description": "Shows an operation's full input schema, effect and notes. Call before call_operation.",
        "inputSchema": {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "Operation name from search_operations"}},
            "required": ["name"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    },
    {
        "name": "call_operation",
        "title": "Run a Capillary operation",
        "description": "Runs an operation by name with its arguments, validated and confirmed exactly like the "
        "direct tool. Changes ask the user first; pass confirmation_token only from a confirmation_required result.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "arguments": {"type": "object", "description": "As describe_operation shows"},
                "confirmation_token": {"type": "string"},
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False, "openWorldHint": True},
    },
]

# Everyday words → the words Capillary's operations use.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "voucher": ("coupon",), "vouchers": ("coupon",), "code": ("coupon", "otp"), "promo": ("coupon", "promotion"),
    "discount": ("coupon", "promotion"), "offer": ("coupon", "promotion"), "gift": ("coupon", "reward", "transfer"),
    "shopper": ("customer",), "member": ("customer",), "members": ("customer",), "client": ("customer",),
    "buyer": ("customer",), "user": ("customer",), "profile": ("customer",), "person": ("customer",),
    "she": ("customer",), "he": ("customer",), "her": ("customer",), "his": ("customer",), "account": ("customer",),
    "phone": ("mobile",), "cell": ("mobile",), "number": ("mobile",), "mail": ("email",), "e-mail": ("email",),
    "bill": ("transaction",), "bills": ("transaction",), "purchase": ("transaction",), "purchases": ("transaction",),
    "order": ("transaction",), "orders": ("transaction",), "receipt": ("transaction",), "sale": ("transaction",),
    "invoice": ("transaction",), "bought": ("transaction",), "spent": ("transaction",), "spend": ("redeem",),
    "refund": ("return", "reverse"), "returned": ("return", "reverse"), "undo": ("reverse",),
    "give": ("transfer", "issue"), "send": ("transfer", "issue"), "move": ("transfer",), "share": ("transfer",),
    "husband": ("transfer", "customer"), "wife": ("transfer", "customer"), "spouse": ("transfer",),
    "friend": ("transfer", "referral"), "family": ("group", "transfer"), "household": ("group",),
    "use": ("redeem",), "burn": ("redeem",), "cash": ("redeem",), "apply": ("redeem",), "claim": ("redeem",),
    "valid": ("redeemable", "is"), "still": ("redeemable",), "works": ("redeemable",), "check": ("is",),
    "balance": ("points", "balance", "ledger"), "miles": ("points",), "credits": ("points",), "rewards": ("points",),
    "level": ("tier",), "status": ("tier", "status"), "vip": ("tier",), "gold": ("tier",), "upgrade": ("tier",),
    "history": ("ledger", "transfer", "get"), "statement": ("ledger",), "expire": ("expiry",), "expiring": ("expiry",),
    "expires": ("expiry",), "sign": ("register",), "signup": ("register",), "enroll": ("register",),
    "enrol": ("register",), "join": ("register",), "new": ("register", "add", "create"), "edit": ("update",),
    "change": ("update",), "modify": ("update",), "fix": ("update",), "tag": ("label",), "tags": ("label",),
    "segment": ("label",), "otp": ("otp",), "verify": ("validate",), "verification": ("otp", "validate"),
    "complaint": ("ticket", "goodwill"), "ticket": ("ticket",), "goodwill": ("goodwill",), "card": ("card",),
    "store": ("store", "till"), "shop": ("store",), "staff": ("staff",), "cashier": ("staff", "till"),
    "sms": ("communications", "message"), "message": ("communications",), "email": ("email",),
    "reissue": ("issue",), "re-issue": ("issue",), "birthday": ("coupon", "issue"), "didn": ("get",),
    "unsubscribe": ("subscription",), "opt": ("subscription",), "consent": ("subscription", "consent"),
    "survey": ("survey",), "feedback": ("survey",), "referral": ("referral",), "refer": ("referral",),
    "merge": ("merge",), "duplicate": ("merge",), "fraud": ("status",), "block": ("status",),
    "who": ("lookup", "get"), "find": ("lookup", "search", "get"), "look": ("lookup", "get"), "show": ("get",),
    "see": ("get",), "list": ("get", "list"), "details": ("get", "details"), "info": ("get", "details"),
}  # fmt: skip

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "be",
        "it",
        "this",
        "that",
        "these",
        "those",
        "my",
        "our",
        "their",
        "with",
        "from",
        "on",
        "in",
        "at",
        "by",
        "me",
        "i",
        "can",
        "could",
        "would",
        "should",
        "please",
        "do",
        "does",
        "did",
        "how",
        "what",
        "when",
        "which",
        "whose",
        "you",
        "your",
        "we",
        "us",
    ]
)
_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, camelCase and snake_case split, light stemming."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text).replace("_", " ").lower()
    return [_stem(t) for t in _TOKEN.findall(text) if t not in _STOP]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def expand(query: str) -> Counter[str]:
    raw = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", query).replace("_", " ").lower()
    weights: Counter[str] = Counter()
    for word in _TOKEN.findall(raw):
        if word in _STOP:
            continue
        weights[_stem(word)] += 1.0
        for synonym in SYNONYMS.get(word, ()):
            weights[_stem(synonym)] += 0.7
    return weights


@dataclass(frozen=True)
class _Doc:
    op: Operation
    terms: Counter[str]
    length: int


class SearchIndex:
    """BM25 over weighted fields; names and keywords count more than descriptions."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        self.docs = [self._doc(op) for op in operations]
        self.avg = sum(d.length for d in self.docs) / max(len(self.docs), 1)
        frequency: Counter[str] = Counter()
        for doc in self.docs:
            frequency.update(doc.terms.keys())
        n = len(self.docs)
        self.idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}

    @staticmethod
    def _doc(op: Operation) -> _Doc:
        terms: Counter[str] = Counter()
        for text, weight in (
            (op.name, 3),
            (op.title, 3),
            (" ".join(op.keywords), 2),
            (op.toolset, 2),
            (op.description, 1),
            (op.path.replace("/", " "), 1),
        ):
            for token in tokens(text):
                terms[token] += weight
        return _Doc(op, terms, sum(terms.values()))

    def search(
        self, query: str, *, toolset: str | None = None, effect: str | None = None, limit: int = 5
    ) -> list[tuple[Operation, float]]:
        wanted = expand(query)
        k1, b = 1.2, 0.75
        scored = []
        for doc in self.docs:
            if (toolset and doc.op.toolset != toolset) or (effect and doc.op.effect != effect):
                continue
            score = 0.0
            for term, weight in wanted.items():
                tf = doc.terms.get(term, 0)
                if tf:
                    norm = tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc.length / self.avg))
                    score += weight * self.idf.get(term, 0.0) * norm
            if score > 0:
                scored.append((doc.op, score))
        scored.sort(key=lambda item: (-item[1], item[0].name))
        return scored[:limit]


@lru_cache(maxsize=8)
def _index_for(operations: tuple[Operation, ...]) -> SearchIndex:
    return SearchIndex(operations)


def index_for(runtime: Runtime) -> SearchIndex:
    return _index_for(runtime.profile.operations)


def search_operations(runtime: Runtime, arguments: dict[str, Any]) -> types.CallToolResult:
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        return text_result("search_operations needs 'query': what you want to do, in everyday words.", error=True)
    limit = arguments.get("limit", 5)
    limit = max(1, min(int(limit), 20)) if isinstance(limit, int) else 5
    hits = index_for(runtime).search(
        query, toolset=arguments.get("toolset"), effect=arguments.get("effect"), limit=limit
    )
    results = [
        {"name": op.name, "toolset": op.toolset, "effect": op.effect, "description": _first_sentence(op.description)}
        for op, _ in hits
    ]
    if not results:
        text = "No operation matches. Try other words, or a toolset such as customer, points, coupon, transaction."
    else:
        text = "\n".join(f"{r['name']} [{r['toolset']}, {r['effect']}]: {r['description']}" for r in results)
        text += "\nNext: describe_operation with the best name, then call_operation."
    return text_result(text, structured={"results": results})


def describe_operation(
    runtime: Runtime, arguments: dict[str, Any], tool_for: Callable[[Runtime, Operation], types.Tool]
) -> types.CallToolResult:
    name = arguments.get("name")
    op = runtime.profile.get(name) if isinstance(name, str) else None
    if op is None:
        return text_result(f"No operation named {name!r} in this server's profile; use search_operations.", error=True)
    tool = tool_for(runtime, op)
    described = {
        "name": op.name,
        "toolset": op.toolset,
        "title": op.title,
        "description": op.description,
        "effect": op.effect,
        "confirmation": "asks the user first" if runtime.guard.guards(op) else "runs at once",
        "input_schema": tool.input_schema,
        "method": op.method,
        "path": op.path,
    }
    if op.notes:
        described["notes"] = op.notes
    if op.require_one_of:
        described["require_one_of"] = [list(group) for group in op.require_one_of]
    import json

    return text_result(json.dumps(described, ensure_ascii=False), structured=described)


def _first_sentence(text: str) -> str:
    head = text.split(". ")[0].strip()
    return head if head.endswith(".") else head + "."
