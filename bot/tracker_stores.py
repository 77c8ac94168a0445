"""The tracker store of development and tests (bot/endpoints.yml): Rasa's in-memory store, one per process.

Rasa 3.6's `PUT /model` (a deploy or rollback from the manager pages) builds a new agent from endpoints.yml and
keeps only the old one's lock store: with Rasa's own InMemoryTrackerStore, every conversation in progress would
lose its tracker (slots, form, history) at each swap. This store keeps its trackers in the process, not in the
store object, so every store Rasa makes in the process shares them. A restart of the Rasa server still starts
empty, as before. Production shares its trackers through Redis instead (endpoints.production.yml).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain

# sender id -> serialised tracker, for the life of the process
_TRACKERS: Dict[Text, Text] = {}


class ProcessTrackerStore(InMemoryTrackerStore):
    def __init__(
        self,
        domain: Domain,
        host: Optional[Text] = None,  # Rasa passes the endpoint's `url` to a custom store; this one has none
        event_broker: Optional[EventBroker] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self.store = _TRACKERS
