"""A supervisor in the browser: other agents' conversations in "Team", taking one over, giving one to another
agent; an agent's page shows none of it (docs/roles.md)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import Portal, log_in


def claimed_by(portal: Portal, username: str) -> str:
    conversation_id = portal.start_conversation()
    portal.queue_conversation(conversation_id)
    portal.django(f"""
        from django.contrib.auth.models import User
        from conversations import transitions
        transitions.conversation_claim(conversation_id={conversation_id!r}, agent=User.objects.get(username={username!r}))
        print(json.dumps(True))
    """)
    return conversation_id


def team_item(page: Page, conversation_id: str):
    return page.get_by_test_id("team-list").locator(f'[data-conversation-id="{conversation_id}"]')


def test_a_supervisor_takes_over_and_reassigns(portal: Portal, new_context) -> None:
    taken, given = claimed_by(portal, "alex"), claimed_by(portal, "alex")
    sue = log_in(new_context().new_page(), portal, "sue")
    expect(team_item(sue, taken)).to_be_visible()

    team_item(sue, taken).click()
    expect(sue.get_by_test_id("agent-input")).to_be_disabled()  # Alex's: Sue writes only once she has it
    sue.get_by_test_id("take-over-button").click()
    expect(sue.get_by_test_id("agent-input")).to_be_enabled()
    expect(sue.get_by_test_id("mine-list").locator(f'[data-conversation-id="{taken}"]')).to_be_visible()
    expect(sue.get_by_test_id("take-over-button")).to_be_hidden()

    team_item(sue, given).click()
    sue.get_by_test_id("reassign-select").select_option(label="Sam")
    sue.get_by_test_id("reassign-button").click()
    expect(sue.get_by_test_id("conversation-agent")).to_contain_text("Sam")
    assert portal.django(f"""
        from conversations.models import Conversation
        print(json.dumps(Conversation.objects.get(pk={given!r}).assigned_agent.username))
    """) == "sam"


def test_an_agent_sees_no_team_nor_reassigning(portal: Portal, agent: Page) -> None:
    expect(agent.get_by_test_id("team-list")).to_have_count(0)
    expect(agent.get_by_test_id("take-over-button")).to_have_count(0)
    expect(agent.get_by_test_id("audit-link")).to_have_count(0)
