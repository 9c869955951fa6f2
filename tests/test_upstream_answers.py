"""Whatever "Capillary" answers, a call ends in a true, clear tool result.

A table of answers (every relevant status, odd bodies, broken connections, huge and hostile payloads) x {a read,
a confirmed write}, each through a real MCP client against a loopback server that answers exactly that. For each:
the outcome class, exactly one write on the wire, an audit line for every write, bounded memory, and a session that
still answers the next call.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import TRANSFER_ARGS, answering
from mcp import Client
from recorder import Recorder, Reply

from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio

READ = ("customer_lookup", "GET", "/v2/customers/lookup/customerDetails")
WRITE = ("points_transfer", "POST", "/v2/points/transfer")
LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}
OK = {"data": [{"id": 1}], "warnings": [], "errors": []}
BOMB_BYTES = 512 * 1024 * 1024


def _bomb() -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    zeros = b"\0" * (4 << 20)
    return b"".join([packer.compress(zeros) for _ in range(BOMB_BYTES // len(zeros))] + [packer.flush()])


def _nested(depth: int) -> bytes:
    return b'{"data":' + b"[" * depth + b"1" + b"]" * depth + b"}"


def _raw(status_line: str, headers: dict[str, str], body: bytes) -> bytes:
    head = status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + body


@dataclass(frozen=True)
class Case:
    name: str
    reply: Reply
    read: str  # outcome class for a read
    write: str  # outcome class for a confirmed write


def _json(status: int, body: Any, **headers: str) -> Reply:
    return Reply(status, body, headers=headers)


def _bytes(status: int, body: bytes, content_type: str = "application/json", **headers: str) -> Reply:
    return Reply(status, body, headers={"Content-Type": content_type, **headers})


CASES = [
    Case("200 envelope", _json(200, OK), "done", "done"),
    Case("201 some items failed", _json(201, {"data": [{"id": 1}], "errors": [{"code": 8015, "message": "x"}]}),
         "partly_done", "partly_done"),
    Case("204 no content", _bytes(204, b""), "done", "done"),
    Case("301 redirect", _bytes(301, b"", Location="http://127.0.0.1:9/elsewhere"), "not_done", "unknown"),
    Case("302 redirect", _bytes(302, b"", Location="http://127.0.0.1:9/elsewhere"), "not_done", "unknown"),
    Case("304 not modified", _bytes(304, b""), "not_done", "unknown"),
    Case("307 redirect", _bytes(307, b"", Location="http://127.0.0.1:9/elsewhere"), "not_done", "unknown"),
    Case("400 documented rejection", _json(400, {"errors": [{"code": 8015, "message": "bad"}]}), "not_done",
         "not_done"),
    Case("401 refused", _json(401, {"errors": [{"code": 401, "message": "no"}]}), "not_done", "not_done"),
    Case("403 forbidden", _json(403, {"errors": [{"code": 403, "message": "no"}]}), "not_done", "not_done"),
    Case("404 html from a proxy", _bytes(404, b"<html>not found</html>", "text/html"), "not_done", "not_done"),
    Case("429 rate limited", _json(429, {"errors": [{"code": 429, "message": "slow down"}]}), "not_done",
         "not_done"),
    Case("461 search busy", _json(461, {"errors": [{"code": 461, "message": "busy"}]}), "not_done", "not_done"),
    Case("500 failed", _json(500, {"errors": [{"code": 500, "message": "oops"}]}), "not_done", "unknown"),
    Case("502 gateway html", _bytes(502, b"<html>bad gateway</html>", "text/html"), "not_done", "unknown"),
    Case("503 unavailable", _bytes(503, b""), "not_done", "unknown"),
    Case("504 gateway timeout", _bytes(504, b"upstream timed out", "text/plain"), "not_done", "unknown"),
    Case("521 customer busy", _json(521, {"errors": [{"code": 521, "message": "busy"}]}), "not_done",
         "not_done"),
    Case("200 html maintenance page", _bytes(200, b"<html>maintenance</html>", "text/html"), "not_done",
         "unknown"),
    Case("200 empty", _bytes(200, b""), "not_done", "unknown"),
    Case("200 null", _bytes(200, b"null"), "not_done", "unknown"),
    Case("200 bare number", _bytes(200, b"42"), "not_done", "unknown"),
    Case("200 not json", _bytes(200, b"{oops"), "not_done", "unknown"),
    Case("200 overflowing number", _bytes(200, b'{"data": {"code": 1e400}, "errors": []}'), "done", "done"),
    Case("200 NaN and Infinity", _bytes(200, b'{"data": {"a": NaN, "b": Infinity, "c": -Infinity}}'), "done",
         "done"),
    Case("200 huge integer", _bytes(200, b'{"data": {"n": ' + b"9" * 5000 + b"}}"), "done", "done"),
    Case("200 error code overflowing", _bytes(200, b'{"errors": [{"code": 1e400, "message": "odd"}]}'),
         "not_done", "not_done"),
    Case("200 nested 300 deep", _bytes(200, _nested(300)), "done", "done"),
    Case("200 nested 100000 deep", _bytes(200, _nested(100_000)), "not_done", "unknown"),
    Case("200 lone surrogate", _bytes(200, b'{"data": "truncated \\ud83d emoji", "\\udc00": 1}'), "done", "done"),
    Case("200 invalid utf-8", _bytes(200, b'{"data": "caf\xe9 \xff\xfe"}'), "done", "done"),
    Case("200 20 MB of json", _bytes(200, json.dumps({"data": ["x" * 1000] * 20_000}).encode()), "not_done",
         "unknown"),
    Case("200 gzip", _bytes(200, gzip.compress(json.dumps(OK).encode()), **{"Content-Encoding": "gzip"}), "done",
         "done"),
    Case("200 brotli (not asked for)", _bytes(200, b"\x0b\x02\x80{}\x03", **{"Content-Encoding": "br"}),
         "not_done", "unknown"),
    Case("200 slow answer", Reply(200, OK, delay=2.5), "not_done", "unknown"),
    Case("drop before answering", Reply(drop=True), "not_done", "unknown"),
    Case("drop after the headers",
         Reply(raw=_raw("HTTP/1.1 200 OK", {"Content-Type": "application/json", "Content-Length": "500"}, b"")),
         "not_done", "unknown"),
    Case("drop in the middle of the body",
         Reply(raw=_raw("HTTP/1.1 200 OK", {"Content-Type": "application/json", "Content-Length": "500"},
                        b'{"data": [1, 2, ')), "not_done", "unknown"),
    Case("garbage instead of http", Reply(raw=b"\x00\x01 not http at all\r\n\r\n"), "not_done", "unknown"),
]  # fmt: skip


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _bomb()


def _audit_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("kind", ["read", "write"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_every_answer_ends_in_a_true_result(
    make_runtime: Any, recorder: Recorder, audit_path: Path, case: Case, kind: str
) -> None:
    tool, method, path = WRITE if kind == "write" else READ
    arguments = TRANSFER_ARGS if kind == "write" else LOOKUP
    expected = case.write if kind == "write" else case.read
    recorder.on(method, path, case.reply)
    runtime = make_runtime(read_timeout=1.0, read_retries=1)
    async with Client(build_server(runtime), mode="legacy", elicitation_callback=answering("accept")) as client:
        result = await client.call_tool(tool, arguments)
        structured = result.structured_content or {}
        assert structured.get("outcome") == expected, (structured.get("outcome"), result.content[0].text[:300])
        assert result.is_error == (expected in ("not_done", "unknown"))
        text = result.content[0].text
        if expected == "unknown":
            assert "OUTCOME UNKNOWN" in text and "points_transfer_history" in text
            assert structured["verify_with"]["tool"] == "points_transfer_history"
        sent = recorder.calls(method, path)
        if kind == "write":
            assert len(sent) == 1, "a write is sent exactly once"
            [line] = [entry for entry in _audit_lines(audit_path) if entry["tool"] == tool]
            assert line["outcome"].startswith("executed:") and line["confirmed_by"] == "elicitation"
        else:
            assert 1 <= len(sent) <= 2
        # The session still answers: the next call is served normally.
        recorder.rules.clear()
        follow = await client.call_tool("customer_lookup", LOOKUP)
        assert not follow.is_error and follow.structured_content["outcome"] == "done"
    json.dumps(structured, allow_nan=False).encode("utf-8")  # what came back is valid, strict JSON


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_a_gzip_bomb_is_refused_in_bounded_memory(
    make_runtime: Any, recorder: Recorder, bomb: bytes, kind: str
) -> None:
    tool, method, path = WRITE if kind == "write" else READ
    arguments = TRANSFER_ARGS if kind == "write" else LOOKUP
    recorder.on(method, path, _bytes(200, bomb, **{"Content-Encoding": "gzip"}))
    runtime = make_runtime(read_retries=0)
    async with Client(build_server(runtime), mode="legacy", elicitation_callback=answering("accept")) as client:
        tracemalloc.start()
        try:
            result = await client.call_tool(tool, arguments)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.structured_content["outcome"] == ("unknown" if kind == "write" else "not_done")
    assert "larger than" in result.content[0].text
    limit = runtime.settings.max_answer_bytes
    assert peak < 3 * limit + 16 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB for a {BOMB_BYTES / 2**20:.0f} MiB bomb"
