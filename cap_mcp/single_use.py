"""Single-use bookkeeping for confirmations: a nonce can be claimed once, by one call.

`MemoryUsedStore` serves one process; `RedisUsedStore` (SET NX with expiry) lets
several server processes share the bookkeeping, so a confirmation used on one
replica is refused on every other.
"""

from __future__ import annotations

import time
from typing import Any, Protocol


class UsedStore(Protocol):
    async def claim(self, nonce: str, ttl: float) -> bool:
        """Mark nonce used; True only for the first claim within ttl seconds."""
        ...

    async def aclose(self) -> None: ...


class MemoryUsedStore:
    def __init__(self) -> None:
        self._used: dict[str, float] = {}

    async def claim(self, nonce: str, ttl: float) -> bool:
        # No await between the check and the set: atomic under the event loop.
        now = time.monotonic()
        if len(self._used) > 10_000:
            self._used = {k: exp for k, exp in self._used.items() if exp > now}
        expiry = self._used.get(nonce)
        if expiry is not None and expiry > now:
            return False
        self._used[nonce] = now + ttl
        return True

    async def aclose(self) -> None:
        return None


class RedisUsedStore:
    def __init__(self, url: str, *, prefix: str = "cap-mcp:used:") -> None:
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(url)
        self._prefix = prefix

    async def claim(self, nonce: str, ttl: float) -> bool:
        return bool(await self._redis.set(self._prefix + nonce, "1", nx=True, ex=max(1, int(ttl) + 1)))

    async def aclose(self) -> None:
        await self._redis.aclose()

    def __repr__(self) -> str:
        return "RedisUsedStore(url=***)"


def used_store_for(url: str | None) -> UsedStore:
    if url:
        return RedisUsedStore(url)
    return MemoryUsedStore()
