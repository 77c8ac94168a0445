"""bank_policy.yml covers every topic the bot's rules send to it, and parses into the contract's types."""

from __future__ import annotations

from pathlib import Path

import yaml
from actions.bank_policy import bank_policy

from contracts.handoff import HandoffReason

RULES = Path(__file__).resolve().parents[2] / "bot" / "data" / "rules"


def intents_of_rule(file_name: str, rule_name: str) -> set:
    rules = yaml.safe_load((RULES / file_name).read_text())["rules"]
    [rule] = [r for r in rules if r["rule"] == rule_name]
    return {step["intent"] for step in rule["steps"][0]["or"]}


def test_every_routine_topic_has_an_answer_and_a_label():
    policy = bank_policy()
    for topic in intents_of_rule("rules_faq.yml", "answer a routine question from the bank's policy"):
        assert policy.answer(topic), topic
        assert topic in policy.labels, topic


def test_every_handoff_topic_has_a_reason_and_priority():
    policy = bank_policy()
    topics = intents_of_rule("rules_handoff.yml", "sensitive topics and requests for a person go to a person")
    assert topics == set(policy.handoff_topics)
    assert policy.handoff_topics["report_fraud"].priority.value == "urgent"
    assert policy.handoff_topics["request_human"].reason is HandoffReason.EXPLICIT_REQUEST


def test_every_domain_intent_has_a_label(domain):
    assert set(domain["intents"]) - {
        "affirm",
        "deny",
        "inform",
        "out_of_scope",
        "express_frustration",
        "card_declined",
    } <= set(bank_policy().labels)


def test_frustration_words_match_whole_words_only():
    policy = bank_policy()
    assert policy.sounds_frustrated("This is RIDICULOUS")
    assert not policy.sounds_frustrated("I enjoyed the jokes")  # "joke" must not match inside a word
