"""The customer demo page shows the bank's figures from the policy file the bot answers from."""

from __future__ import annotations

import pytest
from django.conf import settings
from widget.policy import bank_facts

pytestmark = pytest.mark.django_db


def test_the_demo_page_shows_the_policy_files_savings_rate_and_hours(client):
    facts = bank_facts()
    page = client.get("/").content.decode()

    assert f"<dd>{facts['easy_saver_rate']}</dd>" in page
    assert f"Open {facts['branch_hours_weekdays']}, Sat {facts['branch_hours_saturday']}" in page


def test_the_policy_file_is_the_bots():
    assert settings.BANK_POLICY_FILE.resolve() == (settings.REPO_DIR / "bot" / "actions" / "bank_policy.yml").resolve()
    assert bank_facts()["easy_saver_rate"].startswith("3.10%")
