"""A handoff seen by both people: the agent sees it arrive live, reads its context, claims, chats, closes it."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from .conftest import FRAUD_TEXT, Portal, conversation_id_of, log_in, screenshot


def send_as_customer(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def send_as_agent(page: Page, text: str) -> None:
    page.get_by_test_id("agent-input").fill(text)
    page.get_by_test_id("agent-send").click()


def queue_item(page: Page, list_id: str, conversation_id: str):
    return page.get_by_test_id(list_id).locator(f'[data-testid="queue-item"][data-conversation-id="{conversation_id}"]')


def test_handoff_reaches_the_agent_live_and_they_chat_until_resolved(portal: Portal, customer: Page, agent: Page):
    send_as_customer(customer, FRAUD_TEXT)
    own = customer.locator('[data-testid="chat-message"][data-sender="customer"]')
    expect(own).to_have_attribute("data-state", "sent")
    conversation_id = conversation_id_of(customer)

    portal.queue_conversation(conversation_id)

    # Live, without a reload: the queue item, then the customer's notice.
    item = queue_item(agent, "queue-list", conversation_id)
    expect(item).to_be_visible()
    expect(item.get_by_test_id("queue-priority")).to_have_attribute("data-priority", "high")
    expect(item.get_by_test_id("queue-reason")).to_have_text("Sensitive topic")
    expect(item.get_by_test_id("queue-waiting")).to_have_text(re.compile(r"^\d+s$"))
    expect(customer.get_by_test_id("chat-status")).to_have_text("Connecting you to a member of our team…")

    # The context packet, rendered in full.
    item.click()
    expect(agent.get_by_test_id("context-reason")).to_have_attribute("data-reason", "sensitive_topic")
    expect(agent.get_by_test_id("context-reason")).to_contain_text("Sensitive topic")
    expect(agent.get_by_test_id("context-intent")).to_have_attribute("data-intent", "report_fraud")
    expect(agent.get_by_test_id("context-intent")).to_contain_text("93%")
    ranking = agent.get_by_test_id("context-ranking-item")
    expect(ranking).to_have_count(3)
    expect(ranking.first).to_have_attribute("data-intent", "report_fraud")
    entities = agent.get_by_test_id("context-entities")
    expect(entities.locator('[data-name="amount"] dd')).to_have_text("£250")
    expect(entities.locator('[data-name="card_last_four"] dd')).to_have_text("4242")
    expect(agent.get_by_test_id("context-slots").locator('[data-name="card_last_four"] dd')).to_have_text("4242")
    expect(agent.get_by_test_id("context-topic")).to_have_text("report fraud")
    expect(agent.get_by_test_id("context-note")).to_have_text("card blocked: no")
    expect(agent.get_by_test_id("context-transcript")).to_contain_text("card ending 4242")
    expect(agent.get_by_test_id("agent-message").first).to_have_attribute("data-sender", "customer")
    expect(agent.get_by_test_id("agent-input")).to_be_disabled()
    screenshot(agent, "agent-queued")

    # Claim: the conversation moves to Mine, the customer hears who joined.
    agent.get_by_test_id("claim-button").click()
    expect(queue_item(agent, "mine-list", conversation_id)).to_be_visible()
    expect(queue_item(agent, "queue-list", conversation_id)).to_have_count(0)
    expect(agent.get_by_test_id("claim-button")).to_be_hidden()
    expect(agent.get_by_test_id("agent-input")).to_be_enabled()
    expect(customer.get_by_test_id("chat-status")).to_have_text("Chatting with Alex")
    expect(customer.locator('[data-testid="chat-message"][data-sender="system"]')).to_contain_text("Alex joined")

    # Both ways, live.
    send_as_agent(agent, "Hello, I'm Alex from the fraud team. I've frozen the card ending 4242.")
    from_agent = customer.locator('[data-testid="chat-message"][data-sender="agent"]')
    expect(from_agent).to_contain_text("I've frozen the card ending 4242")
    expect(from_agent.get_by_test_id("chat-author")).to_have_text("Alex")
    expect(agent.locator('[data-testid="agent-message"][data-sender="agent"]')).to_have_attribute("data-state", "sent")

    send_as_customer(customer, "Thank you, that's a relief")
    expect(agent.locator('[data-testid="agent-message"][data-sender="customer"]').last).to_have_text(
        re.compile("Thank you, that's a relief"))
    screenshot(customer, "customer-assigned")
    screenshot(agent, "agent-assigned")

    # Resolve asks for the label first: what the customer needed, prefilled with the bot's top intent, and
    # whether a person was needed; Resolve waits for both.
    agent.get_by_test_id("resolve-button").click()
    form = agent.get_by_test_id("label-form")
    expect(form).to_be_visible()
    expect(agent.get_by_test_id("resolve-button")).to_be_hidden()
    expect(agent.get_by_test_id("label-intent")).to_have_value("report_fraud")
    expect(agent.get_by_test_id("label-intent").locator("option[value=sensitive_screen]")).to_have_count(0)
    expect(agent.get_by_test_id("label-resolve")).to_be_disabled()
    agent.get_by_test_id("label-intent").select_option("dispute_charge")
    agent.get_by_test_id("label-needed-yes").check()
    screenshot(agent, "agent-label")
    agent.get_by_test_id("label-resolve").click()

    # Resolved: gone from Mine; the customer's chat is closed and offers a new one; the label is on the handoff.
    expect(form).to_be_hidden()
    expect(queue_item(agent, "mine-list", conversation_id)).to_have_count(0)
    expect(agent.get_by_test_id("conversation-status")).to_have_attribute("data-status", "resolved")
    expect(customer.get_by_test_id("chat-closed")).to_be_visible()
    expect(customer.get_by_test_id("chat-input")).to_be_hidden()
    screenshot(customer, "customer-resolved")
    assert portal.django(f"""
        from conversations.models import Handoff
        handoff = Handoff.objects.get(conversation_id={conversation_id!r})
        print(json.dumps([handoff.label_intent, handoff.label_handoff_needed]))
    """) == ["dispute_charge", True]

    customer.get_by_test_id("chat-new").click()
    expect(customer.get_by_test_id("chat-closed")).to_be_hidden()
    expect(customer.get_by_test_id("chat-message")).to_have_count(0)
    expect(customer.get_by_test_id("chat-panel")).to_have_attribute("data-connection", "online")
    assert conversation_id_of(customer) != conversation_id


def test_hand_back_returns_the_customer_to_the_assistant(portal: Portal, customer: Page, agent: Page):
    send_as_customer(customer, "can I talk to a person")
    expect(customer.locator('[data-testid="chat-message"][data-sender="customer"]')).to_have_attribute(
        "data-state", "sent")
    conversation_id = conversation_id_of(customer)
    portal.queue_conversation(conversation_id, reason="explicit_request", priority="normal", topic="request_human")

    queue_item(agent, "queue-list", conversation_id).click()
    agent.get_by_test_id("claim-button").click()
    expect(agent.get_by_test_id("handback-button")).to_be_visible()
    agent.get_by_test_id("handback-button").click()

    expect(queue_item(agent, "mine-list", conversation_id)).to_have_count(0)
    expect(agent.get_by_test_id("conversation-status")).to_have_attribute("data-status", "bot")
    expect(agent.get_by_test_id("agent-input")).to_be_disabled()
    expect(customer.get_by_test_id("chat-status")).to_have_attribute("data-status", "bot")
    expect(customer.locator('[data-testid="chat-message"][data-sender="system"]').last).to_contain_text(
        "back with our virtual assistant")
    expect(customer.get_by_test_id("chat-input")).to_be_enabled()


def test_queue_is_sorted_by_priority_then_waiting_time(portal: Portal, agent: Page):
    first_normal = portal.start_conversation()
    urgent = portal.start_conversation()
    second_normal = portal.start_conversation()
    portal.queue_conversation(first_normal, priority="normal")
    portal.queue_conversation(urgent, priority="urgent")
    portal.queue_conversation(second_normal, priority="normal")

    ours = {first_normal, urgent, second_normal}
    items = agent.get_by_test_id("queue-list").get_by_test_id("queue-item")
    expect(items.and_(agent.locator(f'[data-conversation-id="{second_normal}"]'))).to_be_visible()
    order = [i for i in items.evaluate_all("els => els.map(e => e.dataset.conversationId)") if i in ours]
    assert order == [urgent, first_normal, second_normal]


def test_a_claim_by_another_agent_leaves_this_queue_live(portal: Portal, agent: Page, new_context):
    conversation_id = portal.start_conversation()
    portal.queue_conversation(conversation_id)
    expect(queue_item(agent, "queue-list", conversation_id)).to_be_visible()

    sam = log_in(new_context().new_page(), portal, "sam")
    queue_item(sam, "queue-list", conversation_id).click()
    sam.get_by_test_id("claim-button").click()
    expect(queue_item(sam, "mine-list", conversation_id)).to_be_visible()

    expect(queue_item(agent, "queue-list", conversation_id)).to_have_count(0)
    expect(queue_item(agent, "mine-list", conversation_id)).to_have_count(0)


def test_an_agent_whose_socket_dropped_resyncs_the_inbox_on_reconnect(portal: Portal, new_context):
    """A handoff queued while the agent's socket is down appears after the reconnect, from the inbox snapshot."""
    page = new_context().new_page()
    portal_down = {"value": False}
    sockets = []

    def route(ws) -> None:
        if portal_down["value"]:
            ws.close(code=1012, reason="portal restarting")
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket("**/ws/agent/", route)
    log_in(page, portal, "alex")

    portal_down["value"] = True
    sockets[-1].close(code=1012, reason="portal restarting")
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "offline")
    conversation_id = portal.start_conversation()
    portal.queue_conversation(conversation_id)  # no socket of this agent hears of it
    expect(queue_item(page, "queue-list", conversation_id)).to_have_count(0)

    portal_down["value"] = False
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "online", timeout=15_000)
    expect(queue_item(page, "queue-list", conversation_id)).to_be_visible()
    assert len(sockets) >= 2


