"""The NLU stream broker: Rasa builds it from endpoints.yml only when NLU_STREAM_URL is set; it streams the readings
of the portal's customer messages and nothing else; a turn never waits for Redis, and a Redis that is down costs
dropped entries, counted and logged, never an error."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import redis
from brokers.nlu_stream import NluStreamBroker
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.utils.endpoints import read_endpoint_config

BOT = Path(__file__).resolve().parents[2] / "bot"

PARSE_DATA = {
    "text": "my card ****4242 was stolen",
    "intent": {"name": "report_fraud", "confidence": 0.91},
    "intent_ranking": [
        {"name": "report_fraud", "confidence": 0.91},
        {"name": "block_card", "confidence": 0.06},
    ],
    "entities": [
        {"entity": "card_last_four", "value": "4242", "start": 12, "end": 16, "extractor": "RegexEntityExtractor"}
    ],
}


def user_event(message_id: Any = 42, text: str = "my card ****4242 was stolen") -> Dict[str, Any]:
    """A user event as Rasa's tracker store publishes it: Event.as_dict() plus the sender id."""
    event = UserUttered(
        text,
        intent=PARSE_DATA["intent"],
        parse_data=PARSE_DATA,
        metadata={"switchboard_message_id": message_id, "model_id": "c0ffee"} if message_id else {},
        timestamp=1764755000.5,
    )
    return {"sender_id": "8b0e5c5e-1f7a-4a0e-9d36-6f2b7cbb7d11", **event.as_dict()}


class FakeRedis:
    """Records XADDs made through pipelines; `fail` makes the next writes raise as a Redis that is down."""

    def __init__(self) -> None:
        self.added: List[tuple] = []
        self.round_trips = 0
        self.fail = False
        self.release = threading.Event()
        self.release.set()

    def pipeline(self, transaction: bool = True) -> "FakePipeline":
        assert transaction is False
        return FakePipeline(self)


class FakePipeline:
    def __init__(self, server: FakeRedis) -> None:
        self.server = server
        self.commands: List[tuple] = []

    def xadd(self, key: str, fields: Dict[str, str], maxlen: int, approximate: bool) -> None:
        self.commands.append((key, fields, maxlen, approximate))

    def execute(self) -> None:
        self.server.release.wait()
        if self.server.fail:
            raise redis.ConnectionError("Connection refused")
        self.server.round_trips += 1
        self.server.added.extend(self.commands)


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def fake() -> FakeRedis:
    return FakeRedis()


@pytest.fixture
def broker(fake: FakeRedis) -> Any:
    broker = NluStreamBroker(fake, "test:nlu", maxlen=500, queue_size=5, sleep=lambda seconds: None)
    yield broker
    fake.release.set()
    asyncio.run(broker.close())


