"""The demo bank's signed-in customer: its page hands the widget an assertion endpoint, whose assertions (signed
with the demo secret) the session API verifies; with the demo off (the default) neither exists."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from config.settings import customer_assertion_settings
from conversations.models import Conversation
from widget.demo_customer import DEMO_CUSTOMER_ID

pytestmark = pytest.mark.django_db

DEMO_SECRET = "demo-secret-generated-once-into-the-data-dir-0123"


@pytest.fixture
def demo_on(settings: Any) -> None:
    settings.CUSTOMER_ASSERTION = customer_assertion_settings(
        {"SWITCHBOARD_DEMO_CUSTOMER": "true"}, demo_secret=lambda: DEMO_SECRET
    )


def test_with_the_demo_off_there_is_no_demo_customer(settings: Any) -> None:
    settings.CUSTOMER_ASSERTION = None
    client = Client()
    assert "demo-login" not in client.get("/").content.decode()
    assert client.get("/demo/customer/").status_code == 404
    assert client.post("/demo/customer/assertion").status_code == 404


def test_a_bank_key_turns_the_demo_customer_off(settings: Any) -> None:
    settings.CUSTOMER_ASSERTION = customer_assertion_settings(
        {"SWITCHBOARD_CUSTOMER_JWT_SECRET": "the-banks-own-secret-0123456789abcdef"}, demo_secret=lambda: DEMO_SECRET
    )
    assert Client().post("/demo/customer/assertion").status_code == 404


@pytest.mark.usefixtures("demo_on")
def test_the_signed_in_page_starts_verified_sessions_for_the_demo_customer() -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/demo/customer/").content.decode()
    assert 'data-customer-assertion-url="/demo/customer/assertion"' in page
    assert "data-customer-assertion-url" not in client.get("/").content.decode()  # the anonymous page
    assert client.post("/demo/customer/assertion").status_code == 403  # only the page itself: CSRF checked
    answer = client.post("/demo/customer/assertion", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assertion = answer.json()["assertion"]
    session = Client().post(
        "/api/widget/sessions", data=json.dumps({"customer_assertion": assertion}), content_type="application/json"
    )
    assert session.status_code == 201
    assert Conversation.objects.get(pk=session.json()["conversation_id"]).customer_id == DEMO_CUSTOMER_ID
