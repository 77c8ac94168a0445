"""Several portal processes on one port (uvicorn workers): a customer and an agent whose sockets were
accepted by different processes still talk live, through the Redis channel layer they share."""

from __future__ import annotations

from .clients import Agent, Customer, is_message, is_type
from .harness import Stack
from .test_conversation import FRAUD_REPORT, handoff_of

TRIES = 20  # new customer sockets until one lands on another process than the agent's (the kernel picks)


async def customer_on_another_process(stack: Stack, agent_process: int) -> tuple[Customer, int]:
    for _ in range(TRIES):
        customer = await Customer.start(stack.http_url, stack.ws_url)
        process = stack.portal_process_of(f"customer socket open: conversation {customer.conversation_id}")
        if process != agent_process:
            return customer, process
        await customer.close()
    raise AssertionError(f"{TRIES} customer sockets all landed on the agent's process {agent_process}")


async def test_a_customer_and_an_agent_on_different_processes_talk_live(stack: Stack) -> None:
    assert stack.config.portal_workers >= 2
    before = len(stack.portal_log.read_text(errors="replace"))  # earlier tests' agent sockets are logged too
    agent = await Agent.log_in(stack.http_url, stack.ws_url, stack.agent_username, stack.agent_password)
    agent_process = stack.portal_process_of(f"agent socket open: {stack.agent_username}", after=before)
    customer, customer_process = await customer_on_another_process(stack, agent_process)
    assert customer_process != agent_process
    conversation = customer.conversation_id

    # The worker's handoff reaches the agent's process; the claim, the customer's.
    await customer.say(FRAUD_REPORT)
    await agent.wait_for(handoff_of(conversation, "queued"), what="the handoff in the inbox")
    await agent.act("conversation.open", conversation)
    await agent.wait_for(is_type("conversation.snapshot"), what="the conversation snapshot")
    await agent.act("handoff.claim", conversation)
    await customer.wait_for(is_type("conversation.status", status="assigned"), what="agent joined")

    await agent.say(conversation, "Hello from another process")
    await customer.wait_for(is_message("agent", "another process"), what="the agent's message, live")
    await customer.say("and hello back")
    await agent.wait_for(is_message("customer", "hello back"), what="the customer's message, live")

    await customer.close()
    await agent.close()
