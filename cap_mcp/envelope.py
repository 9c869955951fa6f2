"""Normalise Capillary's many response envelopes into one `Outcome`.

Capillary answers in several shapes: v2 `data`/`entity` with `warnings` and `errors`,
v1.1 `response.status` with per-item `item_status`, the coupon upload API's
`success`/`status`/`result`, and bulk calls where HTTP 201 means that some items
failed. Whatever the shape, the payload is kept whole and the outcome says
success, partial success or failure, with Capillary's error codes turned into a
message and a hint the model can act on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["success", "partial", "failure", "unknown"]
# What a call's result says happened, the same at every door (MCP tools, discovery, the terminal):
# done, partly done (some items failed), not done (nothing can have happened), or unknown (the request may
# have reached Capillary and no trustworthy answer came back).
OutcomeClass = Literal["done", "partly_done", "not_done", "unknown"]
_CLASS: dict[Status, OutcomeClass] = {
    "success": "done",
    "partial": "partly_done",
    "failure": "not_done",
    "unknown": "unknown",
}


@dataclass(frozen=True)
class Problem:
    """One error or warning reported by Capillary."""

    code: int | None
    message: str
    hint: str = ""

    def as_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            item["hint"] = self.hint
        return item


@dataclass(frozen=True)
class Outcome:
    status: Status
    http_status: int | None
    payload: Any
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    request_id: str | None = None
    message: str = ""
    hint: str = ""
    attempts: int = 1
    sent: bool = True  # False only when nothing left this process
    cause: str = ""  # why there is no HTTP status, in one word (timeout, ...), for metrics and traces

    @property
    def ok(self) -> bool:
        return self.status in ("success", "partial")

    @property
    def outcome(self) -> OutcomeClass:
        return _CLASS[self.status]


# code -> (message, hint); per toolset first, then common.
CodeBook = Mapping[str, Mapping[str, Mapping[str, str]]]

_STATUS_HINTS: dict[int, tuple[str, str]] = {
    400: ("Capillary rejected the input", "check the arguments against the tool's schema and the error message"),
    401: (
        "Capillary refused cap-mcp's credentials",
        "the operator must check CAP_MCP_USERNAME/CAP_MCP_PASSWORD or the OAuth client key and secret",
    ),
    403: ("not allowed for this organisation or till", "the operator must enable this API or use a till with access"),
    404: ("not found", "check the identifiers; look the customer up first (customer_lookup) to get valid ids"),
    405: ("this operation is not supported for the resource", "use another tool for this"),
    415: ("unsupported media type", "this is a cap-mcp defect; report it"),
    429: ("rate limit reached", "wait a little and try again"),
    461: ("Capillary's search engine is busy", "try again in a few seconds"),
    500: ("Capillary failed to process the request", "try again later; if it persists, report it to Capillary"),
    521: ("another action is running for the same customer", "wait a few seconds and try again"),
}


def normalise(
    http_status: int,
    payload: Any,
    *,
    toolset: str,
    codes: CodeBook,
    request_id: str | None = None,
) -> Outcome:
    """Classify one Capillary answer."""
    errors = tuple(_problem(raw, toolset, codes) for raw in _errors(payload))
    warnings = tuple(_problem(raw, toolset, codes) for raw in _warnings(payload))
    warnings += tuple(_v11_warnings(payload, toolset, codes))
    if http_status >= 400 or (http_status < 300 and _explicit_failure(payload)):
        status: Status = "failure"
    elif http_status == 201 or _v11_partial(payload) or (errors and _has_data(payload)):
        status = "partial"
    elif errors:
        status = "failure"
    else:
        status = "success"
    message, hint = _summary(status, http_status, errors)
    return Outcome(
        status=status,
        http_status=http_status,
        payload=payload,
        errors=errors,
        warnings=warnings,
        request_id=request_id,
        message=message,
        hint=hint,
    )


def describe_code(code: int | None, toolset: str, codes: CodeBook) -> tuple[str, str] | None:
    if code is None:
        return None
    key = str(code)
    for book in (codes.get(toolset, {}), codes.get("common", {})):
        entry = book.get(key)
        if entry:
            return entry["message"], entry.get("hint", "")
    return None


def _summary(status: Status, http_status: int, errors: tuple[Problem, ...]) -> tuple[str, str]:
    if status == "success":
        return "", ""
    if errors:
        first = errors[0]
        hint = first.hint or _STATUS_HINTS.get(http_status, ("", ""))[1]
        prefix = "some items failed: " if status == "partial" else ""
        code = f" (code {first.code})" if first.code is not None else ""
        return f"{prefix}{first.message}{code}", hint
    if status == "partial":
        return "some items failed", "read the per-item status in the result"
    message, hint = _STATUS_HINTS.get(http_status, (f"Capillary answered HTTP {http_status}", ""))
    if http_status >= 500 and not hint:
        hint = _STATUS_HINTS[500][1]
    return message, hint


def _problem(raw: Mapping[str, Any], toolset: str, codes: CodeBook) -> Problem:
    code = _int_or_none(raw.get("code"))
    upstream = str(raw.get("message") or raw.get("msg") or "").strip()
    known = describe_code(code, toolset, codes)
    if known is not None:
        message, hint = known
        return Problem(code, upstream or message, hint)
    return Problem(code, upstream or "unspecified error")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _errors(payload: Any) -> Iterator[Mapping[str, Any]]:
    """Error entries wherever this envelope keeps them."""
    if isinstance(payload, list):
        for item in payload:
            yield from _errors(item)
        return
    if not isinstance(payload, Mapping):
        return
    yield from _entries(payload.get("errors"))
    yield from _entries(payload.get("error"))
    yield from _v11_errors(payload)
    # Coupon upload API: {"success": false, "status": 400, "message": ...}
    if _is_false(payload.get("success")):
        yield {"code": payload.get("status"), "message": payload.get("message") or payload.get("error") or ""}
    # Bulk v2: {"response": [...]} or a list of items each with "errors".
    for key in ("data", "response"):
        items = payload.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, Mapping):
                    yield from _entries(item.get("errors"))


def _warnings(payload: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(payload, Mapping):
        yield from _entries(payload.get("warnings"))


def _entries(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping):
                yield item
            elif isinstance(item, str):
                yield {"message": item}
    elif isinstance(value, Mapping) and ("code" in value or "message" in value):
        yield value


# --- v1.1 ----------------------------------------------------------------------------------------
# {"response": {"status": {"success", "code", "message"}, <entity>: {..., "item_status": {...}}}}. Some
# answers drop the "response" wrapper, some items say "status" instead of "success", some request
# statuses say "response_code" instead of "code", per-invitee statuses are named "status", and an item
# lists warning codes in item_status.warnings.warning.


def _v11_body(payload: Any) -> Mapping[str, Any] | None:
    """The object holding a v1.1 answer's status and entities, with or without the "response" wrapper."""
    if not isinstance(payload, Mapping):
        return None
    response = payload.get("response")
    if isinstance(response, Mapping):
        return response
    status = payload.get("status")
    if isinstance(status, Mapping) and "success" in status:
        return payload
    return None


