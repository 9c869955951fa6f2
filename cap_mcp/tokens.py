"""Confirmation tokens for clients that cannot show a confirmation prompt.

A token is sealed (AES-256-GCM, the same key ring as the protocol's request
state) and binds the tool, the exact arguments in canonical form, the session,
the caller and an expiry. Single use is enforced by the guard's used-store.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from mcp.server.request_state import AESGCMRequestStateCodec, InvalidRequestState

TOKEN_PREFIX = "cmt1."


class TokenRefused(Exception):
    """The token cannot confirm this call; the message says why in plain words."""


def canonical_digest(tool: str, arguments: dict[str, Any]) -> str:
    """Digest of the tool and its arguments, independent of key order and whitespace."""
    clean = {k: v for k, v in arguments.items() if k != "confirmation_token"}
    text = json.dumps([tool, clean], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fingerprint(value: str | None) -> str:
    return hashlib.sha256((value or "").encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class VerifiedToken:
    nonce: str
    expires_at: float


class TokenSealer:
    def __init__(self, keys: list[str] | None = None, *, ttl: float = 300.0) -> None:
        # Without configured keys, a per-process key: tokens die with the process.
        self._codec = AESGCMRequestStateCodec(list(keys) if keys else [os.urandom(32)])
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"TokenSealer(ttl={self.ttl}, keys=***)"

    def mint(self, *, tool: str, arguments: dict[str, Any], session: str, principal: str | None) -> tuple[str, float]:
        expires_at = time.time() + self.ttl
        claims = {
            "t": tool,
            "a": canonical_digest(tool, arguments),
            "s": _fingerprint(session),
            "p": _fingerprint(principal),
            "exp": expires_at,
            "n": secrets.token_urlsafe(12),
        }
        sealed = self._codec.seal(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        return TOKEN_PREFIX + sealed, expires_at

    def verify(
        self, token: str, *, tool: str, arguments: dict[str, Any], session: str, principal: str | None
    ) -> VerifiedToken:
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise TokenRefused("this is not a confirmation token issued by this server")
        try:
            claims = json.loads(self._codec.unseal(token.removeprefix(TOKEN_PREFIX)))
            nonce, expires_at = str(claims["n"]), float(claims["exp"])
        except (InvalidRequestState, ValueError, KeyError, TypeError):
            raise TokenRefused("the confirmation token is damaged or was issued by another server") from None
        if claims.get("t") != tool:
            raise TokenRefused(f"the confirmation token was issued for {claims.get('t')!r}, not {tool!r}")
        if claims.get("p") != _fingerprint(principal):
            raise TokenRefused("the confirmation token was issued to another caller")
        if claims.get("s") != _fingerprint(session):
            raise TokenRefused("the confirmation token belongs to another session")
        if not time.time() < expires_at:
            raise TokenRefused("the confirmation token has expired")
        if claims.get("a") != canonical_digest(tool, arguments):
            raise TokenRefused("the arguments differ from the ones the user confirmed")
        return VerifiedToken(nonce, expires_at)
