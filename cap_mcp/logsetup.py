"""Logging that never writes a secret.

httpx logs every request's full URL at INFO, and query strings carry OTPs
(`validation_code`), mobile numbers and emails; httpcore logs header tuples at
DEBUG; sse_starlette logs every result it streams over HTTP at DEBUG (previews,
Capillary's answers). So these stay at WARNING unless the operator names them
(`--log-level DEBUG,httpx=DEBUG`), and even then a filter on their loggers
strips query strings, user info and secret-looking header values from each
line and logs streamed results by size only. cap-mcp's own lines name the
operation and its path template only.
"""

from __future__ import annotations

import logging
import re
import sys

from .redaction import MASK, is_secret_name, without_query

# Libraries that log what goes over the wire: quiet unless named, and always scrubbed.
QUIET_LOGGERS = ("httpx", "httpcore", "sse_starlette")
_SCRUBBED = (
    *QUIET_LOGGERS,
    "sse_starlette.sse",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "mcp.server.auth.middleware.bearer_auth",
    "mcp.server.transport_security",
)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(basic|bearer|digest)\s+[A-Za-z0-9._~+/=-]+")
# A header as httpcore prints it, (b'Name', b'value'), or as text, Name: value.
_HEADER_TUPLE = re.compile(r"\((b?)(['\"])([^'\"]+)\2,\s*(b?)(['\"])(.*?)\5\)")
_HEADER_LINE = re.compile(r"(?m)^([A-Za-z0-9-]+):[ \t]*(.+)$")


class LogConfigError(ValueError):
    """The --log-level value is not understood; the message says what is accepted."""


def scrub(text: str) -> str:
    """The text with URLs cut before their query, credentials after an auth scheme, and secret headers masked."""
    text = _URL.sub(lambda m: without_query(m.group(0)), text)
    text = _SCHEME_CREDENTIAL.sub(lambda m: f"{m.group(1)} {MASK}", text)

    def tuple_value(match: re.Match[str]) -> str:
        b1, q1, name, b2, q2, _ = match.groups()
        return f"({b1}{q1}{name}{q1}, {b2}{q2}{MASK}{q2})" if is_secret_name(name) else match.group(0)

    text = _HEADER_TUPLE.sub(tuple_value, text)
    return _HEADER_LINE.sub(lambda m: f"{m.group(1)}: {MASK}" if is_secret_name(m.group(1)) else m.group(0), text)


class ScrubSecrets(logging.Filter):
    """Rewrites a record's message through `scrub` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "sse_starlette.sse" and record.msg == "chunk: %s" and isinstance(record.args, tuple):
            size = len(record.args[0]) if isinstance(record.args[0], bytes | str) else 0
            record.msg, record.args = "chunk: %d bytes (a result; not logged, it may hold secrets)", (size,)
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report, not ours
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_filters() -> None:
    """Put the scrubbing filter on every logger that sees the wire (once; safe to call again)."""
    for name in _SCRUBBED:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, ScrubSecrets) for existing in logger.filters):
            logger.addFilter(ScrubSecrets())


def parse_levels(spec: str) -> tuple[int, dict[str, int]]:
    """`DEBUG` or `DEBUG,httpx=DEBUG,mcp=INFO` -> the root level and per-logger levels."""
    root: int | None = None
    named: dict[str, int] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, level = part.rpartition("=")
        value = logging.getLevelName(level.strip().upper())
        if not isinstance(value, int):
            raise LogConfigError(
                f"--log-level: unknown level {level.strip()!r}; use {', '.join(LEVELS)}, "
                "optionally followed by logger=LEVEL pairs, e.g. DEBUG,httpx=DEBUG"
            )
        if name:
            named[name.strip()] = value
        else:
            root = value
    return (logging.WARNING if root is None else root), named


# Libraries that speak on every request at INFO (the SDK per session, uvicorn's access log): at INFO an operator
# wants one line per tool call, so below DEBUG they speak from WARNING on.
CHATTY = ("mcp", "uvicorn.access", "uvicorn.error")


def configure_logging(spec: str, log_format: str = "text") -> None:
    """The CLI's logging on stderr (stdout is the MCP channel over stdio): the given levels, text or JSON lines,
    HTTP libraries quiet unless named, secrets scrubbed."""
    root, named = parse_levels(spec)
    if log_format == "json":
        from .logs import JsonFormatter

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=root, handlers=[handler], force=True)
    else:
        logging.basicConfig(level=root, stream=sys.stderr, format=FORMAT)
    quiet = QUIET_LOGGERS + (CHATTY if root > logging.DEBUG else ())
    for name in quiet:
        if not any(key == name or key.startswith(name + ".") for key in named):
            logging.getLogger(name).setLevel(max(root, logging.WARNING))
    for name, level in named.items():
        logging.getLogger(name).setLevel(level)
    install_filters()
