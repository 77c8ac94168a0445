"""Who the customer is: the bank's signed assertion (a JWT) verified when the widget starts a session
(conversations/identity.py, POST /api/widget/sessions); a conversation keeps the bank's id of a verified
customer, and nothing for an anonymous one (Conversation.customer_id / customer_verified_at)."""

from __future__ import annotations

import base64
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from config.settings import customer_assertion_settings
from conversations import services
from conversations.models import Conversation

pytestmark = pytest.mark.django_db


def test_a_conversation_is_anonymous_unless_started_for_a_verified_customer() -> None:
    anonymous = services.conversation_start()
    assert (anonymous.customer_id, anonymous.customer_verified_at, anonymous.customer_verified) == (
        "",
        None,
        False,
    )
    verified = services.conversation_start(customer_id="cust-0042")
    verified.refresh_from_db()
    assert verified.customer_id == "cust-0042" and verified.customer_verified
    assert verified.customer_verified_at is not None
    assert list(Conversation.objects.filter(customer_id="cust-0042")) == [verified]


@pytest.mark.parametrize(
    "fields",
    [{"customer_id": "cust-0042"}, {"customer_verified_at": timezone.now()}],
    ids=["an id never verified", "verified without an id"],
)
def test_a_customer_id_is_stored_only_with_its_verification(fields: dict) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(**fields)


# --- the bank's assertion: verified once, when the session starts ------------------------------------------

SECRET = "a-shared-secret-of-the-bank-0123456789abcdef"
ISSUER, AUDIENCE = "https://bank.example", "switchboard"


def hs256_config(**overrides: Any) -> dict[str, Any]:
    return {
        "key": SECRET,
        "algorithms": ["HS256"],
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "max_age_seconds": 300,
        "leeway_seconds": 30,
        "demo": False,
        **overrides,
    }


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "cust-0042", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 120, **overrides}


def signed(key: Any = SECRET, algorithm: str = "HS256", **overrides: Any) -> str:
    return jwt.encode({k: v for k, v in claims(**overrides).items() if v is not None}, key, algorithm=algorithm)


@pytest.fixture
def bank_secret(settings: Any) -> None:
    settings.CUSTOMER_ASSERTION = hs256_config()


def start_session(body: Any, content_type: str = "application/json") -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return Client().post("/api/widget/sessions", data=data, content_type=content_type)


@pytest.mark.usefixtures("bank_secret")
def test_a_good_assertion_starts_a_session_of_the_verified_customer() -> None:
    response = start_session({"customer_assertion": signed()})
    assert response.status_code == 201
    assert response.json()["customer"] == {"verified": True, "id": "cust-0042"}
    conversation = Conversation.objects.get(pk=response.json()["conversation_id"])
    assert conversation.customer_id == "cust-0042" and conversation.customer_verified_at is not None


@pytest.mark.usefixtures("bank_secret")
@pytest.mark.parametrize("body", [{}, "", {"customer_assertion": None}], ids=["{}", "no body", "null"])
def test_no_assertion_is_an_anonymous_session(body: Any) -> None:
    response = start_session(body)
    assert response.status_code == 201 and response.json()["customer"] == {"verified": False, "id": None}


NOW = int(time.time())
OTHER_SECRET = "not-the-banks-secret-0123456789abcdefghij"


@pytest.mark.usefixtures("bank_secret")
@pytest.mark.parametrize(
    ("assertion", "why"),
    [
        (lambda: signed(iat=NOW - 400, exp=NOW - 60), "ExpiredSignatureError"),
        (lambda: signed(key=OTHER_SECRET), "InvalidSignatureError"),
        (lambda: signed(aud="another-service"), "InvalidAudienceError"),
        (lambda: signed(aud=None), "MissingRequiredClaimError"),
        (lambda: signed(iss="https://evil.example"), "InvalidIssuerError"),
        (lambda: signed(iss=None), "MissingRequiredClaimError"),
        (lambda: signed(iat=NOW - 3600, exp=NOW + 3600), "s ago; at most 300 s"),  # too old, though not expired
        (lambda: signed(iat=NOW + 3600, exp=NOW + 7200), "ImmatureSignatureError"),
        (lambda: signed(iat=None), "MissingRequiredClaimError"),
        (lambda: signed(exp=None), "MissingRequiredClaimError"),
        (lambda: signed(sub=None), "MissingRequiredClaimError"),
        (lambda: signed(sub="x" * 256), "sub must be"),
        (lambda: signed(sub="cust\n42"), "sub must be"),
        (lambda: jwt.encode(claims(), key=None, algorithm="none"), "InvalidAlgorithmError"),
        (lambda: signed(key=SECRET * 2, algorithm="HS512"), "InvalidAlgorithmError"),  # a good key, an algorithm not allowed
        (lambda: "not.a.jwt", "DecodeError"),
    ],
    ids=[
        "expired",
        "wrong signature",
        "wrong audience",
        "no audience",
        "wrong issuer",
        "no issuer",
        "too old",
        "issued in the future",
        "no iat",
        "no exp",
        "no sub",
        "sub too long",
        "sub unprintable",
        "alg none",
        "alg not allowed",
        "garbage",
    ],
)
def test_a_bad_assertion_is_refused_with_401_and_starts_nothing(assertion: Any, why: str) -> None:
    response = start_session({"customer_assertion": assertion()})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_assertion" and why in response.json()["detail"]
    assert Conversation.objects.count() == 0


