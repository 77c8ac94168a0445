"""The NLU inbox: reviews' exact rows, filters, the pages' 403s, export."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from portal_support import make_agent, nlu_record

from tuning import selectors, services
from tuning.models import GovernanceRecord, NluRecord, Review, TrainingExample, Verdict

pytestmark = pytest.mark.django_db


def record(text: str, intent: str = "opening_hours", confidence: float = 0.9) -> NluRecord:
    return nlu_record(text, intent, confidence)


def test_confirm_relabel_ignore_write_exact_rows() -> None:
    manager = make_agent("mia", "Mia", role="manager")
    new = record("when do you lot shut on a tuesday evening")
    services.record_review(records=[new], verdict=Verdict.CONFIRMED, reviewer=manager)
    assert list(TrainingExample.objects.values_list("text", "intent", "withdrawn_at")) == [
        ("when do you lot shut on a tuesday evening", "opening_hours", None)
    ]
    services.record_review(records=[new], verdict=Verdict.RELABELLED, intent="statements", reviewer=manager)
    assert list(TrainingExample.objects.values_list("intent", flat=True)) == ["statements"]
    assert Review.objects.get().verdict == Verdict.RELABELLED
    services.record_review(records=[new], verdict=Verdict.IGNORED, reviewer=manager)
    assert TrainingExample.objects.get().withdrawn_at is not None
    assert list(selectors.approved_examples()) == []
    assert GovernanceRecord.objects.filter(action="reviewed").count() == 3


def test_duplicates_and_held_out_are_not_added() -> None:
    manager = make_agent("mia", "Mia", role="manager")
    committed = record("What are your opening hours?")
    held_out = record("hey hey", intent="greet")
    result = services.record_review(records=[committed, held_out], verdict=Verdict.CONFIRMED, reviewer=manager)
    assert result.outcomes == {committed.pk: "duplicate", held_out.pk: "held_out"}
    assert TrainingExample.objects.count() == 0


def test_every_held_out_set_is_refused_as_training_data() -> None:
    manager = make_agent("mia", "Mia", role="manager")
    # One message of each set: bot/tests/heldout.csv, then heldout_triage.csv, _2, _3 and _4.
    records = [
        record("hey hey", intent="greet"),
        record("theres 3 payments on my account to some website i never heard of", intent="report_fraud"),
        record("Do you open Sundays", intent="opening_hours"),
        record("what time do u open on sat", intent="opening_hours"),
        record("what interest does the easy saver pay", intent="savings_rates"),
    ]
    result = services.record_review(records=records, verdict=Verdict.CONFIRMED, reviewer=manager)
    assert result.outcomes == {r.pk: "held_out" for r in records}
    assert TrainingExample.objects.count() == 0


def test_filters() -> None:
    low = record("erm what", confidence=0.2)
    fallback = record("blah", intent="nlu_fallback", confidence=0.3)
    high = record("opening times please")
    assert list(selectors.inbox_records(selectors.InboxFilters(low_confidence=True))) == [fallback, low]
    assert list(selectors.inbox_records(selectors.InboxFilters(followed=selectors.Followed.FALLBACK))) == [fallback]
    assert list(selectors.inbox_records(selectors.InboxFilters(search="TIMES"))) == [high]
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    assert list(selectors.inbox_records(selectors.InboxFilters(since=tomorrow))) == []


def test_pages_are_managers_only_and_export_is_audited() -> None:
    agent, manager = make_agent("ann", "Ann"), make_agent("mia", "Mia", role="manager")
    record("is the kilburn branch open late on thursdays")
    client = Client()
    client.force_login(agent)
    for path in ("/agents/manager/inbox/", "/agents/manager/examples/"):
        assert client.get(path).status_code == 403
    assert client.post("/agents/manager/examples/export/").status_code == 403
    assert client.post("/agents/manager/inbox/review/", {"row": "1:confirmed"}).status_code == 403
    client.force_login(manager)
    assert client.get("/agents/manager/inbox/").status_code == 200
    assert client.get("/agents/manager/examples/").status_code == 200
    rec = NluRecord.objects.get()
    assert client.post("/agents/manager/inbox/review/", {"row": f"{rec.pk}:confirmed"}).status_code == 302
    response = client.post("/agents/manager/examples/export/")
    assert b"is the kilburn branch open late on thursdays" in response.content
    assert GovernanceRecord.objects.filter(action="examples_exported").count() == 1


def test_the_governance_trail_only_grows(db, django_user_model) -> None:
    from conversations.models import AppendOnly
    from tuning.audit import governance_record
    from tuning.models import GovernanceAction, GovernanceRecord

    manager = django_user_model.objects.create_user("trail-manager")
    record = governance_record(actor=manager, action=GovernanceAction.EXAMPLES_EXPORTED, detail={"count": 1})
    for change in (record.save, record.delete, GovernanceRecord.objects.all().delete):
        with pytest.raises(AppendOnly):
            change()
    with pytest.raises(AppendOnly):
        GovernanceRecord.objects.update(detail={})
    assert GovernanceRecord.objects.get().detail == {"count": 1}