def test_an_agent_who_missed_a_message_gets_it_by_its_number_without_reconnecting(portal: Portal, new_context):
    """One message.new for the open conversation is lost between the portal and the page (this test drops it):
    the next message's seq shows the gap, and the inbox asks for it on the same socket."""
    lost, after = "the message whose event was lost", "the message after it"
    page = new_context().new_page()
    sockets, dropped, syncs = [], [], []

    def route(ws) -> None:
        server = ws.connect_to_server()
        sockets.append(ws)

        def from_portal(message) -> None:
            frame = json.loads(message)
            if frame.get("type") == "message.new" and frame["message"]["text"] == lost:
                dropped.append(frame)
                return
            ws.send(message)

        def from_page(message) -> None:
            if json.loads(message).get("type") == "messages.sync":
                syncs.append(json.loads(message))
            server.send(message)

        server.on_message(from_portal)
        ws.on_message(from_page)

    page.route_web_socket("**/ws/agent/", route)
    log_in(page, portal, "alex")
    conversation_id = portal.start_conversation()
    portal.queue_conversation(conversation_id)
    queue_item(page, "queue-list", conversation_id).click()
    page.get_by_test_id("claim-button").click()
    lines = page.locator('[data-testid="agent-message"]')
    expect(lines.last).to_have_text(re.compile("Alex joined the conversation"))
    shown = lines.count()

    portal.django(f"""
        import uuid
        from conversations import services
        for text in ({lost!r}, {after!r}):
            services.message_post_customer(conversation_id=uuid.UUID({conversation_id!r}),
                                           client_id=str(uuid.uuid4()), text=text)
        print(json.dumps("stored"))
    """)

    customer_lines = page.locator('[data-testid="agent-message"][data-sender="customer"]')
    expect(customer_lines.nth(1)).to_contain_text(lost)
    expect(customer_lines.nth(2)).to_contain_text(after)
    expect(lines).to_have_count(shown + 2)  # each once
    assert len(dropped) == 1 and len(sockets) == 1  # recovered on the socket it had: no reconnect
    assert [(s["conversation_id"], s["after_seq"]) for s in syncs] == [(conversation_id, dropped[0]["message"]["seq"] - 1)]
