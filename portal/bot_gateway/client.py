"""HTTP client of the Rasa server: its REST channel (a customer's turn), the tracker (context), restart (hand back),
the model it runs (a deploy or a rollback swaps it), erasure (docs/privacy.md).

Every call has connect and read timeouts; every way the bot can fail — refused, timed out, 5xx, a reply that is
not what the contract says — comes out as one `BotUnavailable`, which the portal answers by failing open. Its
subclass `BotUnreachable` says the request surely never reached the bot (no connection), so sending it again
cannot make the bot run a turn twice; after any other failure the turn may have run, and `turn_in_tracker` finds
it by the portal's message id, which every customer message carries to the bot as REST-channel metadata.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from contracts.commands import BUTTON_METADATA_KEY
from contracts.customer import CUSTOMER_ID_METADATA_KEY
from contracts.handoff import HandoffContractError, HandoffRequest, parse_handoff
# Every customer message carries the portal's id to the bot under this metadata key: a turn whose answer was lost
# is found by it in the tracker (docs/handoff.md), and the bot's reading of it is streamed back with it.
from contracts.nlu_stream import MESSAGE_ID_KEY

logger = logging.getLogger(__name__)


KEEPALIVE_SECONDS = 2.0


class BotUnavailable(Exception):
    """The bot could not answer: down, too slow, failing, or answering garbage."""


class BotUnreachable(BotUnavailable):
    """No connection to the bot could be made (refused, connect timeout): the request never reached it."""


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class BotTurn:
    """The bot's answer to one customer message: what to show, and whether it asks for a person."""

    replies: list[BotReply]
    handoff: HandoffRequest | None = None