@pytest.mark.usefixtures("bank_secret")
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ({"customer_assertion": 42}, "application/json"),
        ({"customer_assertion": ""}, "application/json"),
        ({"customer_assertion": "x" * 9000}, "application/json"),
    ],
    ids=["not json", "not an object", "not a string", "empty", "too large"],
)
def test_a_body_that_is_not_a_session_request_is_refused_with_400(body: Any, content_type: str) -> None:
    response = start_session(body, content_type)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert Conversation.objects.count() == 0


def test_a_form_posted_assertion_is_verified_too(bank_secret: None) -> None:
    response = Client().post("/api/widget/sessions", data={"customer_assertion": signed(key=OTHER_SECRET)})
    assert response.status_code == 401 and Conversation.objects.count() == 0


def test_an_assertion_to_a_portal_that_verifies_none_is_refused_not_ignored(settings: Any) -> None:
    settings.CUSTOMER_ASSERTION = None
    response = start_session({"customer_assertion": signed()})
    assert response.status_code == 401 and "verify no customer assertions" in response.json()["detail"]
    assert start_session({}).status_code == 201


def test_the_leeway_forgives_a_little_clock_skew(settings: Any) -> None:
    settings.CUSTOMER_ASSERTION = hs256_config(leeway_seconds=30)
    assert start_session({"customer_assertion": signed(iat=NOW + 10, exp=NOW - 10)}).status_code == 201
    settings.CUSTOMER_ASSERTION = hs256_config(leeway_seconds=0)
    assert start_session({"customer_assertion": signed(iat=NOW - 200, exp=NOW - 10)}).status_code == 401


@pytest.mark.parametrize(
    ("algorithm", "private_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_an_assertion_signed_with_the_banks_private_key(
    settings: Any, tmp_path: Path, algorithm: str, private_key: Any
) -> None:
    """The bank keeps its private key; the portal has its public key (a PEM file) and verifies with it."""
    bank_key = private_key()
    pem = tmp_path / "bank-public.pem"
    pem.write_bytes(
        bank_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    environ = {
        "SWITCHBOARD_CUSTOMER_JWT_PUBLIC_KEY_FILE": str(pem),
        "SWITCHBOARD_CUSTOMER_JWT_ISSUER": ISSUER,
    }
    settings.CUSTOMER_ASSERTION = customer_assertion_settings(environ, demo_secret=lambda: "unused")
    assert settings.CUSTOMER_ASSERTION["algorithms"] == ["RS256", "ES256"]
    good = start_session({"customer_assertion": signed(key=bank_key, algorithm=algorithm)})
    assert good.status_code == 201 and good.json()["customer"]["id"] == "cust-0042"
    # Signed by someone else's key of the same kind: refused.
    impostor = private_key()
    assert start_session({"customer_assertion": signed(key=impostor, algorithm=algorithm)}).status_code == 401
    # The public key used as an HMAC secret (the classic algorithm confusion): refused.
    signing_input = b".".join(
        base64url(json.dumps(part).encode()) for part in ({"alg": "HS256", "typ": "JWT"}, claims())
    )
    forged = b".".join([signing_input, base64url(hmac.digest(pem.read_bytes(), signing_input, "sha256"))])
    refused = start_session({"customer_assertion": forged.decode()})
    assert refused.status_code == 401 and "InvalidAlgorithmError" in refused.json()["detail"]


def base64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def test_an_unset_environment_verifies_nothing() -> None:
    assert customer_assertion_settings({}, demo_secret=lambda: "unused") is None


def test_the_demo_customer_signs_with_its_own_secret() -> None:
    config = customer_assertion_settings({"SWITCHBOARD_DEMO_CUSTOMER": "true"}, demo_secret=lambda: "d" * 40)
    assert config is not None
    assert (config["key"], config["algorithms"], config["demo"]) == ("d" * 40, ["HS256"], True)


@pytest.mark.parametrize(
    "environ",
    [
        {"SWITCHBOARD_CUSTOMER_JWT_SECRET": SECRET, "SWITCHBOARD_DEMO_CUSTOMER": "true"},
        {"SWITCHBOARD_CUSTOMER_JWT_SECRET": SECRET, "SWITCHBOARD_CUSTOMER_JWT_PUBLIC_KEY_FILE": "/k.pem"},
        {"SWITCHBOARD_CUSTOMER_JWT_SECRET": SECRET, "SWITCHBOARD_CUSTOMER_JWT_ALGORITHMS": "RS256"},
        {"SWITCHBOARD_CUSTOMER_JWT_SECRET": SECRET, "SWITCHBOARD_CUSTOMER_JWT_ALGORITHMS": "none"},
        {"SWITCHBOARD_CUSTOMER_JWT_PUBLIC_KEY_FILE": "/k.pem", "SWITCHBOARD_CUSTOMER_JWT_ALGORITHMS": "HS256"},
        {"SWITCHBOARD_CUSTOMER_JWT_SECRET": "short"},
    ],
    ids=["demo beside a bank secret", "secret and key", "secret with RS256", "none", "key with HS256", "short"],
)
def test_settings_that_would_weaken_verification_stop_the_portal(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        customer_assertion_settings(environ, demo_secret=lambda: "d" * 40)
