"""How the bot's reading of each customer message reaches the portal: one Redis stream entry per user turn.

The bot's event broker (bot/brokers/nlu_stream.py) turns each `user` event Rasa publishes into an entry built by
`nlu_entry()` and XADDs it to the stream `NLU_STREAM_KEY` on the Redis at `NLU_STREAM_URL`; the portal's
`tuning.tasks.ingest_nlu_stream` reads the stream with a consumer group and stores each reading as an
`NluRecord` of the portal's message (tuning/nlu_stream.py parses it). Both sides read the same two variables;
docs/tuning.md, "NLU records", tells the whole path.

An entry is `{"v": "1", "reading": <JSON>}`; the reading holds the text as the bot read it (masked by its input
channel), the intent and its confidence, the intent ranking, the entities, the portal's message id, Rasa's model
id and the event's timestamp. Only messages the portal sent (they carry its message id) are streamed, and never a
button's command (`/affirm`): no classifier read it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

from contracts.commands import reads_as_command

STREAM_VERSION = 1
URL_VARIABLE = "NLU_STREAM_URL"  # a Redis URL (password and db in it); unset or empty: the stream is off
KEY_VARIABLE = "NLU_STREAM_KEY"  # the stream's key
DEFAULT_KEY = "switchboard:nlu"
# The key, in a REST-channel message's metadata, of the portal's id of that customer message (the portal's bot
# gateway sends it; Rasa keeps the metadata on the tracker's user event, and so on the event it publishes).
MESSAGE_ID_KEY = "switchboard_message_id"
ENTITY_KEYS = ("entity", "value", "start", "end")


def nlu_entry(event: Mapping[str, Any]) -> Optional[Dict[str, str]]:
    """The stream entry of a Rasa event as its broker receives it (`Event.as_dict()` plus `sender_id`); None for
    any event but a user message the portal sent and the classifier read."""
    if event.get("event") != "user":
        return None
    metadata = event.get("metadata") or {}
    message_id = metadata.get(MESSAGE_ID_KEY)
    text = event.get("text")
    if not isinstance(message_id, int) or not isinstance(text, str) or reads_as_command(text):
        return None
    parse_data = event.get("parse_data") or {}
    intent = parse_data.get("intent") or {}
    reading = {
        "message_id": message_id,
        "conversation_id": event.get("sender_id"),
        "text": text,
        "intent": intent.get("name") or "",
        "confidence": float(intent.get("confidence") or 0.0),
        "ranking": [
            {"name": item.get("name"), "confidence": float(item.get("confidence") or 0.0)}
            for item in parse_data.get("intent_ranking") or []
        ],
        "entities": [_entity(item) for item in parse_data.get("entities") or []],
        "model_id": metadata.get("model_id") or "",
        "timestamp": event.get("timestamp"),
    }
    return {"v": str(STREAM_VERSION), "reading": json.dumps(reading, ensure_ascii=False, separators=(",", ":"))}


def _entity(item: Mapping[str, Any]) -> Dict[str, Any]:
    return {key: item.get(key) for key in ENTITY_KEYS}

