"""The portal's end of the NLU stream (contracts/nlu_stream.py): the bot's readings, read from Redis with a
consumer group, parsed and checked.

Each entry is delivered to the group once and stays pending until acknowledged; the ingest acknowledges (and
deletes) entries only once their records are committed, so a worker that dies in between leaves them pending, and the next ingest
claims them after `NLU_INGEST_RECLAIM_SECONDS` (XAUTOCLAIM). Storing is idempotent (one record per message), so
an entry read twice is stored once.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.nlu_stream import STREAM_VERSION

logger = logging.getLogger(__name__)


class RankedIntent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    confidence: float


class Entity(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    entity: str
    value: Any
    start: int | None = None
    end: int | None = None


class NluReading(BaseModel):
    """One entry's reading, as contracts/nlu_stream.py builds it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: int
    conversation_id: uuid.UUID
    text: str
    intent: str
    confidence: float
    ranking: list[RankedIntent] = Field(max_length=100)
    entities: list[Entity] = Field(max_length=100)
    model_id: str = Field(default="", max_length=64)
    timestamp: float | None = None

    @property
    def classified_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.timestamp, UTC) if self.timestamp is not None else None


@dataclass(frozen=True)
class StreamEntry:
    entry_id: str
    reading: NluReading | None  # None: not one this portal can read (logged): acknowledged all the same


def parse_entry(entry_id: str, fields: dict[str, str]) -> StreamEntry:
    try:
        if fields.get("v") != str(STREAM_VERSION):
            raise ValueError(f"version {fields.get('v')!r}, not {STREAM_VERSION}")
        reading = NluReading.model_validate(json.loads(fields["reading"]))
    except (KeyError, ValueError, ValidationError) as exc:  # ValidationError is a ValueError; named for the reader
        logger.warning("NLU stream entry %s skipped: %s", entry_id, exc)
        return StreamEntry(entry_id, None)
    return StreamEntry(entry_id, reading)


class NluStream:
    """The stream `key` on `client`, read as `consumer` of the group `group`."""

    def __init__(self, client: redis.Redis, key: str, group: str, consumer: str) -> None:
        self._client, self._key, self._group, self._consumer = client, key, group, consumer

    def ensure_group(self) -> None:
        """The group, made if missing, from the stream's start: what the bot wrote before the portal first read
        is read too."""
        try:
            self._client.xgroup_create(self._key, self._group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def claim_stale(self, count: int, idle_seconds: int) -> list[StreamEntry]:
        """Entries another consumer read and did not acknowledge for `idle_seconds`: now this consumer's."""
        reply: Any = self._client.xautoclaim(
            self._key, self._group, self._consumer, min_idle_time=idle_seconds * 1000, start_id="0-0", count=count
        )
        return self._parsed(reply[1])

    def read_new(self, count: int) -> list[StreamEntry]:
        reply: Any = self._client.xreadgroup(self._group, self._consumer, {self._key: ">"}, count=count)
        return self._parsed(reply[0][1]) if reply else []

    def ack(self, entry_ids: list[str]) -> None:
        """Done with these entries: acknowledged, and deleted, so the stream holds a reading (masked, but a
        customer's words) only until the portal has it: an erasure then has nothing left to find in Redis."""
        if entry_ids:
            pipeline = self._client.pipeline(transaction=True)
            pipeline.xack(self._key, self._group, *entry_ids)
            pipeline.xdel(self._key, *entry_ids)
            pipeline.execute()

    @staticmethod
    def _parsed(entries: list[Any]) -> list[StreamEntry]:
        # An entry trimmed from the stream (MAXLEN) while pending comes back from XAUTOCLAIM without its fields
        # (Redis 7 also drops it from the pending list; 6.2 gives not even its id): nothing left to store.
        return [parse_entry(entry_id, fields) for entry_id, fields in entries if entry_id is not None and fields]


def get_stream(consumer: str) -> NluStream | None:
    """The stream named by settings (NLU_STREAM_URL, NLU_STREAM_KEY, NLU_STREAM_GROUP); None when it is off."""
    if not settings.NLU_STREAM_URL:
        return None
    return NluStream(_client(settings.NLU_STREAM_URL), settings.NLU_STREAM_KEY, settings.NLU_STREAM_GROUP, consumer)


@functools.cache
def _client(url: str) -> redis.Redis:
    # One connection pool per process and URL; short timeouts, so a Redis that hangs fails the run, not the worker.
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
