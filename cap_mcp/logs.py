"""Logging set-up: text or JSON lines on stderr, and third-party loggers kept quiet at INFO.

JSON (`--log-format json` / CAP_MCP_LOG_FORMAT=json) writes one object per line: time, level, logger,
message, and for a tool call its fields (tool, outcome, caller, request_id, duration_ms) as keys, so a
log pipeline can filter on them without parsing the message.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that say something on every request at INFO (httpx per request, the SDK per session, uvicorn's
# access log): at INFO an operator wants one line per tool call, so they speak from WARNING on.
CHATTY = ("httpx", "httpcore", "mcp", "uvicorn.access", "uvicorn.error", "sse_starlette")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        call = getattr(record, "call", None)
        if isinstance(call, dict):
            line.update(call)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(level: str, log_format: str) -> None:
    """Configure the root logger on stderr (stdout is the MCP channel over stdio)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.WARNING)
    if root.level > logging.DEBUG:
        for name in CHATTY:
            logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
