"""Who the customer is, on the real stack (Rasa, the action server, the portal, the stack's Redis): the demo
bank's page signs an assertion for its signed-in customer, whose lost card the bot blocks; an anonymous
customer's lost card goes to a person, and the context packet says who is verified; a verified customer's wrong answers still
count in a new conversation after the action server restarts; and no session token reaches any log."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from .clients import Customer, is_message, is_type
from .harness import Stack

DEMO_CUSTOMER_ID = "demo-customer-0001"  # widget/demo_customer.py


async def demo_page_assertion(http_url: str) -> str:
    """What the widget does on the demo bank's signed-in page: fetch the page's fresh assertion (CSRF and all)."""
    async with httpx.AsyncClient(base_url=http_url) as http:
        page = await http.get("/demo/customer/")
        assert page.status_code == 200 and "data-customer-assertion-url" in page.text
        answer = await http.post(
            "/demo/customer/assertion", headers={"X-CSRFToken": http.cookies["csrftoken"]}, json={}
        )
        answer.raise_for_status()
        return str(answer.json()["assertion"])


def handoff_of(stack: Stack, conversation_id: str) -> dict[str, Any]:
    """The conversation's handoff as stored: why, and who the context packet agents get says the customer is
    (that agents are shown it: tests/e2e/test_browser.py, in the inbox of a real browser)."""
    return stack.django(f"""
        from conversations.models import Handoff
        h = Handoff.objects.get(conversation_id="{conversation_id}")
        print(json.dumps({{"reason": h.reason, "customer": h.context["customer"]}}))
    """)


async def test_a_verified_customers_lost_card_is_blocked_by_the_bot(stack: Stack) -> None:
    customer = await Customer.start(stack.http_url, stack.ws_url, await demo_page_assertion(stack.http_url))
    assert customer.customer == {"verified": True, "id": DEMO_CUSTOMER_ID}
    await customer.say("I lost my card")
    await customer.wait_for(is_message("bot", "last four digits"), what="the bot asking for the card")
    await customer.say("4242")
    await customer.wait_for(is_message("bot", "block your card ending 4242"), what="the bot's confirmation")
    await customer.say("yes")
    await customer.wait_for(is_message("bot", "ending 4242 is blocked"), what="the card blocked")
    await customer.close()


async def test_an_anonymous_customers_lost_card_goes_to_a_person(stack: Stack) -> None:
    customer = await Customer.start(stack.http_url, stack.ws_url)
    assert customer.customer == {"verified": False, "id": None}
    await customer.say("I lost my card")
    await customer.wait_for(is_type("conversation.status", status="queued"), what="the handoff")
    assert handoff_of(stack, customer.conversation_id) == {
        "reason": "customer_not_verified",
        "customer": {"verified": False, "id": None},
    }
    assert not any(is_message("bot", "last four digits")(f) for f in customer.frames)  # nothing was asked
    await customer.close()


async def test_wrong_answers_count_per_customer_across_an_action_server_restart(stack: Stack) -> None:
    customer_id = f"e2e-{uuid.uuid4().hex[:10]}"
    first = await Customer.start(stack.http_url, stack.ws_url, stack.customer_assertion(customer_id))
    await first.say("I lost my card")
    await first.wait_for(is_message("bot", "last four digits"), what="the bot asking for the card")
    await first.say("1111")
    await first.wait_for(is_message("bot", "can't find a card ending 1111"), what="a wrong answer counted")
    await first.close()

    stack.restart_actions()  # whatever it kept in memory is gone

    later = await Customer.start(stack.http_url, stack.ws_url, stack.customer_assertion(customer_id))
    await later.say("my card was stolen")
    await later.wait_for(is_message("bot", "last four digits"), what="the bot asking for the card")
    await later.say("2222")  # the customer's second wrong answer, though this conversation's first
    await later.wait_for(is_type("conversation.status", status="queued"), what="the handoff")
    assert handoff_of(stack, later.conversation_id) == {
        "reason": "verification_failed",
        "customer": {"verified": True, "id": customer_id},
    }
    await later.close()


async def test_no_token_reaches_any_log(stack: Stack) -> None:
    """Neither the customer's session token nor the token of Rasa's HTTP API (which the portal's requests to the
    bot carry in their query string) is written to any service's log."""
    customer = await Customer.start(stack.http_url, stack.ws_url)
    await customer.say("hi")
    await customer.wait_for(is_message("bot"), what="the bot's greeting")
    await customer.close()
    portal_log = stack.portal_log.read_text(errors="replace")
    assert '"WebSocket /ws/customer/"' in portal_log  # the access log is on, and names the socket's path
    for log in stack.supervisor.log_dir.glob("*.log"):
        text = log.read_text(errors="replace")
        assert customer.token not in text, f"{log.name} holds a session token"
        assert stack.config.rasa_token not in text, f"{log.name} holds the token of Rasa's API"
