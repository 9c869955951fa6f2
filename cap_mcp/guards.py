"""Confirmation guards: no operation whose effect is not `read` runs until a person confirmed that exact call.

How the person is asked depends on the client:
- protocol 2026-07-28 with elicitation: an input-required result carrying a form;
  the client re-sends the call with the answer and the (sealed) request state;
- 2025-era connections with a back-channel: a pushed `elicitation/create` form;
- clients without elicitation: a "confirmation required" result with a sealed,
  single-use `confirmation_token`, bound to the tool, the exact arguments, the
  session, the caller and an expiry; the model calls again with it once the
  user agreed (unless the operator requires elicitation).
Each decision and outcome is written to the audit log.
"""

from __future__ import annotations

import json
import logging
import secrets
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.request_state import authenticated_principal
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .audit import AuditLog
from .catalog import Operation
from .config import Settings
from .policy import Policy
from .previews import Preview, PreviewReads, build_preview
from .results import not_done, text_result
from .single_use import UsedStore
from .tokens import TokenRefused, TokenSealer

log = logging.getLogger("cap_mcp.guards")

CONFIRM_KEY = "confirm"
TOKEN_ARG = "confirmation_token"
# The server's instructions and every confirmation_required result say how the token is used; repeating that
# on ~140 tools would cost ~2,000 tokens of every tools/list.

How = Literal["elicitation", "token", "operator", "terminal", "policy"]


@dataclass(frozen=True)
class Proceed:
    """Run the call; `how` says how it was confirmed (for the audit log)."""

    how: How


@dataclass(frozen=True)
class Stop:
    """Do not run the call; hand this result back instead."""

    result: types.CallToolResult | types.InputRequiredResult
    decision: str


# The form is the same for every call: the preview is its message.
CONFIRMATION_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        CONFIRM_KEY: {
            "type": "boolean",
            "title": "Yes, do this",
            "description": "Tick to run exactly what is described above",
            "default": False,
        }
    },
    "required": [CONFIRM_KEY],
}


