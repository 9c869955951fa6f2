"""Secrets out of everything that shows arguments: audit lines, previews, validation messages, URLs.

What is a secret is data: the catalogue marks schema nodes `"x-secret": true` and each
`Operation.secret_paths` lists them (`payload.*.password`; `*` is every array item or map
value). `redact` masks those paths and, as a second net for what the catalogue does not
know (free-form maps, new operations), any key whose name says secret.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from .catalog import Operation

MASK = "***"

# Spelled out in full, these only ever name secrets: password, passcode, client_secret, accessToken,
# cap_authorization, validationCode, cvv2, credentials, x_api_key...
_SECRET_PARTS = re.compile(r"passw(or)?d|passcode|secret|token|authori[sz]ation|validationcode|cvv|credential|apikey")
# Short words that are secrets only as whole words: `otp`, `otpCode` (not `footprint`); `pin`, `userPin`,
# `mpin` (not `pincode` or `pin_code`, a postal code in India; not `spinner`).
_SECRET_WORDS = {"otp", "pin", "mpin"}
# A name ending in one of these describes a secret without holding one: tokenType, otp_type, expirationTokenTime.
_DESCRIBING = {"type", "types", "length", "time", "ttl", "expiry", "format", "count", "enabled", "required", "mode"}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _name_words(name: str) -> list[str]:
    """`newPassword` -> ['new', 'password']; `cap_authorization` -> ['cap', 'authorization']."""
    return [word.lower() for word in _WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a key's name says its value is a secret (the second net behind the catalogue's marks)."""
    words = _name_words(name)
    if not words or words[-1] in _DESCRIBING:
        return False
    if _SECRET_PARTS.search("".join(words)):
        return True
    for index, word in enumerate(words):
        if word == "pin" and words[index + 1 : index + 2] == ["code"]:
            continue  # pin code: a postal code
        if word in _SECRET_WORDS:
            return True
    return False


def redact(op: Operation | None, arguments: Any) -> Any:
    """A copy of arguments with every secret value replaced by `***`; the input is left alone."""
    paths = op.secret_paths if op is not None else ()
    return _by_name(_by_paths(arguments, [path.split(".") for path in paths]))


def _by_paths(value: Any, paths: list[list[str]]) -> Any:
    if not paths:
        return _copy(value)
    if any(not path for path in paths):
        return MASK if value is not None else None
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            below = [path[1:] for path in paths if path[0] in (key, "*")]
            result[key] = _by_paths(item, below)
        return result
    if isinstance(value, list):
        below = [path[1:] for path in paths if path[0] == "*"]
        return [_by_paths(item, below) for item in value]
    return value


def _by_name(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            # A boolean (issueOtp) or a missing value says nothing secret.
            key: MASK
            if is_secret_name(str(key)) and item is not None and not isinstance(item, bool)
            else _by_name(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_by_name(item) for item in value]
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def redact_url(url: str) -> str:
    """The URL with any user:password@ replaced by ***@, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if "@" not in parts.netloc:
        # Without a scheme, urlsplit finds no netloc: user:pass@host must still lose its credentials.
        return f"{MASK}@{url.rpartition('@')[2]}" if "@" in url and "://" not in url else url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{MASK}@{host}"))


def without_query(url: str) -> str:
    """The URL without its query string (OTPs, mobiles, emails travel there) and without user info."""
    try:
        parts = urlsplit(redact_url(url))
    except ValueError:
        return MASK
    return urlunsplit(parts._replace(query=MASK if parts.query else "", fragment=""))
