"""The agent portal's pages: sign-in guards the inbox, a non-agent is told so, logging out ends the session."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import AGENT_PASSWORD, Portal, log_in, screenshot


def test_the_inbox_asks_for_a_login_first(portal: Portal, new_context):
    page = new_context().new_page()
    page.goto(portal.url + "/agents/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/agents/$"))
    screenshot(page, "agent-login")

    page.get_by_test_id("login-username").fill("alex")
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()


def test_a_user_who_is_not_an_agent_is_refused(portal: Portal, new_context):
    portal.django(f"""
        from django.contrib.auth.models import User
        user = User.objects.create_user("customer-service-intern", password={AGENT_PASSWORD!r})
        print(json.dumps(user.pk))
    """)
    page = new_context().new_page()
    page.goto(portal.url + "/accounts/login/?next=/agents/")
    page.get_by_test_id("login-username").fill("customer-service-intern")
    page.get_by_test_id("login-password").fill(AGENT_PASSWORD)
    response_status = []
    page.on("response", lambda r: response_status.append(r.status) if r.url.endswith("/agents/") else None)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_role("heading")).to_have_text("This account has no access to this page")
    assert response_status == [403]


def test_logging_out_returns_to_the_login_page(portal: Portal, new_context):
    page = log_in(new_context().new_page(), portal, "alex")
    expect(page.get_by_test_id("agent-name")).to_have_text("Alex")
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto(portal.url + "/agents/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
