"""The REST channel the portal posts to, with full card numbers masked before Rasa sees the text.

It keeps the built-in REST channel's name, so its URL stays `POST /webhooks/rest/webhook` and its request and
reply shapes are unchanged. The mask is applied where the channel reads the message, so the unmasked number
never reaches the agent, the tracker store or a log line (the portal masks too: neither side relies on the
other). Rasa's HTTP API (`/model/parse`, `/conversations/.../messages`) bypasses channels: the portal uses only
this webhook for customer text.
"""

from __future__ import annotations

from rasa.core.channels.rest import RestInput
from sanic.request import Request

import rasa_speedups
from contracts.redaction import mask_card_numbers

# The server imports this channel (credentials.yml) before it serves a single turn.
rasa_speedups.install()


class MaskedRestInput(RestInput):
    """Rasa's REST channel whose incoming text has every card number replaced by `****` + its last four."""

    def _extract_message(self, req: Request) -> str | None:
        text = super()._extract_message(req)
        return mask_card_numbers(text) if isinstance(text, str) else text
