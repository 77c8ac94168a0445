"""Issue 2, steps 2-4, as people do them: the demo bank page and the agent portal in real Chromium
(Debian's, driven by Playwright), on the real stack. The pages' data-testids are the UI's contract."""

from __future__ import annotations

import json
import re
from playwright.async_api import Browser, Page, ViewportSize, WebSocket, expect

from .harness import Stack
from .test_conversation import FRAUD_REPORT, GREETING, HOURS_QUESTION, stored_transcript

LIVE_TIMEOUT_MS = 30_000


# What each page's console said the Content-Security-Policy refused (the portal sends one on every page).
refused_by_csp: dict[Page, list[str]] = {}


async def new_page(browser: Browser) -> Page:
    """A page in a context of its own: the customer and the agent share no cookies or storage."""
    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    refused = refused_by_csp.setdefault(page, [])
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return page


WIDE = ViewportSize(width=1400, height=1000)  # the manager pages' charts and tables


async def signed_in(
    browser: Browser, url: str, username: str, password: str, viewport: ViewportSize | None = None
) -> Page:
    """A new page signed in as `username` through the sign-in form that `url` sends it to."""
    page = await new_page(browser)
    if viewport:
        await page.set_viewport_size(viewport)
    await page.goto(url)
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    return page


async def customer_says(page: Page, text: str) -> None:
    await page.get_by_test_id("chat-input").fill(text)
    await page.get_by_test_id("chat-send").click()


def messages_from(page: Page, sender: str):
    return page.locator(f'[data-testid="chat-message"][data-sender="{sender}"]')


async def test_customer_page_and_agent_portal_in_a_browser(stack: Stack, browser: Browser) -> None:
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    agent = await signed_in(browser, f"{stack.http_url}/agents/", stack.agent_username, stack.agent_password)
    await expect(agent.get_by_test_id("connection-status")).to_have_attribute("data-state", "online")

    customer = await new_page(browser)
    await customer.goto(f"{stack.http_url}/")
    await customer.get_by_test_id("chat-launcher").click()

    # Step 2: greeting, then opening hours.
    await customer_says(customer, GREETING)
    await expect(messages_from(customer, "bot")).not_to_have_count(0)
    bot_replies = await messages_from(customer, "bot").count()
    await customer_says(customer, HOURS_QUESTION)
    await expect(messages_from(customer, "bot").nth(bot_replies)).to_contain_text(re.compile(r"\d"))

    # Step 3: the handoff appears in the agent's queue live (no reload), with its context.
    conversation = await customer.evaluate(
        "JSON.parse(localStorage.getItem('switchboard.widget.session')).conversation_id"
    )
    await customer_says(customer, FRAUD_REPORT)
    queue_item = agent.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation}"]')
    await queue_item.click()
    await expect(agent.get_by_test_id("context-reason")).to_contain_text(
        re.compile("sensitive_topic|explicit_request")
    )
    await expect(agent.get_by_test_id("context-customer-badge")).to_have_text("Anonymous")
    await expect(agent.get_by_test_id("context-intent")).not_to_have_attribute("data-intent", "")
    await expect(agent.get_by_test_id("context-ranking-item")).not_to_have_count(0)
    await expect(agent.locator('[data-testid="context-entity"][data-name="card_last_four"] dd')).to_have_text(
        "4242"
    )
    await expect(agent.locator('[data-testid="context-entity"][data-name="amount"] dd')).to_contain_text(
        "250"
    )

    # Step 4: claim; the customer sees the agent join; chat both ways; the bot stays silent; hand back.
    await agent.get_by_test_id("claim-button").click()
    await expect(customer.get_by_test_id("chat-status")).to_have_attribute("data-status", "assigned")
    await agent.get_by_test_id("agent-input").fill("Hello, I am looking at that payment now.")
    await agent.get_by_test_id("agent-send").click()
    await expect(messages_from(customer, "agent")).to_contain_text("looking at that payment")

    bot_replies = await messages_from(customer, "bot").count()
    await customer_says(customer, HOURS_QUESTION)
    customer_lines = agent.locator('[data-testid="agent-message"][data-sender="customer"]')
    await expect(customer_lines.last).to_contain_text(HOURS_QUESTION)
    await customer.wait_for_timeout(4000)  # time enough for a bot reply, were one to come
    await expect(messages_from(customer, "bot")).to_have_count(bot_replies)

    await agent.get_by_test_id("handback-button").click()
    await expect(customer.get_by_test_id("chat-status")).to_have_attribute("data-status", "bot")
    await customer_says(customer, HOURS_QUESTION)
    await expect(messages_from(customer, "bot").nth(bot_replies)).to_be_visible()

    stored = stored_transcript(stack, conversation)
    assert [m["text"] for m in stored["messages"] if m["sender"] == "customer"] == [
        GREETING,
        HOURS_QUESTION,
        FRAUD_REPORT,
        HOURS_QUESTION,
        HOURS_QUESTION,
    ]
    assert stored["status"] == "bot"
    # Both pages worked whole under the portal's Content-Security-Policy: it refused nothing they load.
    assert refused_by_csp[agent] == [] and refused_by_csp[customer] == []


