"""The customer widget on its own: resuming after a reload, reconnecting, bot buttons, a phone-width screen."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import Portal, conversation_id_of, screenshot
from .test_ui_handoff import send_as_customer


def customer_messages(page: Page):
    return page.locator('[data-testid="chat-message"][data-sender="customer"]')


def post_bot_reply(portal: Portal, conversation_id: str, text: str, buttons: list[dict[str, str]]) -> None:
    """The bot's answer, stored the way the bot gateway stores it."""
    portal.django(f"""
        from django.db import transaction
        from bot_gateway.client import BotReply
        from conversations import services
        from conversations.models import Conversation
        with transaction.atomic():
            conversation = Conversation.objects.get(pk={conversation_id!r})
            services.messages_post_bot(conversation=conversation, replies=[BotReply(text={text!r}, buttons={buttons!r})])
        print(json.dumps(True))
    """)


def test_a_reload_resumes_the_conversation_without_duplicates(customer: Page):
    send_as_customer(customer, "what time do you open on saturday")
    expect(customer_messages(customer)).to_have_attribute("data-state", "sent")
    conversation_id = conversation_id_of(customer)

    customer.reload()

    expect(customer.get_by_test_id("chat-panel")).to_be_visible()  # it was open: it opens again
    expect(customer.get_by_test_id("chat-panel")).to_have_attribute("data-connection", "online")
    expect(customer_messages(customer)).to_have_count(1)
    expect(customer_messages(customer).get_by_test_id("chat-text")).to_have_text("what time do you open on saturday")
    assert conversation_id_of(customer) == conversation_id


def test_a_resolved_conversation_is_forgotten_by_the_browser(portal: Portal, customer: Page):
    send_as_customer(customer, "can you close this chat please")
    expect(customer_messages(customer)).to_have_attribute("data-state", "sent")
    conversation_id = conversation_id_of(customer)
    portal.create_agent("rita", "Rita")
    portal.queue_conversation(conversation_id)
    portal.django(f"""
        from django.contrib.auth.models import User
        from conversations import transitions
        rita = User.objects.get(username="rita")
        transitions.conversation_claim(conversation_id={conversation_id!r}, agent=rita)
        transitions.conversation_resolve(conversation_id={conversation_id!r}, agent=rita)
        print(json.dumps(True))
    """)

    expect(customer.get_by_test_id("chat-status")).to_have_attribute("data-status", "resolved")
    expect(customer_messages(customer)).to_have_count(1)  # the page still shows what was said
    assert customer.evaluate("localStorage.getItem('switchboard.widget.session')") is None

    customer.reload()  # a new visit: the widget closed, as for anyone, and a new conversation once opened
    expect(customer.get_by_test_id("chat-panel")).to_be_hidden()
    customer.get_by_test_id("chat-launcher").click()
    expect(customer.get_by_test_id("chat-panel")).to_have_attribute("data-connection", "online")
    expect(customer_messages(customer)).to_have_count(0)
    assert conversation_id_of(customer) != conversation_id


def test_after_a_dropped_socket_the_widget_reconnects_resyncs_and_sends_what_was_pending(customer: Page):
    send_as_customer(customer, "first message")
    expect(customer_messages(customer)).to_have_attribute("data-state", "sent")

    customer.evaluate("window.SwitchboardWidget.socket.close()")
    expect(customer.get_by_test_id("chat-panel")).to_have_attribute("data-connection", "offline")
    send_as_customer(customer, "written while offline")
    expect(customer_messages(customer).last).to_have_attribute("data-state", "pending")

    expect(customer.get_by_test_id("chat-panel")).to_have_attribute("data-connection", "online")
    expect(customer_messages(customer)).to_have_count(2)
    expect(customer_messages(customer).last).to_have_attribute("data-state", "sent")
    customer.reload()  # the portal stored each exactly once
    expect(customer_messages(customer)).to_have_count(2)


