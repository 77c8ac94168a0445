"""How many times a customer failed to confirm their card, counted per customer (the bank's verified id) in a
store that outlives a conversation, a Rasa restart and an action-server restart: the stack's Redis
(SWITCHBOARD_ACTIONS_REDIS_URL, set by `./switchboard run` and the compose file). So a new conversation, or a
restart, never gives a guesser fresh tries. A count expires after the bank's window (bank_policy.yml).

Without a URL (the bot's unit tests, an action server run by hand) the counts are kept in memory and lost on
restart, which is said once in the log. redis-py is Rasa's own dependency (its lock and tracker stores).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from functools import lru_cache
from typing import Protocol

import redis

logger = logging.getLogger(__name__)

REDIS_URL_SETTING = "SWITCHBOARD_ACTIONS_REDIS_URL"
TIMEOUT_SECONDS = 2.0


class AttemptsUnavailable(RuntimeError):
    """The count could not be read or written: the action must not let the customer guess on regardless."""


class AttemptStore(Protocol):
    def count(self, key: str) -> int: ...

    def add(self, key: str, window_seconds: int) -> int:
        """One more failed attempt; the count now. The window starts at the first attempt."""

    def clear(self, key: str) -> None: ...


class RedisAttempts:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis, self._prefix = client, prefix

    def count(self, key: str) -> int:
        try:
            return int(self._redis.get(self._prefix + key) or 0)
        except redis.RedisError as exc:
            raise AttemptsUnavailable(str(exc)) from exc

    def add(self, key: str, window_seconds: int) -> int:
        name = self._prefix + key
        try:
            # MULTI: the window opens with the first attempt (SET NX EX) and INCR keeps its expiry, in one
            # step (so no count is ever left without one), on any Redis version.
            pipe = self._redis.pipeline()
            pipe.set(name, 0, ex=window_seconds, nx=True)
            pipe.incr(name)
            _, count = pipe.execute()
        except redis.RedisError as exc:
            raise AttemptsUnavailable(str(exc)) from exc
        return int(count)

    def clear(self, key: str) -> None:
        try:
            self._redis.delete(self._prefix + key)
        except redis.RedisError as exc:
            raise AttemptsUnavailable(str(exc)) from exc


class MemoryAttempts:
    """The fallback for one process: counts die with it."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key → (count, expires at)
        self._lock = threading.Lock()

    def count(self, key: str) -> int:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            return count if expires > time.monotonic() else 0

    def add(self, key: str, window_seconds: int) -> int:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            if expires <= time.monotonic():
                count, expires = 0, time.monotonic() + window_seconds
            self._counts[key] = (count + 1, expires)
            return count + 1

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


@lru_cache(maxsize=1)
def attempt_store() -> AttemptStore:
    """The store named by the environment, made on first use (no I/O at import)."""
    url = os.environ.get(REDIS_URL_SETTING)
    if not url:
        logger.warning("%s is not set: card verification attempts are kept in memory only", REDIS_URL_SETTING)
        return MemoryAttempts()
    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)
    instance = os.environ.get("SWITCHBOARD_INSTANCE") or "switchboard"
    return RedisAttempts(client, prefix=f"{instance}:card-verification:")
