"""Who the customer is: a conversation keeps the bank's id of a verified customer, and nothing for an
anonymous one (Conversation.customer_id / customer_verified_at)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

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
