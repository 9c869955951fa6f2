"""A real loopback HTTP server that records every request and answers as told — "Capillary" for tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"data": [], "warnings": [], "errors": []})
    delay: float = 0.0
    drop: bool = False  # read the request, then close the connection without answering
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # write exactly these bytes (status line included), then close


Rule = Callable[[Recorded], Reply | None]


class Recorder:
    """Start with `with Recorder() as rec:`; `rec.url` is its base URL."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.rules: list[Rule] = []
        self.token_ttl = 3600.0
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.token_delay = 0.0
        self.rejected = 0  # requests the HTTP layer refused before they could be recorded (a header too long, ...)
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms wait between them

            def log_message(self, *args: Any) -> None:
                return None

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                with recorder._lock:
                    recorder.rejected += 1
                super().send_error(code, message, explain)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                item = Recorded(
                    self.command,
                    parts.path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                reply = recorder._reply(item)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if reply.raw is not None:
                    self.close_connection = True
                    self.wfile.write(reply.raw)
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                data = json.dumps(reply.body).encode() if not isinstance(reply.body, bytes) else reply.body
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-CAP-REQUEST-ID", f"req-{len(recorder.requests)}")
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading (answer too large)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def on(self, method: str, path: str, reply: Reply | Callable[[Recorded], Reply]) -> None:
        """Answer method+path with reply (first matching rule wins; later rules are checked first)."""

        def rule(item: Recorded) -> Reply | None:
            if item.method == method and item.path == path:
                return reply(item) if callable(reply) else reply
            return None

        self.rules.insert(0, rule)

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Recorded requests other than token requests, optionally filtered."""
        return [
            r
            for r in self.requests
            if r.path != "/v3/oauth/token/generate"
            and (method is None or r.method == method)
            and (path is None or r.path == path)
        ]

    def _reply(self, item: Recorded) -> Reply:
        with self._lock:
            self.requests.append(item)
        if item.path == "/v3/oauth/token/generate":
            return self._token(item)
        token = item.header("X-CAP-API-OAUTH-TOKEN")
        if token is not None and token not in self.valid_tokens:
            return Reply(401, {"errors": [{"code": 401, "message": "Invalid or expired token"}]})
        for rule in self.rules:
            reply = rule(item)
            if reply is not None:
                return reply
        return Reply()

    def _token(self, item: Recorded) -> Reply:
        if self.token_delay:
            time.sleep(self.token_delay)
        body = item.json or {}
        if body.get("key") != "client-key" or body.get("secret") != "client-secret":
            return Reply(401, {"data": None, "errors": [{"code": 401, "message": "bad client"}]})
        with self._lock:
            self.tokens_issued += 1
            token = f"token-{self.tokens_issued}"
            self.valid_tokens.add(token)
        return Reply(200, {"data": {"accessToken": token, "ttlSeconds": self.token_ttl}, "errors": None})

    def expire_tokens(self) -> None:
        with self._lock:
            self.valid_tokens.clear()
