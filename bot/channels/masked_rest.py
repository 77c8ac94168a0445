"""The REST channel the portal posts to: full card numbers masked, and no command but a chosen button's.

It keeps the built-in REST channel's name, so its URL stays `POST /webhooks/rest/webhook` and its request and
reply shapes are unchanged. The mask is applied where the channel reads the message, so the unmasked number
never reaches the agent, the tracker store or a log line (the portal masks too: neither side relies on the
other).

A text that Rasa would read as an intent command (`/report_fraud`, `/restart`, contracts/commands.py) goes on
as one only when the portal says it is the payload of a button the bot offered (`BUTTON_METADATA_KEY` in the
metadata; the portal checks the button against the bot's latest offer). Any other is neutralised to words
(`restart`), so a text that got past the portal's own refusal still cannot command the bot. Rasa's HTTP API
(`/model/parse`, `/conversations/.../messages`) bypasses channels: the portal uses only this webhook for customer
text.
"""

from __future__ import annotations

import logging

from rasa.core.channels.rest import RestInput
from sanic.request import Request

import rasa_speedups
from contracts.commands import BUTTON_METADATA_KEY, neutralise_command, reads_as_command
from contracts.redaction import mask_personal_data

logger = logging.getLogger(__name__)

# The server imports this channel (credentials.yml) before it serves a single turn.
rasa_speedups.install()


class MaskedRestInput(RestInput):
    """Rasa's REST channel whose incoming text has its personal data masked (card numbers to `****` + their
    last four, contracts/redaction.py), and is a command only as a chosen button's payload."""

    def _extract_message(self, req: Request) -> str | None:
        text = super()._extract_message(req)
        if not isinstance(text, str):
            return text
        text = mask_personal_data(text)
        if reads_as_command(text) and not self._is_button(req):
            logger.warning("a command that is no chosen button was neutralised to text")
            return neutralise_command(text)
        return text

    def _is_button(self, req: Request) -> bool:
        metadata = self.get_metadata(req)
        return isinstance(metadata, dict) and metadata.get(BUTTON_METADATA_KEY) is True
