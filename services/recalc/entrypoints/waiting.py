"""Waiting for the log or a projection to reach a position (`min_position`, `as_of`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from shared.infra.http import ApiError

# Polls come quickly at first (a write is usually applied within milliseconds), then
# ever less often, so that many clients waiting on a projection that is far behind do
# not load the database it is catching up in.
POLL_FIRST_SECONDS = 0.01
POLL_MAX_SECONDS = 0.25


async def poll_until(
    reached: Callable[[], Awaitable[bool]], wait_ms: int, not_yet: Callable[[], ApiError]
) -> None:
    """Return once `reached()` is true; raise `not_yet()` after `wait_ms`.
    `reached` takes its own connection, so none is held across the pauses."""
    deadline = time.monotonic() + wait_ms / 1000
    pause = POLL_FIRST_SECONDS
    while not await reached():
        if time.monotonic() >= deadline:
            raise not_yet()
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, POLL_MAX_SECONDS)