async def test_the_widget_fills_a_gap_in_its_messages_by_itself_without_reconnecting(
    stack: Stack, browser: Browser
) -> None:
    """A message whose event never reaches the widget (stored, but its publish suppressed, as when the channel
    layer drops it): the next message's seq shows the gap, and the widget asks for it on the same socket."""
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    customer = await new_page(browser)
    sockets: list[WebSocket] = []
    sent: list[str] = []

    def opened(socket: WebSocket) -> None:
        sockets.append(socket)
        socket.on("framesent", lambda payload: sent.append(payload))

    customer.on("websocket", opened)
    await customer.goto(f"{stack.http_url}/")
    await customer.get_by_test_id("chat-launcher").click()
    await expect(customer.get_by_test_id("chat-panel")).to_have_attribute("data-connection", "online")
    conversation = await customer.evaluate(
        "JSON.parse(localStorage.getItem('switchboard.widget.session')).conversation_id"
    )

    stack.django(f"""
        from unittest import mock
        from django.db import transaction
        from conversations import events, services
        from conversations.models import Conversation

        def notice(text):
            with transaction.atomic():
                conversation = Conversation.objects.select_for_update().get(pk="{conversation}")
                services.message_post_system(conversation=conversation, text=text)

        with mock.patch.object(events, "_send"):  # stored, but its event is never published
            notice("A notice whose event was lost")
        notice("The notice after it")
        print(json.dumps("stored"))
    """)

    notices = customer.locator('[data-testid="chat-message"][data-sender="system"]')
    await expect(notices).to_have_text(["A notice whose event was lost", "The notice after it"])
    assert len(sockets) == 1 and not sockets[0].is_closed()  # recovered on the socket it had: no reconnect
    syncs = [json.loads(frame) for frame in sent if "messages.sync" in frame]
    assert syncs == [{"type": "messages.sync", "after_seq": 0}]


async def test_the_demo_banks_signed_in_customer_reaches_agents_verified(stack: Stack, browser: Browser) -> None:
    """The demo bank's page of a signed-in customer: the widget fetches the page's assertion before it starts
    the session, and the agent sees the customer verified, with the bank's id."""
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    agent = await signed_in(browser, f"{stack.http_url}/agents/", stack.agent_username, stack.agent_password)
    await expect(agent.get_by_test_id("connection-status")).to_have_attribute("data-state", "online")

    customer = await new_page(browser)
    await customer.goto(f"{stack.http_url}/")
    await customer.get_by_test_id("demo-login").click()
    await expect(customer.get_by_test_id("demo-customer")).to_contain_text("Signed in as")
    await customer.get_by_test_id("chat-launcher").click()
    await expect(customer.get_by_test_id("chat-panel")).to_have_attribute("data-connection", "online")
    await customer_says(customer, "can I talk to a human?")
    conversation = await customer.evaluate(
        "JSON.parse(localStorage.getItem('switchboard.widget.session')).conversation_id"
    )
    queue_item = agent.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation}"]')
    await expect(queue_item.get_by_test_id("queue-customer")).to_have_text("Verified")
    await queue_item.click()
    await expect(agent.get_by_test_id("context-customer-badge")).to_have_attribute("data-verified", "true")
    await expect(agent.get_by_test_id("context-customer-id")).to_have_text("demo-customer-0001")
    assert refused_by_csp[agent] == [] and refused_by_csp[customer] == []
