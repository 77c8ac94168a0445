"""Who the customer is, as the portal says: the bank's customer id rides in the REST channel's metadata of
every message of a customer the bank's site vouched for (contracts/customer.py); none for an anonymous one.
Actions that touch an account (blocking a card) serve only a verified customer, and act on that customer's
account, never on the conversation id."""

from __future__ import annotations

from rasa_sdk import Tracker

from contracts.customer import CUSTOMER_ID_METADATA_KEY


def verified_customer_id(tracker: Tracker) -> str | None:
    """The verified customer's id, from the latest customer message (each one carries it), or None."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            value = (event.get("metadata") or {}).get(CUSTOMER_ID_METADATA_KEY)
            return value if isinstance(value, str) and value else None
    return None
