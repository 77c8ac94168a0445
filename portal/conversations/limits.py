"""Flood limits: how many sessions, messages and handoffs one client address, or one conversation, may start in
a window (settings.RATE_LIMITS; the numbers and why in docs/protocol.md, "Limits").

Counted in the cache (Redis in every deployment, keyed by this deployment's instance name) with
django-ratelimit's fixed-window counters. A limit refuses the session or the message with the seconds to wait;
a handoff is never refused (a person must still see it) but is queued behind everyone else's
(transitions.conversation_queue). If the cache cannot be reached the limits let everything through: a flood
guard must never turn a Redis outage into customers shut out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class RateLimited(Exception):
    """Over a limit: try again after `retry_after` seconds."""

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(f"too many requests ({limit}); try again in {retry_after} s")
        self.limit = limit
        self.retry_after = retry_after


def client_key(address: str) -> str:
    """A client address as the limits count it: a keyed hash, so neither the cache nor the database keeps the
    address itself."""
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]


def request_client_key(request: HttpRequest | None) -> str:
    """`client_key` of an HTTP request's address (behind a trusted proxy, uvicorn has put the forwarded one)."""
    return client_key((request.META.get("REMOTE_ADDR") if request else None) or "unknown")


def _seconds_over(limit: str, key: str) -> int | None:
    """Count one more against `limit` for `key`: None while within it, else the seconds until it resets."""
    try:
        usage: dict[str, Any] | None = get_usage(
            None, group=limit, key=lambda _group, _request: key, rate=settings.RATE_LIMITS[limit], increment=True
        )
    except (RedisError, OSError) as exc:
        logger.warning("flood limit %s not checked, the cache is unreachable: %s", limit, exc)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


def check(limit: str, key: str) -> None:
    """Count one more against `limit` for `key`; raise RateLimited once over it."""
    retry_after = _seconds_over(limit, key)
    if retry_after is not None:
        raise RateLimited(limit, retry_after)


def handoff_over_limit(client_key: str) -> bool:
    """Count a handoff of a conversation started from `client_key`; whether it is over the address's limit.
    Conversations without a key (started before keys were kept) are never over."""
    return bool(client_key) and _seconds_over("handoffs_per_address", client_key) is not None
