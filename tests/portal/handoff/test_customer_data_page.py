"""The supervisors' page of a customer's data (/agents/customer-data/): find, export, erase; nothing without the
confirmation; a conversation a customer waits on is not erased. Who may reach it: tests/portal/test_authorization.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from portal_support import queue_conversation, start_conversation, store_message

from conversations import services
from conversations.models import AuditRecord, Conversation, Delivery, Message, TrackerErasure

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/agents/customer-data/"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def talked() -> Conversation:
    conversation = start_conversation()
    store_message(conversation.pk, sender="customer", text="my card ****4242 was stolen", delivery=Delivery.DELIVERED)
    store_message(conversation.pk, sender="bot", text="I'm sorry to hear that.")
    return conversation


def test_finds_a_conversation_by_its_id(sue: Any) -> None:
    conversation, other = talked(), talked()
    page = signed_in(sue).get(PAGE, {"conversation": str(conversation.pk)}).content.decode()
    assert str(conversation.pk) in page and str(other.pk) not in page
    assert page.count('data-testid="customer-data-row"') == 1
    assert 'data-testid="erase-form"' in page and 'data-testid="export-form"' in page
    missing = signed_in(sue).get(PAGE, {"conversation": "not-an-id"}).content.decode()
    assert "No conversation found" in missing and 'data-testid="erase-form"' not in missing


def test_export_downloads_json_and_is_audited(sue: Any) -> None:
    conversation = talked()
    response = signed_in(sue).post(PAGE, {"conversation": str(conversation.pk), "action": "export", "confirm": "yes"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="customer-data-')
    data = json.loads(response.content)
    assert [m["text"] for m in data["conversations"][0]["messages"]] == [
        "my card ****4242 was stolen",
        "I'm sorry to hear that.",
    ]
    assert list(AuditRecord.objects.values_list("actor__username", "action", "conversation_id")) == [
        ("sue", "exported", conversation.pk)
    ]
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_erase_erases_and_says_so(sue: Any, fake_rasa: Any) -> None:
    conversation = talked()
    client = signed_in(sue)
    response = client.post(PAGE, {"conversation": str(conversation.pk), "action": "erase", "confirm": "yes"}, follow=True)
    assert f"Conversation {conversation.pk} was erased" in response.content.decode()
    assert not Conversation.objects.exists() and not Message.objects.exists()
    assert list(AuditRecord.objects.values_list("actor__username", "action")) == [("sue", "erased")]
    assert fake_rasa.erased() == [str(conversation.pk)] and not TrackerErasure.objects.exists()

    again = client.post(PAGE, {"conversation": str(conversation.pk), "action": "erase", "confirm": "yes"}, follow=True)
    assert "was already erased" in again.content.decode()
    assert AuditRecord.objects.count() == 1


@pytest.mark.parametrize("action", ["export", "erase"])
def test_nothing_is_done_unconfirmed(action: str, sue: Any, fake_rasa: Any) -> None:
    conversation = talked()
    response = signed_in(sue).post(PAGE, {"conversation": str(conversation.pk), "action": action}, follow=True)
    assert f"tick the box to confirm the {action}" in response.content.decode()
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert not AuditRecord.objects.exists() and fake_rasa.erased() == []


def test_a_conversation_a_customer_waits_on_is_not_erased(sue: Any, fake_rasa: Any) -> None:
    conversation = talked()
    queue_conversation(conversation)
    client = signed_in(sue)
    assert "a customer is waiting" in client.get(PAGE, {"conversation": str(conversation.pk)}).content.decode()
    response = client.post(PAGE, {"conversation": str(conversation.pk), "action": "erase", "confirm": "yes"}, follow=True)
    assert "was not erased: a customer is waiting on it" in response.content.decode()
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert not AuditRecord.objects.filter(action="erased").exists()


def test_finds_exports_and_erases_every_conversation_of_a_verified_customer(sue: Any, fake_rasa: Any) -> None:
    theirs = [services.conversation_start(customer_id="C-1001") for _ in range(2)]
    someone_else = services.conversation_start(customer_id="C-1002")
    anonymous = talked()
    client = signed_in(sue)
    page = client.get(PAGE, {"customer": "C-1001"}).content.decode()
    assert page.count('data-testid="customer-data-row"') == 2
    assert str(someone_else.pk) not in page and str(anonymous.pk) not in page

    ids = [str(c.pk) for c in theirs]
    export = json.loads(client.post(PAGE, {"conversation": ids, "action": "export", "confirm": "yes"}).content)
    assert [(c["id"], c["customer_id"]) for c in export["conversations"]] == [(i, "C-1001") for i in ids]
    client.post(PAGE, {"conversation": ids, "action": "erase", "confirm": "yes"})
    assert set(Conversation.objects.values_list("pk", flat=True)) == {someone_else.pk, anonymous.pk}
    assert sorted(AuditRecord.objects.values_list("action", "conversation_id")) == sorted(
        [("exported", c.pk) for c in theirs] + [("erased", c.pk) for c in theirs]
    )
    # The trail keeps no customer id: the erased customer is not findable through it.
    assert "C-1001" not in json.dumps(list(AuditRecord.objects.values_list("detail", flat=True)))
    assert sorted(fake_rasa.erased()) == sorted(ids)
