"""The audit log: one JSON line per guarded call, with personal data masked and never a secret."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .redaction import redact

if TYPE_CHECKING:
    from .catalog import Operation
    from .envelope import Outcome

log = logging.getLogger("cap_mcp.audit")

# Values that identify a person: kept only in part, so a reviewer can still tell calls apart.
_PERSONAL_KEYS = re.compile(
    r"(?i)(mobile|phone|email|name|identifiervalue|^value$|address|birth|dob|anniversary|card_?number|cardnumber"
    r"|external_?id|externalid|ip)"
)


# Arguments may nest hundreds of levels (open body objects take anything); an audit line keeps the top of them.
MAX_DEPTH = 32


def mask(value: Any, op: Operation | None = None) -> Any:
    """A copy of the arguments with secrets removed (see redaction.py) and personal data partly hidden."""
    return _partly_hidden(redact(op, _top(value)))


def _top(value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return f"[nested deeper than {MAX_DEPTH} levels; omitted]"
    if isinstance(value, dict):
        return {k: _top(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_top(item, depth + 1) for item in value]
    return value


def _partly_hidden(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _partly_hidden(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_partly_hidden(item, key) for item in value]
    if key and _PERSONAL_KEYS.search(key) and isinstance(value, str | int) and not isinstance(value, bool):
        return _partial(str(value))
    return value


def _partial(text: str) -> str:
    if "@" in text:
        local, _, domain = text.partition("@")
        return (local[:1] + "***@" + domain) if local else "***@" + domain
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


class AuditLog:
    """Appends audit records to a JSON-lines file (or nowhere, when disabled explicitly)."""

    def __init__(self, path: str | None, operation: Callable[[str], Operation | None] | None = None) -> None:
        self.path = None if path in (None, "", "off") else Path(os.path.expanduser(str(path)))
        # Finds a tool's operation, whose x-secret paths say which arguments are never written.
        self._operation = operation
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, **fields: Any) -> dict[str, Any]:
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **fields}
        if "arguments" in entry:
            tool = entry.get("tool")
            op = self._operation(tool) if self._operation is not None and isinstance(tool, str) else None
            entry["arguments"] = mask(entry["arguments"], op)
        if self.path is not None:
            line = json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":"))
            try:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
            except OSError as exc:
                log.error("could not write the audit log %s: %s", self.path, exc)
        return entry

    def call(
        self,
        tool: str,
        effect: str,
        arguments: dict[str, Any],
        *,
        confirmed_by: str | None,
        decision: str = "",
        result: Outcome | None = None,
        **context: Any,
    ) -> dict[str, Any]:
        """One guarded call: refused or not run (`decision`), or executed with Capillary's `result`."""
        return self.record(
            tool=tool,
            effect=effect,
            arguments=arguments,
            confirmed_by=confirmed_by,
            outcome=f"executed: {result.status}" if result is not None else decision,
            upstream_status=result.http_status if result is not None else None,
            request_id=result.request_id if result is not None else None,
            **context,
        )