def _v11_status(payload: Any) -> Mapping[str, Any] | None:
    body = _v11_body(payload)
    status = body.get("status") if body is not None else None
    return status if isinstance(status, Mapping) else None


def _v11_coded(status: Mapping[str, Any]) -> Mapping[str, Any]:
    if "code" not in status and "response_code" in status:
        return {**status, "code": status["response_code"]}
    return status


def _v11_failed(status: Mapping[str, Any]) -> bool:
    return _is_false(status.get("success", status.get("status")))


def _v11_errors(payload: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    body = _v11_body(payload)
    if body is None:
        return
    # The item's own status is the more specific; the overall status comes after it.
    yield from _item_statuses(body)
    status = _v11_status(payload)
    if status is not None and _is_false(status.get("success")):
        yield _v11_coded(status)


def _v11_partial(payload: Any) -> bool:
    """Some items failed: status code 201, or a successful request over a failed item."""
    status = _v11_status(payload)
    if status is None:
        return False
    if str(_v11_coded(status).get("code")) == "201":
        return True
    return not _is_false(status.get("success")) and next(_item_statuses(_v11_body(payload)), None) is not None


def _v11_warnings(payload: Any, toolset: str, codes: CodeBook) -> Iterator[Problem]:
    """Warning codes listed by items, and items that succeeded with a code this toolset calls an error
    (a coupon check that ran and found the coupon not redeemable)."""
    for item in _v11_item_statuses(_v11_body(payload)):
        listed = item.get("warnings")
        listed = listed.get("warning") if isinstance(listed, Mapping) else listed
        for code in listed if isinstance(listed, list) else [listed] if listed else []:
            number = _int_or_none(code)
            known = describe_code(number, toolset, codes)
            yield Problem(number, known[0] if known else f"Capillary warning {code}", known[1] if known else "")
        own = codes.get(toolset, {}).get(str(item.get("code")))
        if not _v11_failed(item) and own is not None and own.get("kind") == "error":
            message = str(item.get("message") or "").strip() or own["message"]
            yield Problem(_int_or_none(item.get("code")), message, own.get("hint", ""))


def _v11_item_statuses(node: Any, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    """Every per-item status below a v1.1 body: item_status, or a nested status with success."""
    if depth > 10:  # per-invitee statuses of a referral sit eight levels down
        return
    if isinstance(node, Mapping):
        for key, value in node.items():
            nested = key == "status" and depth > 0 and isinstance(value, Mapping) and "success" in value
            if (key == "item_status" and isinstance(value, Mapping)) or nested:
                yield _v11_coded(value)
            elif key != "status":
                yield from _v11_item_statuses(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _v11_item_statuses(item, depth + 1)


def _item_statuses(node: Any) -> Iterator[Mapping[str, Any]]:
    """v1.1 per-item statuses that say the item failed."""
    return (item for item in _v11_item_statuses(node) if _v11_failed(item))


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _explicit_failure(payload: Any) -> bool:
    """v1.1 and the upload API say failure in the body while answering HTTP 200."""
    if not isinstance(payload, Mapping):
        return False
    if _is_false(payload.get("success")):
        return True
    status = _v11_status(payload)
    return status is not None and _is_false(status.get("success")) and not _v11_partial(payload)


def _has_data(payload: Any) -> bool:
    if isinstance(payload, Mapping):
        return any(payload.get(key) for key in ("data", "entity", "entities", "response", "result"))
    return isinstance(payload, list) and bool(payload)
