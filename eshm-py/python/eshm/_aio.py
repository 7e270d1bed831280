"""The coroutines behind eshm's awaited methods (``Subscriber.recv_async``, ``stream``,
``ESHM.read_async``/``write_async``, ``ServiceClient.call_async``,
``ActionClient.wait_for_result_async``/``next_feedback_async``).

Each is a loop of *attempts* (in Rust, ``eshm/src/aio``): an attempt does the operation if
it can (after spinning a few µs without the GIL) and returns its result, or registers the
future it is given with the process's waiter thread and returns that future, which the
coroutine awaits. The waiter thread resolves it when the writer's next commit wakes the
registration (or after at most 200 ms, or 10 ms for a poll); the coroutine then makes
another attempt. Nothing is taken on a task's behalf while it waits, so a task cancelled (or
timed out) while it waits leaves every message for the next receive, and its registration
is withdrawn. Timeouts use the event loop's timers, and raise ``eshm.TimeoutError`` (a
``TimeoutError``).
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import AsyncIterator, Callable
from typing import Any

from . import _eshm


def _wake(futures: list[asyncio.Future[None]]) -> None:
    """Resolves the futures still pending (run on their loop by the waiter thread)."""
    for future in futures:
        if not future.done():
            future.set_result(None)


async def _attempts(attempt: Callable[..., Any], *args: Any) -> Any:
    """Calls ``attempt(*args, future)`` with a new future until it returns something else."""
    loop = asyncio.get_running_loop()
    while True:
        future = loop.create_future()
        got = attempt(*args, future)
        if got is not future:
            return got
        try:
            await future
        except BaseException:
            # Cancelled (or timed out): nothing was taken; withdraw the registration.
            _eshm._aio_cancel(future)
            raise


async def _within(what: str, timeout: float | None, awaitable: Any) -> Any:
    """Awaits ``awaitable``, for at most ``timeout`` seconds (forever if ``None``)."""
    if timeout is None:
        return await awaitable
    try:
        async with asyncio.timeout(timeout):
            return await awaitable
    except TimeoutError as e:
        if isinstance(e, _eshm.Error):
            raise
        raise _eshm.TimeoutError(f"{what} timed out") from None


def recv(sub: Any, timeout: float | None) -> Any:
    return _within("Subscriber.recv_async", timeout, _attempts(_eshm._aio_recv, sub))


async def stream(sub: Any) -> AsyncIterator[Any]:
    while not sub.closed:
        try:
            value = await _attempts(_eshm._aio_recv, sub)
        except _eshm.ClosedError:
            return
        yield value


async def read(ch: Any, buffer_size: int, timeout_ms: int) -> bytes:
    if timeout_ms == 0:
        got = ch.try_read(buffer_size)
        if got is None:
            raise _eshm.NoDataError("ESHM.read_async: no data available")
        return got  # type: ignore[no-any-return]
    return await _within(  # type: ignore[no-any-return]
        "ESHM.read_async", timeout_ms / 1000, _attempts(_eshm._aio_read, ch, buffer_size)
    )


async def write(ch: Any, data: Any, timeout_ms: int) -> None:
    await _within("ESHM.write_async", timeout_ms / 1000, _attempts(_eshm._aio_write, ch, data))


# How often a call that finds every entry of its client taken looks again (an entry frees when
# another task takes its answer, or gives its call up).
_ROOM_POLL = 0.001


async def _call(client: Any, request: Any) -> Any:
    while True:
        try:
            ticket = await _attempts(_eshm._aio_send, client, request)
            break
        except _eshm.TooManyCallsError:
            # As many calls of this client in flight as its server allows (their answers not
            # yet taken): wait for one of them to end, rather than fail as `call` does.
            await asyncio.sleep(_ROOM_POLL)
    try:
        return await _attempts(_eshm._aio_response, client, ticket)
    except BaseException:
        # Cancelled, timed out or failed: the call is given up, so that its answer (discarded
        # when it comes) does not keep its entry among the client's calls in flight.
        _eshm._aio_abandon(client, ticket)
        raise


def call(client: Any, request: Any, timeout: float | None) -> Any:
    return _within("ServiceClient.call_async", timeout, _call(client, request))


def goal_result(client: Any, goal_id: int, timeout: float | None) -> Any:
    return _within("ActionClient.wait_for_result_async", timeout, _attempts(_eshm._aio_goal_result, client, goal_id))


def goal_feedback(client: Any, goal_id: int, timeout: float | None) -> Any:
    return _within("ActionClient.next_feedback_async", timeout, _attempts(_eshm._aio_goal_feedback, client, goal_id))


# Waiter threads must not take the GIL once the interpreter is finalizing.
atexit.register(_eshm._aio_shutdown)
