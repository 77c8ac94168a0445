"""The safety screen (bot/components/sensitive_screen.py) on its own: the real triage file, the real encoder,
the escalation intents' real training examples. Signals must fire, near misses (the same words in a routine
question) must not. These messages are the screen's development set; the triage held-out set is not used here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.intent_thresholds import PerIntentFallbackClassifier
from components.screen_classifier import Reading
from components.sensitive_screen import (
    ASK,
    EMBEDDING_KEY,
    HAND_OFF,
    MAX_CLAUSES,
    SCREEN_KEY,
    Screen,
    SensitiveTopicScreen,
    TopicLexicon,
    _load_reading,
    _phrase_pattern,
    build_screen,
    clauses,
    normalise,
    read_screen_examples,
    read_settings,
)
from components.sentence_encoder import SentenceEncoder
from tests.bot.conftest import BOT

SIGNALS = [
    ("my nan passed away and I still have her bank card", "bereavement"),
    ("i've been having thoughts of suicide lately", "suicidal"),
    ("honestly everyone would be better off without me", "suicidal"),
    ("someone cloned my card and spent £300", "fraud"),
    ("what is this £49.99, I didn't authorise it", "fraud"),
    ("the atm didn't dispense my cash but I was debited", "atm_not_dispensed"),
    ("he controls my money and takes my wages every friday", "coercion_abuse"),
    ("i'm disabled and can't get to a branch", "illness_disability"),
    ("my account says restricted when I log in", "account_restricted"),
    ("bailiffs are coming round on monday", "financial_hardship"),
    ("a caller said he was from your security team and told me to move my money to a safe account", "scam"),
    ("got charged twice at the supermarket", "dispute"),
    ("My Husband Died Last Night, what happens to our joint account?", "bereavement"),
    # third round: categories said in many wordings (phrases with wordings and gaps)
    ("how do i put my savings in my sons name, i wont be around for much longer", "suicidal"),
    ("ive been stockpiling my tablets, who gets my isa", "suicidal"),
    ("im writing goodbye letters to my kids tonight, make sure they get my money", "suicidal"),
    ("cancel all my direct debits, im ending it this weekend", "suicidal"),
    ("my girlfriend took my card and wont give it back", "coercion_abuse"),
    ("my son makes me withdraw cash for him every week", "coercion_abuse"),
    ("somebody's been spending on my card all morning", "fraud"),
    ("been chatting to a woman online for weeks and she needs money for her flight", "scam"),
    ("my hours have been cut and the bills are piling up", "financial_hardship"),
    ("the machine went blank mid transaction and my balance dropped", "atm_not_dispensed"),
    ("can i talk to a real person about my mortgage please", "person"),
    ("honestly my family would manage fine without me, how do i add them to my account", "suicidal"),
    ("im in a really dark place right now", "suicidal"),
    ("two charges from a hotel in rome, ive never been there", "fraud"),
    ("a man on telegram promised to triple my money", "scam"),
    ("once im not here my sister should get my savings", "suicidal"),
    ("a man from microsoft is on my laptop and wants paying", "scam"),
    ("theres a direct debit on my account and i never set it up", "fraud"),
]
NEAR_MISSES = [
    "my phone died, can I check my balance on the website?",
    "what time do you close on friday",
    "how do I set up a standing order to my landlord",
    "my card was declined at the shop",
    "is there a fee at cash machines abroad",
    "how do I pay in a cheque",
    "what's the interest on the easy saver",
    "can I change my PIN at the cash machine",
    "my new card still hasn't arrived",
    "what's the contactless limit",
    "how long does an international transfer take",
    "what is the security code on my card for",
    "what's the sort code",
    # third round: the new wordings' alarming words used harmlessly
    "the app died on me halfway through a payment",
    "I nearly died of embarrassment when my card was declined",
    "i've been cutting back on spending, how do I set up a savings pot",
    "I'm going to the bridge street branch tomorrow, what time does it open",
    "no I don't need a person, just tell me the sort code",
    "my son lost his phone, how do I update his number on his account",
    "I haven't bought anything with my new card yet, is it active?",
    "is my money guaranteed by the FSCS",
    "my employer paid me late, when will it show",
    "close my old savings account please, I won't need it after I move banks",
    "i need to end my contract with you, how do I close my account",
    "I'm killing time at the airport, what's the contactless limit abroad",
    # near the suicidal topic's practical examples, which hand off at 0.6
    "i want my savings to go to my children's account every month",
    "please sort my account out, the app is broken",
    "i want my money moved to my sister's account",
    "is there any point saving in the easy saver at this rate",
    "the money doesn't matter, i just want the card fixed",
    "close my account please, i won't need it any more",
    "i've never been to a branch, where is the nearest one",
    "this queue is killing me, what time do you close",
    "my card died so can i get a new one",
    "i set it up myself last week, how do i change the date",
    "how do I set up my wife as a beneficiary on my isa",
    "i'm tired of waiting for my new card, when will it arrive",
    "whats the point of the premium account, is it worth it",
    "my husband changed the password on our joint account and forgot it, how do we reset",
    "i didn't set it up, my wife did, how do i cancel the standing order",
    "the man from the council said i can pay my council tax by direct debit, how do i set it up",
    "nobody picks up at the branch phone, what are your opening hours",
    "tired of everything being online, can i still use cheques",
]
POSSIBLE = [
    ("there's a strange payment on my account, what's my balance?", "fraud"),
    ("i'm a bit unwell, what time does the branch open", "illness_disability"),
]

@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()

@pytest.fixture(scope="module")
def by_intent() -> dict[str, list[str]]:
    """The bot's training examples, by intent."""
    examples: dict[str, list[str]] = {}
    for path in (BOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in block:
                examples[block["intent"]] = [
                    line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")
                ]
    return examples

@pytest.fixture(scope="module")
def screen(encoder, by_intent) -> Screen:
    """The lexicon and nearness, without the learnt reading: the tests of those two."""
    return build_screen(read_settings(BOT / "triage" / "sensitive_topics.yml"), by_intent, None, encoder.encode)

@pytest.fixture(scope="module")
def full_screen(encoder, by_intent) -> Screen:
    """The screen as the bot runs it: the lexicon, nearness and the learnt reading."""
    settings = read_settings(BOT / "triage" / "sensitive_topics.yml")
    examples = read_screen_examples(BOT / "triage" / "screen_examples.yml")
    return build_screen(settings, by_intent, examples, encoder.encode)

def check(screen: Screen, encoder: SentenceEncoder, text: str, intent: str | None = None):
    return screen.check(text, encoder.encode([text])[0], intent)

@pytest.mark.parametrize("text,topic", SIGNALS)
def test_signals_hand_off(screen, encoder, text, topic):
    finding = check(screen, encoder, text)
    assert finding is not None, text
    assert (finding.decision, finding.topic) == (HAND_OFF, topic)

@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_pass(screen, encoder, text):
    assert check(screen, encoder, text) is None

@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_pass_the_learnt_reading_too(full_screen, encoder, text):
    assert check(full_screen, encoder, text) is None

@pytest.mark.parametrize("text,topic", SIGNALS)
def test_signals_hand_off_with_the_learnt_reading_too(full_screen, encoder, text, topic):
    finding = check(full_screen, encoder, text)
    assert finding is not None and (finding.decision, finding.topic) == (HAND_OFF, topic)

# Said in words no phrase of the triage file holds and no topic example is near: only the learnt reading reaches them.
UNLISTED = [
    ("my mother in law has my bank card and only gives me twenty quid a week for the shopping", "coercion_abuse"),
    ("since we buried my wife the letters keep coming in her name, what do i do with her current account", "bereavement"),
    ("i keep having to borrow off my mum to get to the end of the month and the overdraft is maxed", "financial_hardship"),
]

@pytest.mark.parametrize("text,topic", UNLISTED)
def test_the_learnt_reading_reaches_what_no_phrase_or_example_does(screen, full_screen, encoder, text, topic):
    assert check(screen, encoder, text) is None
    finding = check(full_screen, encoder, text)
    assert finding is not None and (finding.decision, finding.topic, finding.via) == (HAND_OFF, topic, "classifier")
    assert finding.similarity >= full_screen.classifier_hand_off

def test_the_learnt_reading_keeps_the_topics_exceptions(full_screen, encoder):
    # the person topic's exception: a customer declining a person is answered, whatever the reading says
    text = "no i dont want to talk to a human, just tell me the sort code"
    assert full_screen.lexicons["person"].excepted(normalise(text))
    assert check(full_screen, encoder, text) is None

@pytest.mark.parametrize("text,topic", POSSIBLE)
def test_possibly_sensitive_asks(screen, encoder, text, topic):
    finding = check(screen, encoder, text)
    assert finding is not None and (finding.decision, finding.topic) == (ASK, topic)

def test_nearness_alone_hands_off_a_close_rewording(screen, encoder):
    # no signal phrase in it: only its nearness to the escalation examples can catch it
    text = "the cash machine did not give me the money but it left my account"
    assert all(lexicon.match(normalise(text)) == (None, None) for lexicon in screen.lexicons.values())
    finding = check(screen, encoder, text)
    assert finding is not None and finding.via == "nearness" and finding.topic == "atm_not_dispensed"
    assert finding.similarity >= screen.hand_off_similarity

def test_nearness_does_not_override_an_intent_whose_own_examples_are_nearer(screen, encoder):
    # near a fraud example ("my card details have been stolen and used"), nearer the lost-card ones: the card
    # block form serves it, and hands off itself if the card cannot be confirmed
    assert check(screen, encoder, "my card was stolen", "lost_or_stolen_card") is None
    finding = check(screen, encoder, "my card was stolen", None)
    assert finding is not None and finding.via == "nearness"

def test_exceptions_are_taken_out_before_matching(screen):
    assert screen.lexicons["bereavement"].match(normalise("my phone died")) == (None, None)
    assert screen.lexicons["bereavement"].match(normalise("my dad died")) == ("died", None)

def test_phrases_match_whole_words_only(screen):
    # "iva" (an insolvency arrangement) must not fire inside "activate"
    assert screen.lexicons["financial_hardship"].match(normalise("how do I activate my card")) == (None, None)

def test_the_most_urgent_topic_wins(screen, encoder):
    finding = check(screen, encoder, "i can't pay my debts and i want to end my life")
    assert (finding.decision, finding.topic) == (HAND_OFF, "suicidal")

def test_per_intent_thresholds_default_to_the_global_one(tmp_path: Path):
    thresholds = tmp_path / "thresholds.yml"
    thresholds.write_text("thresholds:\n  card_declined: 0.6\n", encoding="utf-8")
    classifier = PerIntentFallbackClassifier({"threshold": 0.3, "thresholds_file": str(thresholds)})
    assert classifier.threshold_for("card_declined") == 0.6
    assert classifier.threshold_for("opening_hours") == 0.3

def test_the_bots_thresholds_file_names_only_known_intents():
    domain = yaml.safe_load((BOT / "domain.yml").read_text(encoding="utf-8"))
    thresholds = yaml.safe_load((BOT / "triage" / "intent_thresholds.yml").read_text(encoding="utf-8"))
    assert set(thresholds["thresholds"]) <= set(domain["intents"])
    assert all(0 < value < 1 for value in thresholds["thresholds"].values())

def test_a_topic_with_its_own_level_stays_above_every_routine_training_example(screen, encoder, by_intent):
    """A topic's lower hand-off level (suicidal) must not reach the bot's own routine examples: were it to, the
    screen would hand off routine questions like them."""
    routine = [t for i, ts in by_intent.items() if i not in screen.escalation_intents for t in ts]
    embeddings = encoder.encode(routine)
    for topic, (hand_off, _) in screen.levels.items():
        if hand_off == screen.hand_off_similarity:
            continue
        rows = screen.example_embeddings[[t == topic for t in screen.example_topics]]
        nearest = (embeddings @ rows.T).max(axis=1)
        assert [(t, round(float(n), 2)) for t, n in zip(routine, nearest) if n >= hand_off] == []

def test_suicidal_language_said_indirectly_hands_off_by_nearness(screen, encoder):
    text = "my family would all be better off if i was gone"
    assert all(lexicon.match(normalise(text))[0] is None for lexicon in screen.lexicons.values())
    finding = check(screen, encoder, text)
    assert finding is not None and (finding.decision, finding.topic, finding.via) == (HAND_OFF, "suicidal", "nearness")

@pytest.mark.parametrize(
    "text,expected",
    [
        ("what time do you open tomorrow? i need to report a payment", ["what time do you open tomorrow", "i need to report a payment"]),
        ("my card was declined", []),
        ("hi, thanks", []),  # clauses of fewer than three words are not read on their own
        ("is the branch open today but also my card is not working", ["is the branch open today", "my card is not working"]),
    ],
)
def test_clauses(text, expected):
    assert clauses(text) == expected

def test_a_long_message_is_read_in_at_most_max_clauses():
    text = ". ".join(f"I paid a bill on day {n}" for n in range(10))
    assert len(clauses(text)) == MAX_CLAUSES

def reading(encoder, text: str, intent: str, confidence: float):
    return {"text": text, "intent": intent, "confidence": confidence}, encoder.encode([text])[0]

def test_a_clause_read_as_an_escalation_topic_hands_off(screen, encoder):
    readings = [
        reading(encoder, "what time do you open tomorrow", "opening_hours", 0.9),
        reading(encoder, "there is a payment i never agreed to", "report_fraud", screen.clause_confidence),
    ]
    finding = screen.check_clauses(readings)
    assert finding is not None and (finding.decision, finding.topic, finding.via) == (HAND_OFF, "fraud", "clause")
    assert finding.signal == "there is a payment i never agreed to"

def test_an_unsure_clause_is_not_read_alone(screen, encoder):
    unsure = reading(encoder, "there is a payment i never agreed to", "report_fraud", screen.clause_confidence - 0.01)
    routine = reading(encoder, "what time do you open tomorrow", "opening_hours", 0.9)
    finding = screen.check_clauses([routine, unsure])
    assert finding is None or finding.via != "clause"


@pytest.mark.parametrize(
    "text,expected",
    [
        # a clause that points back is read with the one it points to, not alone
        (
            "what time do you open, my husband has my card, he wont give it back",
            ["what time do you open", "my husband has my card he wont give it back"],
        ),
        ("my card was blocked at the shop, how do i unblock it", []),  # once joined, one clause: the message
    ],
)
def test_a_clause_that_points_back_is_joined_to_the_one_before(text, expected):
    assert clauses(text) == expected


def lexicon_of(phrases: list[str], exceptions: list[str] | None = None) -> TopicLexicon:
    return TopicLexicon(_phrase_pattern(phrases), None, _phrase_pattern(exceptions or []))


@pytest.mark.parametrize(
    "text,found",
    [
        ("ive been saving up my tablets", "saving up my tablets"),
        ("been stockpiling pills for weeks", "stockpiling pills"),
        ("saving my meds up", "saving my meds up"),
        ("i am saving for a holiday", None),  # every piece without an empty wording must be there
    ],
)
def test_a_phrase_lists_wordings_in_braces_and_an_empty_one_is_optional(text, found):
    lexicon = lexicon_of(["{saving|stockpiling} {up|} {my|} {pills|tablets|meds} {up|}"])
    assert lexicon.match(normalise(text))[0] == found


def test_a_gap_in_a_phrase_allows_a_few_words_between_and_no_more():
    lexicon = lexicon_of(["{husband|partner} ... wont give it back"])
    assert lexicon.match(normalise("my husband has my card and wont give it back"))[0]
    far = "my husband said the shop i went to on the high street with my sister wont give it back"
    assert lexicon.match(normalise(far))[0] is None


def test_an_exception_with_wordings_is_taken_out_first():
    lexicon = lexicon_of(["died"], ["{phone|app|battery} {has|just|} died", "died on me"])
    assert lexicon.match(normalise("the app just died halfway through")) == (None, None)
    assert lexicon.match(normalise("my dad died last week")) == ("died", None)


def test_a_graver_topic_found_by_nearness_wins_over_another_topics_phrase(screen, encoder):
    # "executor" is a bereavement phrase (high); the message is suicidal language said indirectly (urgent)
    text = "everyone would be better off if i was gone, even the executor"
    assert screen.lexicons["bereavement"].match(normalise(text))[0] == "executor"
    assert screen.lexicons["suicidal"].match(normalise(text)) == (None, None)
    finding = check(screen, encoder, text)
    assert finding is not None and (finding.decision, finding.topic, finding.via) == (HAND_OFF, "suicidal", "nearness")


def test_a_phrase_is_preferred_to_nearness_of_the_same_topic(screen, encoder):
    # both find suicidal language here; the agent's note should quote the customer's words
    finding = check(screen, encoder, "i want to end my life")
    assert finding is not None and (finding.topic, finding.via, finding.signal) == ("suicidal", "phrase", "end my life")


@pytest.mark.parametrize("best_guess,flagged", [("report_fraud", False), ("opening_hours", True)])
def test_an_ask_leaves_an_unsure_reading_whose_best_guess_hands_off(screen, encoder, best_guess, flagged):
    # the fallback hands off when its best guess is an escalation intent: asking first would only delay that
    text, _ = POSSIBLE[0]
    assert check(screen, encoder, text).decision == ASK
    message = Message(data={TEXT: text})
    message.set(INTENT, {INTENT_NAME_KEY: "nlu_fallback", PREDICTED_CONFIDENCE_KEY: 1.0})
    ranking = [{INTENT_NAME_KEY: "nlu_fallback"}, {INTENT_NAME_KEY: best_guess}, {INTENT_NAME_KEY: "greet"}]
    message.set(INTENT_RANKING_KEY, ranking)
    message.set(EMBEDDING_KEY, encoder.encode([text])[0])
    SensitiveTopicScreen({}, None, None, screen).process([message])  # type: ignore[arg-type]
    assert message.get(SCREEN_KEY)["decision"] == ASK
    assert message.get(INTENT)[INTENT_NAME_KEY] == ("sensitive_screen" if flagged else "nlu_fallback")


def test_a_model_trained_before_the_learnt_reading_keeps_its_lexicon_and_nearness(screen, encoder, tmp_path: Path):
    # an older version kept for rollback: no reading in its files, no reading's levels in its settings
    assert _load_reading(tmp_path) is None
    settings = {k: v for k, v in read_settings(BOT / "triage" / "sensitive_topics.yml").items() if k != "classifier"}
    older = Screen(settings, screen.example_texts, screen.example_topics, screen.example_embeddings)
    finding = check(older, encoder, "someone cloned my card and spent £300")
    assert finding is not None and (finding.decision, finding.topic, finding.via) == (HAND_OFF, "fraud", "phrase")


class FixedReading:
    """A reading that says what it is told: the levels' logic on its own."""

    def __init__(self, topic: str, probability: float) -> None:
        self.reading = Reading(topic, probability)

    def read(self, texts, embeddings):
        return [self.reading for _ in texts]


@pytest.mark.parametrize(
    "topic,probability,decision",
    [("suicidal", 0.55, HAND_OFF), ("fraud", 0.55, ASK), ("fraud", 0.75, HAND_OFF), ("suicidal", 0.45, None)],
)
def test_the_reading_of_suicidal_language_hands_off_where_another_topic_would_ask(
    screen, encoder, topic, probability, decision
):
    settings = read_settings(BOT / "triage" / "sensitive_topics.yml")
    assert settings["classifier"]["ask"] <= 0.5 < settings["classifier"]["hand_off"] <= 0.75
    reading = FixedReading(topic, probability)
    fixed = Screen(settings, screen.example_texts, screen.example_topics, screen.example_embeddings, classifier=reading)  # type: ignore[arg-type]
    text = "what time do you open tomorrow"
    finding = check(fixed, encoder, text)
    if decision is None:
        assert finding is None
    else:
        assert finding is not None and (finding.decision, finding.topic, finding.via) == (decision, topic, "classifier")