def test_bot_buttons_send_their_payload_and_show_their_title(portal: Portal, customer: Page):
    send_as_customer(customer, "I lost my card")
    expect(customer_messages(customer)).to_have_attribute("data-state", "sent")
    conversation_id = conversation_id_of(customer)

    post_bot_reply(portal, conversation_id, "Shall I freeze the card for you?",
                   [{"title": "Yes, freeze it", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}])
    bot = customer.locator('[data-testid="chat-message"][data-sender="bot"]')
    expect(bot.get_by_test_id("chat-text")).to_have_text("Shall I freeze the card for you?")
    expect(bot.get_by_test_id("chat-author")).to_have_text("Northbank assistant")
    bot.get_by_test_id("chat-button").filter(has_text="Yes, freeze it").click()

    expect(customer_messages(customer).last.get_by_test_id("chat-text")).to_have_text("Yes, freeze it")
    expect(customer_messages(customer).last).to_have_attribute("data-state", "sent")
    expect(bot.get_by_test_id("chat-button").first).to_be_disabled()
    stored = portal.django(f"""
        from conversations.models import Message
        last = Message.objects.filter(conversation_id={conversation_id!r}, sender="customer").latest("id")
        print(json.dumps([last.text, last.payload]))
    """)
    assert stored == ["Yes, freeze it", "/affirm"]


def test_the_agent_sees_the_payload_a_chosen_button_sent_to_the_bot(portal: Portal, customer: Page, agent: Page):
    send_as_customer(customer, "I lost my card")
    expect(customer_messages(customer)).to_have_attribute("data-state", "sent")
    conversation_id = conversation_id_of(customer)
    post_bot_reply(portal, conversation_id, "Shall I block it?",
                   [{"title": "Yes, block it", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}])
    customer.get_by_test_id("chat-button").filter(has_text="Yes, block it").click()
    expect(customer_messages(customer).last).to_have_attribute("data-state", "sent")
    portal.queue_conversation(conversation_id)

    agent.get_by_test_id("queue-list").locator(f'[data-conversation-id="{conversation_id}"]').click()
    chosen = agent.locator('[data-testid="agent-message"][data-sender="customer"]').last
    expect(chosen).to_contain_text("Yes, block it")
    expect(chosen.get_by_test_id("message-payload")).to_have_text("Button chosen; the bot was sent /affirm")
    offered = agent.locator('[data-testid="agent-message"][data-sender="bot"]').last
    expect(offered).to_contain_text("Offered: Yes, block it (/affirm) · No (/deny)")


def test_a_typed_bot_command_is_not_sent_and_the_customer_is_told_why(portal: Portal, customer: Page):
    send_as_customer(customer, "/report_fraud")
    expect(customer_messages(customer)).to_have_attribute("data-state", "failed")
    expect(customer.get_by_test_id("chat-notice").last).to_have_text(
        "Please write that in words: a message can't start with a slash (/)."
    )
    stored = portal.django(f"""
        from conversations.models import Message
        print(json.dumps(Message.objects.filter(conversation_id={conversation_id_of(customer)!r}).count()))
    """)
    assert stored == 0


def test_on_a_phone_the_panel_fills_the_screen_and_works(portal: Portal, new_context):
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.goto(portal.url + "/demo/")
    screenshot(phone, "demo-phone")
    phone.get_by_test_id("chat-launcher").click()
    panel = phone.get_by_test_id("chat-panel")
    expect(panel).to_have_attribute("data-connection", "online")
    box = panel.bounding_box()
    # Layout sizes are fractional (844.00003 seen): the panel fills the screen to within a pixel.
    assert box is not None and (round(box["width"]), round(box["height"])) == (390, 844)

    send_as_customer(phone, "hi")
    expect(customer_messages(phone)).to_have_attribute("data-state", "sent")
    screenshot(phone, "customer-phone")
    phone.get_by_test_id("chat-close").click()
    expect(panel).to_be_hidden()
    expect(phone.get_by_test_id("chat-launcher")).to_have_attribute("aria-expanded", "false")


def test_the_composer_holds_at_most_2000_characters(customer: Page):
    customer.get_by_test_id("chat-input").fill("x" * 2500)
    assert len(customer.get_by_test_id("chat-input").input_value()) == 2000
    expect(customer.get_by_test_id("chat-counter")).to_have_text("2000 / 2000")


def test_a_stored_token_the_portal_refuses_is_replaced_by_a_new_session(portal: Portal, new_context):
    page = new_context().new_page()
    page.goto(portal.url + "/")
    page.evaluate("""localStorage.setItem('switchboard.widget.session',
                     JSON.stringify({conversation_id: 'forged', token: 'forged-token', open: true}))""")
    page.reload()

    expect(page.get_by_test_id("chat-panel")).to_have_attribute("data-connection", "online")
    assert conversation_id_of(page) != "forged"
    send_as_customer(page, "hello again")
    expect(customer_messages(page)).to_have_attribute("data-state", "sent")