def load_from_endpoints(name: str) -> Any:
    config = read_endpoint_config(str(BOT / name), "event_broker")
    return asyncio.run(EventBroker.create(config))


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "endpoints.production.yml"])
def test_rasa_builds_it_from_the_endpoints_file_only_when_the_url_is_set(
    endpoints: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ACTION_SERVER_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_LOCK_DB", "REDIS_TRACKER_DB"):
        monkeypatch.setenv(name, "x")
    monkeypatch.delenv("NLU_STREAM_URL", raising=False)
    assert load_from_endpoints(endpoints) is None
    monkeypatch.setenv("NLU_STREAM_URL", "")
    assert load_from_endpoints(endpoints) is None

    monkeypatch.setenv("NLU_STREAM_URL", "redis://:secret@127.0.0.1:1/5")
    monkeypatch.setenv("NLU_STREAM_KEY", "bank-a:nlu")
    broker = load_from_endpoints(endpoints)
    try:
        assert isinstance(broker, NluStreamBroker) and broker.is_ready()
        assert broker._key == "bank-a:nlu"
        assert broker._client.connection_pool.connection_kwargs["db"] == 5
        # A model swap builds a new agent from the endpoints: it gets the same broker, not a second thread.
        assert load_from_endpoints(endpoints) is broker
    finally:
        asyncio.run(broker.close())
    assert not broker.is_ready()
    reopened = load_from_endpoints(endpoints)  # closed (Rasa stopped and started in one process): a new one
    assert reopened is not broker and reopened.is_ready()
    asyncio.run(reopened.close())


def test_a_customer_messages_reading_is_streamed(broker: NluStreamBroker, fake: FakeRedis) -> None:
    broker.publish(user_event())
    wait_until(lambda: fake.added)
    ((key, fields, maxlen, approximate),) = fake.added
    assert (key, maxlen, approximate, fields["v"]) == ("test:nlu", 500, True, "1")
    assert json.loads(fields["reading"]) == {
        "message_id": 42,
        "conversation_id": "8b0e5c5e-1f7a-4a0e-9d36-6f2b7cbb7d11",
        "text": "my card ****4242 was stolen",
        "intent": "report_fraud",
        "confidence": 0.91,
        "ranking": [{"name": "report_fraud", "confidence": 0.91}, {"name": "block_card", "confidence": 0.06}],
        "entities": [{"entity": "card_last_four", "value": "4242", "start": 12, "end": 16}],
        "model_id": "c0ffee",
        "timestamp": 1764755000.5,
    }


def test_only_the_portals_classified_messages_are_streamed(broker: NluStreamBroker, fake: FakeRedis) -> None:
    broker.publish({"sender_id": "c", **ActionExecuted("action_listen").as_dict()})
    broker.publish({"sender_id": "c", **BotUttered("Hello").as_dict()})
    broker.publish(user_event(message_id=None))  # not sent by the portal (e.g. `rasa shell`): nothing to link
    broker.publish(user_event(text="/affirm"))  # a button's command: no classifier read it
    broker.publish(user_event(message_id=7))
    wait_until(lambda: fake.added)
    time.sleep(0.1)
    assert [json.loads(fields["reading"])["message_id"] for _, fields, _, _ in fake.added] == [7]


def test_what_queued_while_redis_was_busy_goes_in_one_round_trip(broker: NluStreamBroker, fake: FakeRedis) -> None:
    fake.release.clear()
    broker.publish(user_event(message_id=1))
    wait_until(lambda: broker._queue.empty())  # the thread holds it, waiting on Redis
    for message_id in (2, 3, 4):
        broker.publish(user_event(message_id=message_id))
    fake.release.set()
    wait_until(lambda: len(fake.added) == 4)
    assert fake.round_trips == 2


def test_a_turn_never_waits_for_a_redis_that_hangs_over_the_bound_it_drops(
    broker: NluStreamBroker, fake: FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    fake.release.clear()  # Redis hangs
    broker.publish(user_event(message_id=1))
    wait_until(lambda: broker._queue.empty())
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="brokers.nlu_stream"):
        for message_id in range(2, 12):  # 10 more: 5 fit the queue
            broker.publish(user_event(message_id=message_id))
    assert time.monotonic() - started < 0.5
    assert broker.dropped == 5
    # Logged once for the outage, not once per entry.
    assert [r.getMessage() for r in caplog.records] == ["NLU stream: 1 entries dropped (1 in all): the queue is full"]
    fake.release.set()
    wait_until(lambda: len(fake.added) == 6)
    assert [json.loads(f["reading"])["message_id"] for _, f, _, _ in fake.added] == [1, 2, 3, 4, 5, 6]


def test_a_redis_that_is_down_costs_entries_never_an_error_and_writing_resumes(
    broker: NluStreamBroker, fake: FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail = True
    with caplog.at_level(logging.INFO, logger="brokers.nlu_stream"):
        broker.publish(user_event(message_id=1))
        wait_until(lambda: broker.dropped == 1)
        fake.fail = False
        broker.publish(user_event(message_id=2))
        wait_until(lambda: fake.added)
    assert [json.loads(f["reading"])["message_id"] for _, f, _, _ in fake.added] == [2]
    assert broker.is_ready()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("NLU stream: 1 entries dropped (1 in all): Redis failed: Connection refused")
    assert messages[-1] == "NLU stream: writing again (1 entries dropped so far)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_with_a_real_client_and_no_redis_listening_publish_returns_at_once_and_close_too() -> None:
    client = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)
    broker = NluStreamBroker(client, "test:nlu", queue_size=100)
    started = time.monotonic()
    for message_id in range(1, 51):
        broker.publish(user_event(message_id=message_id))
    assert time.monotonic() - started < 0.2
    wait_until(lambda: broker.dropped >= 1)
    started = time.monotonic()
    asyncio.run(broker.close())
    assert time.monotonic() - started < 3
