"""The audit trail: a record for each action, written in the action's transaction (none when it fails), never
changed or deleted, its users protected; the supervisors' page lists it newest first, filtered."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.db.models import ProtectedError
from django.test import Client, RequestFactory
from portal_support import new_client_id, queue_conversation, start_conversation

from agents.roles import access_of
from conversations import services, transitions
from conversations.models import AppendOnly, AuditAction, AuditRecord, Conversation
from handoff import services as handoff_services

pytestmark = pytest.mark.django_db(transaction=True)


def queued() -> Conversation:
    conversation = start_conversation()
    queue_conversation(conversation)
    return conversation


def trail() -> list[tuple[str, str, Any, Any]]:
    """(actor, action, conversation id, subject) oldest first."""
    return [
        (r.actor.username, r.action, r.conversation_id, r.subject.username if r.subject else None)
        for r in AuditRecord.objects.order_by("at", "id").select_related("actor", "subject")
    ]


def test_every_action_on_a_conversation_is_recorded(alex: Any, sam: Any, sue: Any, fake_rasa: Any) -> None:
    conversation = queued()
    cid = conversation.pk
    handoff_services.conversation_open(conversation_id=cid, user=alex, access=access_of(alex))
    transitions.conversation_claim(conversation_id=cid, agent=alex)
    message = services.message_post_agent(conversation_id=cid, agent=alex, client_id=new_client_id(), text="Hi")
    transitions.conversation_reassign(conversation_id=cid, by=sue, to=sam)
    transitions.conversation_reassign(conversation_id=cid, by=sue, to=sue)  # a take-over
    handoff_services.handoff_return_to_bot(conversation_id=cid, agent=sue)
    second = queued()
    transitions.conversation_claim(conversation_id=second.pk, agent=sam)
    transitions.conversation_resolve(conversation_id=second.pk, agent=sam)

    assert trail() == [
        ("alex", AuditAction.OPENED, cid, None),
        ("alex", AuditAction.CLAIMED, cid, None),
        ("alex", AuditAction.WROTE, cid, None),
        ("sue", AuditAction.REASSIGNED, cid, "sam"),
        ("sue", AuditAction.REASSIGNED, cid, "sue"),
        ("sue", AuditAction.HANDED_BACK, cid, None),
        ("sam", AuditAction.CLAIMED, second.pk, None),
        ("sam", AuditAction.RESOLVED, second.pk, None),
    ]
    wrote = AuditRecord.objects.get(action=AuditAction.WROTE)
    assert wrote.detail == {"message_id": message.pk}
    assert [r.detail for r in AuditRecord.objects.filter(action=AuditAction.REASSIGNED).order_by("id")] == [
        {"from_user_id": alex.pk},
        {"from_user_id": sam.pk},
    ]


def test_an_action_that_fails_leaves_no_record(alex: Any, sam: Any) -> None:
    conversation = queued()
    transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
    with pytest.raises(transitions.TransitionError):
        transitions.conversation_claim(conversation_id=conversation.pk, agent=sam)
    with pytest.raises(transitions.TransitionError):
        transitions.conversation_resolve(conversation_id=conversation.pk, agent=sam)
    with pytest.raises(services.NotAllowed):
        services.message_post_agent(conversation_id=conversation.pk, agent=sam, client_id="x", text="Hi")
    with pytest.raises(handoff_services.MayNotRead):
        handoff_services.conversation_open(conversation_id=conversation.pk, user=sam, access=access_of(sam))
    assert [(actor, action) for actor, action, _, _ in trail()] == [("alex", AuditAction.CLAIMED)]


def test_a_record_cannot_be_changed_or_deleted(alex: Any) -> None:
    conversation = queued()
    transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
    record = AuditRecord.objects.get()
    record.action = AuditAction.RESOLVED
    with pytest.raises(AppendOnly):
        record.save()
    with pytest.raises(AppendOnly):
        record.delete()
    with pytest.raises(AppendOnly):
        AuditRecord.objects.filter(pk=record.pk).update(action=AuditAction.RESOLVED)
    with pytest.raises(AppendOnly):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get().action == AuditAction.CLAIMED


def test_the_admin_shows_records_read_only(alex: Any) -> None:
    from django.contrib.auth.models import User

    admin = site._registry[AuditRecord]
    request = RequestFactory().get("/admin/")
    request.user = User.objects.create_superuser("root", password="pw")
    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request)
    assert not admin.has_delete_permission(request)


def test_a_user_with_records_cannot_be_deleted_only_deactivated(alex: Any) -> None:
    transitions.conversation_claim(conversation_id=queued().pk, agent=alex)
    with pytest.raises(ProtectedError):
        alex.delete()
    alex.is_active = False
    alex.save()
    assert AuditRecord.objects.get().actor == alex


def test_the_trail_outlives_its_conversation(alex: Any) -> None:
    conversation = queued()
    transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
    Conversation.objects.filter(pk=conversation.pk).delete()
    assert AuditRecord.objects.get().conversation_id == conversation.pk


def test_the_supervisors_page_lists_newest_first_and_filters(alex: Any, sam: Any, sue: Any) -> None:
    first, second = queued(), queued()
    transitions.conversation_claim(conversation_id=first.pk, agent=alex)
    transitions.conversation_claim(conversation_id=second.pk, agent=sam)
    transitions.conversation_resolve(conversation_id=second.pk, agent=sam)
    client = Client()
    client.force_login(sue)

    def rows(query: str = "") -> list[tuple[str, str]]:
        response = client.get("/agents/audit/" + query)
        assert response.status_code == 200
        return [(r.actor.username, r.action) for r in response.context["records"]]

    assert rows() == [("sam", "resolved"), ("sam", "claimed"), ("alex", "claimed")]
    assert rows(f"?conversation={first.pk}") == [("alex", "claimed")]
    assert rows("?user=sam") == [("sam", "resolved"), ("sam", "claimed")]
    assert rows("?user=nobody") == []
    assert b"Audit trail" in client.get("/agents/audit/").content