class Guard:
    def __init__(
        self,
        settings: Settings,
        *,
        sealer: TokenSealer,
        used: UsedStore,
        audit: AuditLog,
        reads: PreviewReads,
    ) -> None:
        self.settings = settings
        self.sealer = sealer
        self.used = used
        self.audit = audit
        self.reads = reads
        self._sessions: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._process_session = secrets.token_hex(8)

    async def check(
        self,
        ctx: ServerRequestContext[Any],
        params: types.CallToolRequestParams,
        op: Operation,
        arguments: dict[str, Any],
        token: str | None,
        policy: Policy,
    ) -> Proceed | Stop:
        """Ask the person to confirm this call (the policy said it needs a confirmation), or check their answer."""
        session = self.session_key(ctx)
        principal = principal_of(ctx)
        if token is not None:
            return await self._check_token(op, arguments, token, session, principal, policy)
        modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        if modern and params.request_state is not None and params.input_responses:
            return await self._check_answer(op, params)
        if can_elicit(ctx):
            preview = await build_preview(self.reads, op, arguments)
            message = preview.text + "\n\nConfirm to run this once, exactly as shown."
            if modern:
                state = json.dumps({"kind": "confirm", "tool": op.name, "nonce": secrets.token_urlsafe(12)})
                ask = types.ElicitRequest(
                    params=types.ElicitRequestFormParams(message=message, requested_schema=CONFIRMATION_FORM)
                )
                return Stop(types.InputRequiredResult(input_requests={CONFIRM_KEY: ask}, request_state=state), "asked")
            if ctx.session.can_send_request:
                answer = await ctx.session.elicit_form(message, CONFIRMATION_FORM, related_request_id=ctx.request_id)
                return self._judge(op, answer, preview.summary)
        if policy.require_elicitation:
            return Stop(
                refusal(
                    "Not executed: this server only runs changes that a person confirms in a prompt, and this "
                    "client cannot show one (no elicitation support). Use a client that supports elicitation.",
                    "elicitation_required",
                ),
                "refused: no elicitation",
            )
        preview = await build_preview(self.reads, op, arguments)
        token, expires_at = self.sealer.mint(tool=op.name, arguments=arguments, session=session, principal=principal)
        return Stop(confirmation_required(op, preview, token, expires_at), "token issued")

    async def _check_token(
        self, op: Operation, arguments: dict[str, Any], token: str, session: str, principal: str | None, policy: Policy
    ) -> Proceed | Stop:
        if policy.require_elicitation:
            return Stop(
                refusal("Not executed: confirmation tokens are disabled on this server.", "token_disabled"),
                "refused: tokens disabled",
            )
        try:
            verified = self.sealer.verify(
                token, tool=op.name, arguments=arguments, session=session, principal=principal
            )
        except TokenRefused as exc:
            return Stop(
                refusal(f"Not executed: {exc}. Call again without a token to get a new preview.", "token_refused"),
                f"refused: {exc}",
            )
        if not await self.used.claim("token:" + verified.nonce, self.sealer.ttl + 60):
            return Stop(
                refusal(
                    "Not executed: this confirmation token was already used. Each confirmation runs one call; "
                    "call again without a token to get a new preview.",
                    "token_used",
                ),
                "refused: token already used",
            )
        return Proceed("token")

    async def _check_answer(self, op: Operation, params: types.CallToolRequestParams) -> Proceed | Stop:
        try:
            state = json.loads(params.request_state or "")
        except ValueError:
            state = None
        answer = (params.input_responses or {}).get(CONFIRM_KEY)
        if not isinstance(state, dict) or state.get("kind") != "confirm" or state.get("tool") != op.name:
            return Stop(
                refusal("Not executed: the confirmation does not belong to this call.", "bad_state"),
                "refused: foreign state",
            )
        if not await self.used.claim("state:" + str(state.get("nonce")), self.settings.confirmation_ttl + 60):
            return Stop(
                refusal("Not executed: this confirmation was already used.", "confirmation_used"),
                "refused: confirmation already used",
            )
        if isinstance(answer, dict):
            answer = types.ElicitResult.model_validate(answer)
        if not isinstance(answer, types.ElicitResult):
            return Stop(
                refusal("Not executed: the confirmation answer was not understood.", "bad_answer"),
                "refused: bad answer",
            )
        return self._judge(op, answer, op.title)

    def _judge(self, op: Operation, answer: types.ElicitResult, what: str) -> Proceed | Stop:
        if answer.action == "accept" and (answer.content or {}).get(CONFIRM_KEY) is True:
            return Proceed("elicitation")
        if answer.action == "accept":
            return Stop(
                refusal("Not executed: the user did not tick the confirmation box.", "not_confirmed"), "not confirmed"
            )
        verb = "declined" if answer.action == "decline" else "cancelled"
        return Stop(refusal(f"Not executed: the user {verb} ({what}).", verb), verb)

    def session_key(self, ctx: ServerRequestContext[Any]) -> str:
        """Which conversation a confirmation belongs to."""
        request = ctx.request
        if request is not None:
            header = request.headers.get("mcp-session-id") if hasattr(request, "headers") else None
            return f"http:{header}" if header else "http:stateless"
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            # 2026-07-28 has no sessions; a local server process serves exactly one client.
            return self._process_session
        # 2025-era: the per-request session object wraps the connection, which lives as long as the client's.
        connection = getattr(ctx.session, "_connection", None)
        if connection is None:
            return self._process_session
        try:
            return self._sessions.setdefault(connection, secrets.token_hex(8))
        except TypeError:
            return self._process_session


def principal_of(ctx: ServerRequestContext[Any]) -> str | None:
    """The authenticated caller (HTTP bearer or OAuth), or None on local transports."""
    try:
        return authenticated_principal(ctx)
    except Exception:
        return None


def caller_name(ctx: ServerRequestContext[Any]) -> str | None:
    """A readable name of the authenticated caller, for audit lines."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    token = get_access_token()
    return token.client_id if token is not None else None


def can_elicit(ctx: ServerRequestContext[Any]) -> bool:
    caps = ctx.session.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    # A bare `elicitation: {}` (before modes existed) means form support; url-only does not.
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def refusal(text: str, reason: str) -> types.CallToolResult:
    return not_done(text, "not_executed", reason=reason, message=text)


def confirmation_required(op: Operation, preview: Preview, token: str, expires_at: float) -> types.CallToolResult:
    expires = datetime.fromtimestamp(expires_at, UTC).isoformat(timespec="seconds")
    text = (
        "CONFIRMATION REQUIRED — nothing has been done yet.\n"
        f"{preview.text}\n\n"
        "Show this preview to the user and ask whether to go ahead. Only if they agree, call "
        f"{op.name} again with exactly the same arguments plus confirmation_token. "
        f"The token works once and expires at {expires}.\n"
        f"confirmation_token: {token}"
    )
    structured = {"status": "confirmation_required", "outcome": "not_done", "preview": preview.text,
                  "confirmation_token": token, "expires_at": expires, "tool": op.name}  # fmt: skip
    return text_result(text, structured=structured)
