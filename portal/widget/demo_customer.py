"""The demo bank's side of "who the customer is": what a bank's own site does for a customer it has logged
in, signing a short-lived assertion (a JWT) the widget hands to the portal. The demo signs for one made-up
customer with a secret generated once into the data dir (settings: SWITCHBOARD_DEMO_CUSTOMER, which never runs
beside a real bank's key)."""

from __future__ import annotations

import time

import jwt
from django.conf import settings

DEMO_CUSTOMER_ID = "demo-customer-0001"
DEMO_CUSTOMER_NAME = "Alex Morgan"
# Well inside the portal's default max age (300 s): fetched just before each session starts.
ASSERTION_LIFETIME_SECONDS = 120


def demo_enabled() -> bool:
    config = settings.CUSTOMER_ASSERTION
    return bool(config and config["demo"])


def demo_customer_assertion() -> str:
    config = settings.CUSTOMER_ASSERTION
    assert config is not None and config["demo"], "the demo customer is off"
    now = int(time.time())
    claims = {
        "sub": DEMO_CUSTOMER_ID,
        "iss": config["issuer"],
        "aud": config["audience"],
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
    }
    return jwt.encode(claims, config["key"], algorithm=config["algorithms"][0])
