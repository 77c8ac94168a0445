"""Who the customer is: the bank's site vouches for a customer it has logged in with a short-lived signed
assertion, a JWT (PyJWT) signed with a secret shared with the portal (HS256) or the bank's private key (RS256,
ES256, ...). The portal checks it once, when the session starts, and keeps only the customer's id; the
settings (settings.CUSTOMER_ASSERTION, from SWITCHBOARD_CUSTOMER_JWT_*) say which key, algorithms, issuer and
audience.
docs/protocol.md, "Who the customer is"."""

from __future__ import annotations

import time

import jwt
from django.conf import settings

# A customer id is the bank's own (Conversation.customer_id holds 255 characters).
CUSTOMER_ID_MAX_CHARS = 255


class AssertionRefused(Exception):
    """The assertion is not one to trust: the message says why (never the assertion itself)."""


def verified_customer_id(assertion: str) -> str:
    """The customer id (`sub`) of a good assertion: its signature by the configured key with an allowed
    algorithm, not expired (`exp`), issued (`iat`) at most the max age ago, by the configured issuer (`iss`,
    when one is set) for this portal (`aud`). AssertionRefused otherwise, and when no key is configured."""
    config = settings.CUSTOMER_ASSERTION
    if config is None:
        raise AssertionRefused("this portal is configured to verify no customer assertions")
    required = ["exp", "iat", "sub", "aud"] + (["iss"] if config["issuer"] else [])
    leeway = config["leeway_seconds"]
    try:
        claims = jwt.decode(
            assertion,
            config["key"],
            algorithms=config["algorithms"],
            audience=config["audience"],
            issuer=config["issuer"],
            leeway=leeway,
            options={"require": required},
        )
    except jwt.InvalidTokenError as exc:  # every way a JWT fails: signature, exp, iat, aud, iss, alg, format
        raise AssertionRefused(f"{type(exc).__name__}: {exc}") from None
    age = time.time() - int(claims["iat"])  # an integer: PyJWT checked it reads as one
    if age > config["max_age_seconds"] + leeway:
        # exp is the bank's choice; the portal bounds the life of what it accepts itself.
        raise AssertionRefused(f"issued {int(age)} s ago; at most {config['max_age_seconds']} s are accepted")
    subject = claims["sub"]
    if not (isinstance(subject, str) and 0 < len(subject) <= CUSTOMER_ID_MAX_CHARS and subject.isprintable()):
        raise AssertionRefused(f"sub must be a customer id of 1 to {CUSTOMER_ID_MAX_CHARS} printable characters")
    return subject
