"""Rasa's event broker of the bot's readings: every customer message's intent, ranking and entities, to a Redis
stream the portal reads (contracts/nlu_stream.py has the entry; docs/tuning.md, "NLU records").

Rasa calls `publish` in its event loop, for each new event of a turn, once the turn is saved. So `publish` only
builds the entry and puts it on a bounded in-memory queue; a thread of its own XADDs what is queued, many entries
to one round trip. A turn never waits for Redis: when Redis is slow or down the queue fills and further entries are
dropped, counted and logged (once per outage, then every `LOG_EVERY` drops), and the thread tries again after a
pause. The stream is capped (`XADD … MAXLEN ~`): a portal that stops reading costs Redis a bounded amount.

Configured in endpoints.yml (`event_broker: type: brokers.nlu_stream.NluStreamBroker`), its Redis from the
environment, `NLU_STREAM_URL` and `NLU_STREAM_KEY`, read here rather than as `${VAR}` in the YAML because Rasa
refuses a file naming an unset variable, and unset must mean off: no URL, no broker.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from asyncio import AbstractEventLoop
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

import redis
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from contracts.nlu_stream import DEFAULT_KEY, KEY_VARIABLE, URL_VARIABLE, nlu_entry

logger = logging.getLogger(__name__)

QUEUE_SIZE = 10_000  # entries waiting for Redis: about a minute of turns at full load, some MB at most
MAXLEN = 100_000  # entries the stream keeps (approximately): days of turns, should the portal stop reading
BATCH = 200  # entries at most in one round trip
RETRY_SECONDS = 1.0  # the pause after a failed write, doubling up to MAX_RETRY_SECONDS while Redis stays down
MAX_RETRY_SECONDS = 30.0
TIMEOUT_SECONDS = 2.0  # connect and read, so a Redis that hangs cannot hold the thread for long
POLL_SECONDS = 0.5  # how often an idle thread looks whether the broker was closed
CLOSE_SECONDS = 2.0  # how long `close` lets the thread write what is queued when Rasa stops
LOG_EVERY = 1_000

Entry = Dict[str, str]

_PROCESS_BROKERS: Dict[Tuple[str, str], "NluStreamBroker"] = {}  # (url, key) -> the broker writing there


class NluStreamBroker(EventBroker):
    def __init__(
        self,
        client: Any,
        key: Text,
        *,
        maxlen: int = MAXLEN,
        queue_size: int = QUEUE_SIZE,
        sleep: Optional[Callable[[float], Any]] = None,
    ) -> None:
        """`client`: a redis.Redis (a fake in unit tests); `sleep`: the pause after a failed write (by default
        a wait that `close` cuts short)."""
        self._client = client
        self._key = key
        self._maxlen = maxlen
        self._queue: "queue.Queue[Entry]" = queue.Queue(maxsize=queue_size)
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._drops = threading.Lock()  # publish (Rasa's loop) and the thread both drop
        self.dropped = 0
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="nlu-stream", daemon=True)
        self._thread.start()

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Optional[AbstractEventLoop] = None
    ) -> Optional["NluStreamBroker"]:
        """The process's broker, made on first use. Rasa builds a new agent, and asks for a new broker, at each
        model swap (PUT /model: a deploy or rollback) and never closes the old one: one broker, one thread and
        one connection pool serve every agent of the process instead."""
        url = os.environ.get(URL_VARIABLE, "").strip()
        if not url:
            logger.info("NLU stream off: %s is not set", URL_VARIABLE)
            return None
        key = os.environ.get(KEY_VARIABLE, "").strip() or DEFAULT_KEY
        options = broker_config.kwargs if broker_config else {}
        shared = _PROCESS_BROKERS.get((url, key))
        if shared is not None and shared.is_ready():
            return shared
        client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS, health_check_interval=30
        )
        logger.info("NLU stream on: stream %r", key)
        broker = _PROCESS_BROKERS[(url, key)] = cls(
            client,
            key,
            maxlen=int(options.get("maxlen", MAXLEN)),
            queue_size=int(options.get("queue_size", QUEUE_SIZE)),
        )
        return broker

    def publish(self, event: Dict[Text, Any]) -> None:
        entry = nlu_entry(event)
        if entry is None:
            return
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self._drop(1, "the queue is full")

    def is_ready(self) -> bool:
        return self._thread.is_alive() and not self._stopping.is_set()

    async def close(self) -> None:
        """Let the thread write what is queued, for a moment, then stop it (a daemon: it never holds up Rasa's
        exit). A short join in Rasa's loop as it shuts down, which has nothing else to do by then."""
        self._stopping.set()
        self._thread.join(CLOSE_SECONDS)

    def _run(self) -> None:
        pause = RETRY_SECONDS
        while not (self._stopping.is_set() and self._queue.empty()):
            batch = self._take()
            if not batch:
                continue
            try:
                self._write(batch)
            except redis.RedisError as exc:
                self._drop(len(batch), f"Redis failed: {exc}")
                if self._stopping.is_set():
                    return
                self._sleep(pause)
                pause = min(pause * 2, MAX_RETRY_SECONDS)
            else:
                with self._drops:
                    recovered, self._failing = self._failing, False
                if recovered:
                    logger.info("NLU stream: writing again (%d entries dropped so far)", self.dropped)
                pause = RETRY_SECONDS

    def _take(self) -> List[Entry]:
        """What is queued, up to BATCH entries, waiting a moment for the first (so a close is noticed)."""
        try:
            batch = [self._queue.get(timeout=POLL_SECONDS)]
        except queue.Empty:
            return []
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: List[Entry]) -> None:
        pipeline = self._client.pipeline(transaction=False)
        for entry in batch:
            pipeline.xadd(self._key, entry, maxlen=self._maxlen, approximate=True)
        pipeline.execute()

    def _drop(self, count: int, why: str) -> None:
        with self._drops:
            before = self.dropped
            self.dropped += count
            first, self._failing = not self._failing, True
        if first or before // LOG_EVERY != self.dropped // LOG_EVERY:
            logger.warning("NLU stream: %d entries dropped (%d in all): %s", count, self.dropped, why)
