"""The bot's tracker-erasure route deletes every session of one conversation from the tracker store (in memory,
SQL, development's process-wide store; Redis is checked on a real Rasa, docs/privacy.md), through Rasa's wrappers, and only with the API's token."""

from __future__ import annotations

import asyncio

import pytest
from channels.tracker_erasure import TrackerErasureInput, UnsupportedTrackerStore, erase_tracker, token_accepted
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Restarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from tracker_stores import ProcessTrackerStore


def saved(store: TrackerStore, sender: str, *texts: str) -> None:
    tracker = DialogueStateTracker(sender, slots=[])
    for text in texts:  # a restart between: two sessions, both must go
        tracker.update(UserUttered(text))
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(Restarted())
    asyncio.run(store.save(tracker))


def events_of(store: TrackerStore, sender: str) -> int:
    tracker = asyncio.run(store.retrieve_full_tracker(sender))
    return 0 if tracker is None else len(tracker.events)


@pytest.mark.parametrize("kind", ["memory", "process", "sql", "wrapped"])
def test_erases_one_conversation_and_no_other(kind: str) -> None:
    domain = Domain.empty()
    inner: TrackerStore = {
        "sql": lambda: SQLTrackerStore(domain, dialect="sqlite", db=":memory:"),
        "process": lambda: ProcessTrackerStore(domain),  # development's (bot/endpoints.yml)
    }.get(kind, lambda: InMemoryTrackerStore(domain))()
    store = AwaitableTrackerStore(FailSafeTrackerStore(inner)) if kind == "wrapped" else inner
    saved(store, "gone", "my card was stolen", "hello again")
    saved(store, "kept", "hi")
    assert events_of(store, "gone") == 6

    erase_tracker(store, "gone")
    erase_tracker(store, "gone")  # again: nothing there, no error
    erase_tracker(store, "never-was")

    assert events_of(store, "gone") == 0
    assert events_of(store, "kept") == 3


def test_a_store_it_cannot_erase_is_said_so() -> None:
    with pytest.raises(UnsupportedTrackerStore):
        erase_tracker(TrackerStore(Domain.empty()), "x")


def test_only_the_api_token_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    assert not token_accepted("") and not token_accepted(None)  # no token set: no erasure at all
    monkeypatch.setenv("RASA_TOKEN", "s3cret")
    assert token_accepted("s3cret")
    assert not token_accepted("s3cre") and not token_accepted(None) and not token_accepted("")


def test_mounted_under_its_own_prefix() -> None:
    assert TrackerErasureInput().url_prefix() == "erasure"
