"""Revoked tokens: the `revoked_tokens` table (by `jti`) and a per-process cache of it.

A request must not pay a database round trip to learn that its token is not
revoked. `RevokedTokens` keeps the set of revoked ids in memory; the first check
loads it (and waits), later checks answer from memory, and once the set is older
than `refresh_seconds` (TALLY_TOKEN_REVOCATION_REFRESH_SECONDS, 5 s by default)
a check starts one reload in the background and answers from the set it has. A
revocation is therefore honoured by every process within about `refresh_seconds`
plus one reload. A reload that fails (the database is down) keeps the set it had
and is tried again after `refresh_seconds`; a first load that fails is an error
(the request is answered 503 by `Guard`), never an open door.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

DEFAULT_REFRESH_SECONDS = 5.0


class RevokedTokens:
    """The revoked token ids as this process knows them (see the module)."""

    def __init__(
        self,
        engine: Callable[[], AsyncEngine],
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine  # a callable: the app's engine exists once its lifespan runs
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._ids: frozenset[str] | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        self._reload: asyncio.Task[None] | None = None

    async def contains(self, token_id: str) -> bool:
        if self._ids is None:
            async with self._lock:
                if self._ids is None:
                    await self._load()
        elif self._clock() - self._loaded_at >= self.refresh_seconds and (
            self._reload is None or self._reload.done()
        ):
            self._reload = asyncio.create_task(self._reload_quietly(), name="revoked-tokens")
        assert self._ids is not None
        return token_id in self._ids

    async def _load(self) -> None:
        async with self._engine().connect() as conn:
            rows = await conn.execute(text("SELECT jti FROM revoked_tokens"))
            ids = frozenset(row[0] for row in rows)
        self._ids, self._loaded_at = ids, self._clock()

    async def _reload_quietly(self) -> None:
        try:
            await self._load()
        except Exception as exc:
            self._loaded_at = self._clock()  # try again after refresh_seconds
            log.warning(
                "could not reload the revoked tokens (%s); keeping the %d known",
                type(exc).__name__,
                len(self._ids or ()),
            )

    async def aclose(self) -> None:
        if self._reload is not None:
            self._reload.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reload


async def revoke(engine: AsyncEngine, token_id: str, reason: str | None = None) -> bool:
    """Record `token_id` as revoked; False when it already was."""
    async with engine.begin() as conn:
        result = await conn.execute(
            text(
                "INSERT INTO revoked_tokens (jti, reason) VALUES (:jti, :reason)"
                " ON CONFLICT (jti) DO NOTHING"
            ),
            {"jti": token_id, "reason": reason},
        )
    return bool(result.rowcount)
