"""Staff sign-in behind the flood limits (handoff/login.py): past the attempts allowed per username or per
address, a sign-in is refused, with the right password too, and says when to try again."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

THROTTLED = "Too many sign-in attempts"


def sign_in(username: str, password: str, address: str = "203.0.113.7", path: str = "/accounts/login/") -> Any:
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def signed_in(response: Any) -> bool:
    return response.status_code == 302


def test_past_the_attempts_per_username_even_the_right_password_is_refused(settings: Any, alex: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "logins_per_username": "3/m"}
    wrong = [sign_in("alex", "guess", address=f"198.51.100.{n}") for n in range(3)]
    assert [signed_in(r) or THROTTLED in r.content.decode() for r in wrong] == [False] * 3
    refused = sign_in("Alex", "pw-alex", address="198.51.100.99")  # another address, any case
    assert not signed_in(refused)
    assert THROTTLED in refused.content.decode()
    assert signed_in(sign_in("sam", "guess-not", address="198.51.100.99")) is False  # counted apart


def test_past_the_attempts_per_address_every_username_is_refused(settings: Any, alex: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "logins_per_address": "2/m"}
    for username in ("x", "y"):
        sign_in(username, "guess")
    assert THROTTLED in sign_in("alex", "pw-alex").content.decode()
    assert signed_in(sign_in("alex", "pw-alex", address="198.51.100.20"))


def test_the_admin_sign_in_is_behind_the_same_limits(settings: Any, alex: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "logins_per_address": "1/m"}
    sign_in("alex", "guess", path="/admin/login/")
    assert THROTTLED in sign_in("alex", "guess", path="/admin/login/").content.decode()
