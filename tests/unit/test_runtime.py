"""The timeouts of long-running loops: a cancellation always gets through.

A relay or worker that is told to stop (Ctrl-C, a test's teardown, a supervisor)
is cancelled. If the cancellation lands in the same loop iteration as the result
it was waiting for, Python 3.11's `asyncio.wait_for` returns the result and drops
the cancellation, so the loop keeps running and the shutdown hangs. This was
seen once in CI, where a relay test hung for 300 s in its teardown.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from shared.infra.runtime import wait_event, within


async def _cancel_as_the_result_arrives(
    waiting: asyncio.Task[int], fut: asyncio.Future[int]
) -> None:
    await asyncio.sleep(0)  # the task is now suspended on its wait
    fut.set_result(7)
    waiting.cancel()


async def test_within_lets_a_cancellation_through_that_arrives_with_the_result() -> None:
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(within(10, fut))
    await _cancel_as_the_result_arrives(task, fut)
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for is built on timeout from 3.12")
async def test_wait_for_of_python_3_11_drops_that_cancellation() -> None:
    """Why `within` exists: the same race with `asyncio.wait_for` loses the cancel."""
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(asyncio.wait_for(fut, 10))
    await _cancel_as_the_result_arrives(task, fut)
    assert await task == 7  # the cancellation was swallowed


async def test_within_raises_timeout_error_when_time_runs_out() -> None:
    with pytest.raises(TimeoutError):
        await within(0.01, asyncio.sleep(5))


async def test_within_returns_the_result_in_time() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert await within(5, answer()) == 42


async def test_wait_event_tells_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    asyncio.get_running_loop().call_soon(event.set)
    assert await wait_event(event, 5) is True


async def test_wait_event_lets_a_cancellation_through_as_the_event_is_set() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(wait_event(event, 10))
    await asyncio.sleep(0)
    event.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