class RasaGateway:
    def __init__(
        self,
        base_url: str,
        read_timeout: float,
        connect_timeout: float,
        token: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            params={"token": token} if token else None,
            transport=transport,
            # Idle connections are let go well before the bot's server drops them (Sanic: after 5 s), so a
            # request never goes out on a connection the server is closing.
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
        )

    def send_message(
        self,
        conversation_id: uuid.UUID | str,
        text: str,
        *,
        message_id: int,
        button: bool = False,
        customer_id: str = "",
    ) -> BotTurn:
        """Post the customer's (already masked) text to the REST channel, tagged with the portal's message id;
        the bot's replies and handoff request. `button`: `text` is the payload of a button the bot offered (the
        only way a command reaches the bot; its channel neutralises any other, contracts/commands.py).
        `customer_id`: the verified customer's, blank for an anonymous one (contracts/customer.py)."""
        metadata: dict[str, Any] = {MESSAGE_ID_KEY: message_id}
        if button:
            metadata[BUTTON_METADATA_KEY] = True
        if customer_id:
            metadata[CUSTOMER_ID_METADATA_KEY] = customer_id
        body = self._request(
            "POST",
            "/webhooks/rest/webhook",
            json={"sender": str(conversation_id), "message": text, "metadata": metadata},
        )
        if not isinstance(body, list):
            raise BotUnavailable(f"REST channel answered {type(body).__name__}, not a list")
        return _turn_from_rest_messages(body)

    def fetch_tracker(self, conversation_id: uuid.UUID | str) -> dict[str, Any]:
        body = self._request("GET", f"/conversations/{conversation_id}/tracker")
        if not isinstance(body, dict):
            raise BotUnavailable("tracker is not a JSON object")
        return body

    def restart(self, conversation_id: uuid.UUID | str) -> None:
        """Make the bot forget this conversation, so it starts clean when an agent hands it back."""
        self._request("POST", f"/conversations/{conversation_id}/tracker/events", json=[{"event": "restart"}])

    def replace_model(self, model_file: str, *, timeout: float) -> None:
        """Make the Rasa server run the model at `model_file` (a path on the Rasa server's own disk), through
        Rasa's `PUT /model` (behind its token). Rasa answers once the model is loaded (`timeout` allows for it);
        if it cannot load it, it keeps the model it had and answers 400, raised here as `BotUnavailable`.
        Conversations carry on: they live in the tracker store (bot/endpoints.yml), which outlives the swap."""
        self._request(
            "PUT",
            "/model",
            json={"model_file": model_file},
            timeout=httpx.Timeout(timeout, connect=self._client.timeout.connect),
        )

    def loaded_model(self) -> str:
        """The file name (no folder) of the model the Rasa server runs now (its `/status`)."""
        body = self._request("GET", "/status")
        if not isinstance(body, dict) or not isinstance(body.get("model_file"), str):
            raise BotUnavailable("status has no model_file")
        model_file: str = body["model_file"]
        return model_file

    def erase_tracker(self, conversation_id: uuid.UUID | str) -> None:
        """Make the bot delete everything its tracker store holds of this conversation, every session of it;
        done too when it held nothing. Rasa 3.6's own API cannot (a PUT of no events leaves a Redis tracker
        store's events in place): the bot's erasure route does it (bot/channels/tracker_erasure.py)."""
        self._request("DELETE", f"/webhooks/erasure/conversations/{conversation_id}")

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise BotUnreachable(f"{method} {path}: cannot connect ({type(exc).__name__}: {exc})") from exc
        except httpx.TimeoutException as exc:
            raise BotUnavailable(f"{method} {path}: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise BotUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise BotUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code == 204:  # PUT /model, the erasure route: done, nothing to say
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise BotUnavailable(f"{method} {path}: answer is not JSON") from exc


def turn_in_tracker(tracker: dict[str, Any], message_id: int) -> BotTurn | None:
    """The bot's turn for the portal's message `message_id` as the tracker holds it: the user event tagged with
    that id and the bot's messages after it. None if the bot has not recorded it (Rasa saves a turn's events
    together, once the turn is over, so a turn is either all there or not at all)."""
    events = [e for e in tracker.get("events") or [] if isinstance(e, dict)]
    for index, event in enumerate(events):
        if event.get("event") == "user" and (event.get("metadata") or {}).get(MESSAGE_ID_KEY) == message_id:
            replies = []
            for later in events[index + 1 :]:
                if later.get("event") == "user":
                    break
                if later.get("event") == "bot":
                    data = later.get("data") or {}
                    replies.append(
                        {"text": later.get("text"), "buttons": data.get("buttons"), "custom": data.get("custom")}
                    )
            return _turn_from_rest_messages(replies)
    return None


def _turn_from_rest_messages(messages: list[Any]) -> BotTurn:
    replies: list[BotReply] = []
    handoff: HandoffRequest | None = None
    for message in messages:
        if not isinstance(message, dict):
            raise BotUnavailable("REST channel message is not an object")
        try:
            handoff = parse_handoff(message.get("custom")) or handoff
        except HandoffContractError as exc:
            raise BotUnavailable(f"bot sent a handoff that breaks the contract: {exc}") from exc
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in message.get("buttons") or []
            if isinstance(b, dict)
        ]
        text = message.get("text")
        if isinstance(text, str) and text or buttons:
            replies.append(BotReply(text=text or "", buttons=buttons))
    return BotTurn(replies=replies, handoff=handoff)


def get_gateway() -> RasaGateway:
    """The process's gateway to the Rasa server named by settings (RASA_URL, RASA_TOKEN, RASA_*TIMEOUT_SECONDS).

    One per process and settings, shared by its threads (an httpx client is thread-safe): a new client per turn
    cost a TLS context and a TCP connection each time, a third of a worker's CPU per turn."""
    return _gateway(
        settings.RASA_URL, settings.RASA_TIMEOUT_SECONDS, settings.RASA_CONNECT_TIMEOUT_SECONDS, settings.RASA_TOKEN
    )


@functools.cache
def _gateway(base_url: str, read_timeout: float, connect_timeout: float, token: str) -> RasaGateway:
    return RasaGateway(base_url, read_timeout=read_timeout, connect_timeout=connect_timeout, token=token)
