"""The sockets' database work: on Channels' database thread, with the events it commits sent from the event loop.

Every `database_sync_to_async` call of a process runs on one thread that all its sockets share. A call made through
`database_call` holds the events that commit in it (conversations/events.py, `held`) and the socket sends them once
the call returns, in order and before it reads its next frame, so that thread is not held for the sends' round trips
to Redis. The events still go out only after commit; if the call fails after a commit, what committed is sent and
the error raised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from channels.db import database_sync_to_async

from conversations import events

_P = ParamSpec("_P")
_R = TypeVar("_R")


def database_call(func: Callable[_P, _R]) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """`func` as a coroutine run on the database thread; the events it committed are sent when it returns."""

    def holding_events(
        *args: _P.args, **kwargs: _P.kwargs
    ) -> tuple[_R | None, BaseException | None, events.HeldEvents]:
        with events.held() as committed:
            try:
                return func(*args, **kwargs), None, committed
            except Exception as exc:  # raised in the caller once what committed before it is sent
                return None, exc, committed

    in_database_thread = database_sync_to_async(holding_events)

    @functools.wraps(func)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        result, error, committed = await in_database_thread(*args, **kwargs)
        await events.send_held(committed)
        if error is not None:
            raise error
        return result  # type: ignore[return-value]  # None only with an error

    return call
