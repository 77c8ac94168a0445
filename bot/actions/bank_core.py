"""The client for the bank's core system, where cards live: find a customer's card, block it.

Actions talk to the core only through `bank_core()`. This is an in-process stand-in for a real core banking
API (a demo: every customer holds the same two cards); a real client keeps the same interface, with each call
bounded by `timeout` seconds and raising BankCoreUnavailable on a timeout or an outage.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol


class BankCoreUnavailable(RuntimeError):
    """The core did not answer in time, or is down: the action must not pretend it worked."""


@dataclass(frozen=True)
class Card:
    last_four: str
    description: str  # "Visa debit card", as the customer knows it


@dataclass(frozen=True)
class BlockedCard:
    card: Card
    block_reference: str


class BankCore(Protocol):
    def find_card(self, customer_id: str, last_four: str, *, timeout: float) -> Card | None: ...

    def block_card(self, customer_id: str, last_four: str, *, timeout: float) -> BlockedCard: ...


DEMO_CARDS = (Card("4242", "Visa debit card"), Card("1881", "Mastercard credit card"))


class InMemoryBankCore:
    """A demo core: every customer has DEMO_CARDS; blocks are remembered for the life of the process."""

    def __init__(self) -> None:
        self._blocked: set[tuple[str, str]] = set()
        self._references: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def find_card(self, customer_id: str, last_four: str, *, timeout: float) -> Card | None:
        return next((card for card in DEMO_CARDS if card.last_four == last_four), None)

    def block_card(self, customer_id: str, last_four: str, *, timeout: float) -> BlockedCard:
        card = self.find_card(customer_id, last_four, timeout=timeout)
        if card is None:
            raise LookupError(f"no card ending {last_four}")
        key = (customer_id, last_four)
        with self._lock:  # blocking twice is harmless and keeps the first reference
            self._blocked.add(key)
            reference = self._references.setdefault(key, f"BLK-{len(self._references) + 100001}")
        return BlockedCard(card, reference)


@lru_cache(maxsize=1)
def bank_core() -> BankCore:
    return InMemoryBankCore()
