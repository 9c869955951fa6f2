"""Reading Capillary's answers safely: any bytes, any size, any depth, any number.

Whatever comes back ends as a value that can be put in a tool result and written
to any MCP transport: the body is read up to a limit (counted after
decompression, which is done here in bounded steps, so a gzip bomb costs at most
the limit); text is decoded as UTF-8 with replacement; JSON numbers that are not
finite or too long to be numbers stay as their literal text; lone surrogates
become U+FFFD; structures nested deeper than `MAX_DEPTH` are cut with a marker.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import httpx

MAX_DEPTH = 40
_CUT = "[nested deeper than {depth} levels; omitted]"
_LONG_INT = 100  # digits: beyond this a JSON integer is kept as text, never a Python int
_SURROGATE = re.compile(r"[\ud800-\udfff]")

Kind = Literal["json", "scalar", "empty", "text"]


class AnswerTooLarge(Exception):
    """The answer is longer (after decompression) than the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than {limit:,} bytes")
        self.limit = limit


class UnreadableEncoding(Exception):
    """The answer uses a content coding cap-mcp cannot decode (it only asks for gzip or deflate)."""


@dataclass(frozen=True)
class Answer:
    """A parsed answer: `kind` says whether it was a JSON object/array, a bare JSON scalar, nothing, or not JSON."""

    payload: Any
    kind: Kind


async def read_body(response: httpx.Response, limit: int) -> bytes:
    """The decoded body of a streamed response, refusing to hold more than `limit` bytes of it."""
    decoder = _decoder(response.headers.get("content-encoding", ""))
    chunks: list[bytes] = []
    size = 0

    def take(pieces: list[bytes]) -> None:
        nonlocal size
        for piece in pieces:
            size += len(piece)
            if size > limit:
                raise AnswerTooLarge(limit)
            chunks.append(piece)

    async for raw in response.aiter_raw():
        take(decoder.feed(raw, limit - size + 1))
    take(decoder.feed(b"", limit - size + 1, final=True))
    return b"".join(chunks)


class _Identity:
    def feed(self, data: bytes, room: int, *, final: bool = False) -> list[bytes]:
        return [data] if data else []


class _Inflater:
    """zlib decompression in steps of at most `room` bytes, so the caller counts before memory grows."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._z = zlib.decompressobj(wbits=15 if coding == "deflate" else 31)
        self._may_be_raw = coding == "deflate"

    def feed(self, data: bytes, room: int, *, final: bool = False) -> list[bytes]:
        out: list[bytes] = []
        try:
            pending = data
            while True:
                piece = self._z.decompress(pending, max(room, 1))
                if piece:
                    out.append(piece)
                    room -= len(piece)
                    self._may_be_raw = False
                pending = self._z.unconsumed_tail
                if not pending or room <= 0:
                    break
            if final and room > 0:
                out.append(self._z.flush(room))
        except zlib.error:
            if self._may_be_raw:
                # Some servers send raw DEFLATE (no zlib header) for "deflate".
                self._may_be_raw = False
                self._z = zlib.decompressobj(wbits=-15)
                return self.feed(data, room, final=final)
            raise UnreadableEncoding(f"corrupt {self._coding} data") from None
        return [piece for piece in out if piece]


def _decoder(encoding: str) -> _Identity | _Inflater:
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
    if not codings:
        return _Identity()
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise UnreadableEncoding(f"content coding {encoding!r}")
    return _Inflater(codings[0])


def parse_body(body: bytes) -> Answer:
    """Parse an answer body into something JSON-safe; never raises."""
    if not body.strip():
        return Answer(None, "empty")
    text = body.decode("utf-8", errors="replace")
    try:
        value = json.loads(text, parse_constant=str, parse_float=_float, parse_int=_int)
    except (ValueError, RecursionError):
        return Answer(_clean_text(text[:2000]), "text")
    clean = clean_value(value)
    return Answer(clean, "json" if isinstance(clean, dict | list) else "scalar")


def _float(literal: str) -> float | str:
    value = float(literal)
    return value if math.isfinite(value) else literal


def _int(literal: str) -> int | str:
    return int(literal) if len(literal) <= _LONG_INT else literal


def clean_value(value: Any, depth: int = 0) -> Any:
    """A copy of a parsed JSON value that every MCP transport can carry."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= MAX_DEPTH:
        return _CUT.format(depth=MAX_DEPTH)
    if isinstance(value, dict):
        return {_clean_text(str(k)): clean_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(item, depth + 1) for item in value]
    return _clean_text(str(value))


def _clean_text(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
