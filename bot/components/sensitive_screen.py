"""The safety screen: a second check on every customer message that does not trust the intent classifier.

Three signals, from bot/triage/sensitive_topics.yml (the one file to review and edit), none trusting the intent:
* a lexicon of signal phrases per topic ("money taken", "passed away", "kill myself"), matched whole-word;
* semantic nearness: the cosine between the message's all-MiniLM-L6-v2 embedding (the one the intent
  classifier already computed, so the screen costs a dot product, not a second encoding) and the topic's
  examples (its own, plus the training examples of the escalation intents it names);
* a learnt reading (components.screen_classifier): a classifier of topic-or-answered trained on those examples, the
  many more of bot/triage/screen_examples.yml, and everything the bot answers itself.

A message of several clauses ("what time do you open? someone took money from me") is also screened clause by
clause: the classifier reads each clause too (`clauses` in the parse data), and a clause it reads as an escalation
topic's intent, or that is near a topic's example, counts as if it were the whole message, so a routine question
first cannot hide the serious matter after it.

A signal phrase or a near example hands off; a `possible` phrase or a nearish example asks once. When the screen
fires and the classifier's intent does not already go to a person, the intent becomes `sensitive_screen` (as
FallbackClassifier makes it `nlu_fallback`), and the rule for it runs `action_screen`. The finding travels in
the parse data under `sensitive_screen`: decision, topic, the signal (phrase or nearest example), similarity,
and the intent the classifier had read.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.screen_classifier import TopicClassifier, training_pairs
from components.sentence_encoder import SentenceEncoder

logger = logging.getLogger(__name__)

SCREEN_KEY = "sensitive_screen"  # the finding, in the message's parse data
SCREEN_INTENT = "sensitive_screen"  # the intent a flagged routine message gets
EMBEDDING_KEY = "sentence_embedding"  # set by SentenceEmbeddingIntentClassifier on each message it encodes
CLAUSES_KEY = "clauses"  # the classifier's reading of each clause of a message of several (Clause.as_dict)
CLAUSE_EMBEDDINGS_KEY = "clause_embeddings"  # their embeddings, in the same order (not in the output)
HAND_OFF, ASK = "hand_off", "ask"
# Where one clause ends and another begins: sentence punctuation, a comma, or a conjunction that starts a new
# matter. Clauses of fewer words carry too little to read on their own.
_CLAUSE_BREAK = re.compile(r"[.?!;,\n]+|\s(?:but also|and also|but|also|plus|because|cos|coz|as well as|then)\s", re.IGNORECASE)
_CLAUSE_MIN_WORDS = 3
# A clause that points back ("how do I unblock it", "he wont give it back") is about the clause before it: it is
# read joined to that one, not alone. One that ends on a pronoun, or a short one that holds one.
_POINTS_BACK = re.compile(r"\b(?:it|this|that|them|one)\W*$", re.IGNORECASE)
_HOLDS_A_PRONOUN = re.compile(r"\b(?:it|this|that|them)\b", re.IGNORECASE)
_SHORT_CLAUSE_WORDS = 5
MAX_CLAUSES = 4  # bounds the extra encoding a long message costs (about 4 ms a clause on this machine)


def clauses(text: str) -> List[str]:
    """The clauses of a message of several, at most MAX_CLAUSES (the longest); [] for a message of one."""
    parts: List[str] = []
    for part in (" ".join(part.split()) for part in _CLAUSE_BREAK.split(text)):
        if parts and part and _points_back(part):
            parts[-1] = f"{parts[-1]} {part}"
        elif part:
            parts.append(part)
    parts = [part for part in parts if len(part.split()) >= _CLAUSE_MIN_WORDS]
    if len(parts) < 2:
        return []
    longest = set(sorted(parts, key=lambda part: -len(part))[:MAX_CLAUSES])
    return [part for part in parts if part in longest][:MAX_CLAUSES]


def _points_back(clause: str) -> bool:
    short = len(clause.split()) <= _SHORT_CLAUSE_WORDS
    return bool(_POINTS_BACK.search(clause) or (short and _HOLDS_A_PRONOUN.search(clause)))


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped ("didn't" → "didnt"), anything else not a letter or digit a space."""
    text = re.sub(r"['’`]", "", text.lower())
    return " ".join(re.sub(r"[^a-z0-9£]+", " ", text).split())


# In a phrase of the triage file, "{a|b}" is any one of its words or wordings (an empty one makes it optional) and
# "..." up to _GAP_WORDS words of anything, so one phrase covers the many ways of saying a thing ("{saving|saved}
# {up|} my {pills|tablets}", "{husband|partner} ... wont give it back").
_ALTERNATIVES_OR_GAP = re.compile(r"(\{[^}]*\}|\.\.\.)")
_GAP_WORDS = 6


def _phrase_regex(phrase: str) -> str:
    """A phrase as a regex over normalised text with a space after every word (so each piece ends a word)."""
    pieces = []
    for part in _ALTERNATIVES_OR_GAP.split(phrase):
        if part == "...":
            pieces.append(rf"(?:\S+ ){{0,{_GAP_WORDS}}}")
        elif part.startswith("{"):
            options = [normalise(option) for option in part[1:-1].split("|")]
            words = sorted({option for option in options if option}, key=len, reverse=True)
            optional = "?" if "" in options else ""
            pieces.append("(?:" + "|".join(re.escape(f"{word} ") for word in words) + ")" + optional)
        elif normalise(part):
            pieces.append(re.escape(f"{normalise(part)} "))
    return "".join(pieces)


def _phrase_pattern(phrases: Sequence[str]) -> Optional[re.Pattern[str]]:
    regexes = sorted({_phrase_regex(p) for p in phrases} - {""}, key=len, reverse=True)
    if not regexes:
        return None
    return re.compile(r"\b(?:" + "|".join(regexes) + ")")


@dataclass(frozen=True)
class Finding:
    decision: str  # HAND_OFF or ASK
    topic: str
    signal: str  # the phrase that matched, or the nearest example
    similarity: float  # to the nearest example of `topic` (0 when a phrase decided alone); via classifier, P(person)
    via: str  # "phrase", "nearness", "clause" or "classifier"

    def as_dict(self, classified_intent: Optional[str]) -> Dict[str, Any]:
        return {**asdict(self), "similarity": round(self.similarity, 3), "intent": classified_intent}


@dataclass(frozen=True)
class TopicLexicon:
    signals: Optional[re.Pattern[str]]
    possible: Optional[re.Pattern[str]]
    exceptions: Optional[re.Pattern[str]]

    def excepted(self, text: str) -> bool:
        """Whether normalised `text` holds one of the topic's exceptions."""
        return bool(self.exceptions and self.exceptions.search(text + " "))

    def match(self, text: str) -> Tuple[Optional[str], Optional[str]]:
        """(the signal phrase, the possible phrase) found in normalised `text`, either None."""
        text += " "  # every phrase's words end in a space (_phrase_regex)
        if self.exceptions:
            text = self.exceptions.sub(" ", text)
        signal = self.signals.search(text) if self.signals else None
        possible = self.possible.search(text) if self.possible else None
        return (signal.group(0).strip() if signal else None, possible.group(0).strip() if possible else None)


class Screen:
    """The screen's decision for one message; built from the triage file and the examples' embeddings."""

    def __init__(
        self,
        settings: Dict[str, Any],
        example_texts: List[str],
        example_topics: List[str],
        example_embeddings: np.ndarray,
        intent_names: Sequence[str] = (),
        intent_embeddings: Optional[np.ndarray] = None,
        classifier: Optional[TopicClassifier] = None,
    ) -> None:
        self.hand_off_similarity = float(settings["similarity"]["hand_off"])
        self.ask_similarity = float(settings["similarity"]["ask"])
        self.classifier = classifier
        # (A model trained before the learnt reading has neither it nor its levels.)
        levels = settings["classifier"] if classifier else {"hand_off": 1.0, "ask": 1.0}
        self.classifier_hand_off, self.classifier_ask = float(levels["hand_off"]), float(levels["ask"])
        # A topic may set its own levels, for nearness and the reading: lower where a miss costs most (suicidal).
        self.reading_levels = {
            topic: _own_levels(rule.get("classifier") or {}, self.classifier_hand_off, self.classifier_ask)
            for topic, rule in settings["topics"].items()
        }
        self.levels = {
            topic: _own_levels(rule.get("similarity") or {}, self.hand_off_similarity, self.ask_similarity)
            for topic, rule in settings["topics"].items()
        }
        self.escalation_intents = frozenset(settings["escalation_intents"])
        self.clause_confidence = float(settings["clause_confidence"])
        self.topics = list(settings["topics"])
        self.topic_of_intent = {
            intent: topic for topic, rule in settings["topics"].items() for intent in rule.get("intents") or []
        }
        self.lexicons = {
            topic: TopicLexicon(
                _phrase_pattern(rule.get("signals") or []),
                _phrase_pattern(rule.get("possible") or []),
                _phrase_pattern(rule.get("except") or []),
            )
            for topic, rule in settings["topics"].items()
        }
        self.example_texts = example_texts
        self.example_topics = example_topics
        self.example_embeddings = example_embeddings.astype(np.float32)
        # The other intents' training examples: nearness fires only where a topic's example is nearer than any
        # example of the intent the classifier read ("my card was stolen" is near a fraud example, nearer a
        # lost-card one).
        self.intent_names = list(intent_names)
        self.intent_embeddings = intent_embeddings
        self.intent_examples: Dict[str, np.ndarray] = {}
        if intent_embeddings is not None:
            names = np.array(list(intent_names))
            for intent in dict.fromkeys(intent_names):
                self.intent_examples[intent] = intent_embeddings[names == intent].astype(np.float32)

    def check(
        self, text: str, embedding: Optional[np.ndarray], intent: Optional[str] = None
    ) -> Optional[Finding]:
        """What the screen makes of `text` (embedding: its unit-length sentence embedding; intent: the one the
        classifier read): None if nothing."""
        plain = normalise(text)
        nearest = self._nearest(embedding)
        findings = []
        for topic in self.topics:
            signal, possible = self.lexicons[topic].match(plain)
            phrase, decision = (signal, HAND_OFF) if signal else (possible, ASK)
            if phrase:
                findings.append(Finding(decision, topic, phrase, nearest.get(topic, (0.0, ""))[0], "phrase"))
        near = self._check_nearness(embedding, intent, nearest)
        read = self._check_reading(text, plain, embedding)
        # The gravest, not the first: a phrase of one topic must not hide suicidal language that nearness found. A
        # phrase before nearness of the same topic and decision: the agent's note then quotes the customer's words.
        return _gravest(findings + [f for f in (near, read) if f], self.topics)

    def _check_reading(self, text: str, plain: str, embedding: Optional[np.ndarray]) -> Optional[Finding]:
        """A hand-off or an ask where the learnt reading says a person is likely enough needed: of the whole message
        only (a clause read alone, out of its context, is too often misread), and never where the topic's reviewed
        exceptions hold ("no i dont need a person, just ...", "my phone died")."""
        if self.classifier is None or embedding is None:
            return None
        reading = self.classifier.read([text], embedding)[0]
        hand_off, ask = self.reading_levels[reading.topic]
        if reading.probability < ask or self.lexicons[reading.topic].excepted(plain):
            return None
        decision = HAND_OFF if reading.probability >= hand_off else ASK
        return Finding(decision, reading.topic, text, reading.probability, "classifier")

    def _check_nearness(
        self,
        embedding: Optional[np.ndarray],
        intent: Optional[str],
        nearest: Optional[Dict[str, Tuple[float, str]]] = None,
    ) -> Optional[Finding]:
        """A hand-off or an ask for a topic whose example is as near as the topic's level, and nearer than any
        example of the text's own intent; the gravest such finding."""
        nearest = self._nearest(embedding) if nearest is None else nearest
        own = self._nearest_of_intent(embedding, intent) if nearest else 0.0
        findings = []
        for topic, (similarity, example) in nearest.items():
            hand_off, ask = self.levels[topic]
            if similarity <= own or similarity < ask:
                continue
            findings.append(Finding(HAND_OFF if similarity >= hand_off else ASK, topic, example, similarity, "nearness"))
        return _gravest(findings, self.topics)

    def check_clauses(self, readings: Sequence[Tuple[Dict[str, Any], np.ndarray]]) -> Optional[Finding]:
        """What the screen makes of a message's clauses (the classifier's reading of each, and its embedding): a
        clause read as a topic's intent hands off; otherwise each is checked for nearness as a message would be
        (the lexicon has already seen the whole text). The gravest finding, or None."""
        findings = []
        for clause, embedding in readings:
            topic = self.topic_of_intent.get(clause["intent"])
            if topic and clause["confidence"] >= self.clause_confidence:
                similarity = self._nearest(embedding).get(topic, (0.0, ""))[0]
                findings.append(Finding(HAND_OFF, topic, clause["text"], similarity, "clause"))
            else:
                findings.append(self._check_nearness(embedding, clause["intent"]))
        return _gravest([f for f in findings if f is not None], self.topics)

    def _nearest_of_intent(self, embedding: Optional[np.ndarray], intent: Optional[str]) -> float:
        examples = self.intent_examples.get(intent or "")
        if embedding is None or examples is None:
            return 0.0
        return float(_cosines(examples, embedding).max())

    def _nearest(self, embedding: Optional[np.ndarray]) -> Dict[str, Tuple[float, str]]:
        """Per topic: the highest cosine to one of its examples, and that example."""
        if embedding is None or not len(self.example_texts):
            return {}
        similarities = _cosines(self.example_embeddings, embedding)
        best: Dict[str, Tuple[float, str]] = {}
        for index in np.argsort(-similarities):
            topic = self.example_topics[index]
            if topic not in best:
                best[topic] = (float(similarities[index]), self.example_texts[index])
            if len(best) == len(self.topics):
                break
        return best


def _own_levels(own: Dict[str, float], hand_off_default: float, ask_default: float) -> Tuple[float, float]:
    """(hand-off, ask) for a topic. Its ask level is never above its hand-off level: a topic that hands off lower
    than the default must not still ask only at the default (what is under the ask level counts as nothing)."""
    hand_off = float(own.get("hand_off", hand_off_default))
    return hand_off, min(float(own.get("ask", ask_default)), hand_off)


def _gravest(findings: Sequence[Finding], topics: Sequence[str]) -> Optional[Finding]:
    """A hand-off before an ask, then the topic first in the triage file (whose order says why); of equals, the
    first."""
    return min(findings, key=lambda f: (f.decision != HAND_OFF, topics.index(f.topic)), default=None)


def _cosines(unit_rows: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    # einsum, not a BLAS matvec: a few hundred rows take microseconds, while waking BLAS's threads right after
    # the classifier's one-thread section cost ~6 ms a turn on a busy 2-core machine (profiled).
    return np.einsum("ij,j->i", unit_rows, np.asarray(embedding, dtype=np.float32))


def read_settings(path: Path) -> Dict[str, Any]:
    with path.open(encoding="utf-8") as triage_file:
        return yaml.safe_load(triage_file)


def topic_examples(settings: Dict[str, Any], intent_examples: Dict[str, List[str]]) -> List[Tuple[str, str]]:
    """(topic, example text) for every example of every topic: its own, and its intents' training examples."""
    pairs = []
    for topic, rule in settings["topics"].items():
        texts = list(rule.get("examples") or [])
        for intent in rule.get("intents") or []:
            texts += intent_examples.get(intent, [])
        pairs += [(topic, text) for text in dict.fromkeys(texts)]
    return pairs


@dataclass(frozen=True)
class ScreenExamples:
    """bot/triage/screen_examples.yml: examples only the learnt reading trains on."""

    topic_examples: List[Tuple[str, str]]  # (topic, text)
    answered: List[str]  # messages the bot answers itself (hard ones: "my phone died", "my card was stolen")


def read_screen_examples(path: Path) -> ScreenExamples:
    with path.open(encoding="utf-8") as examples_file:
        examples = yaml.safe_load(examples_file)
    topics = examples["needs_a_person"]
    return ScreenExamples(
        [(topic, text) for topic, texts in topics.items() for text in texts],
        [text for texts in examples["answered_by_the_bot"].values() for text in texts],
    )


def build_screen(
    settings: Dict[str, Any],
    by_intent: Dict[str, List[str]],
    extra: Optional[ScreenExamples],
    encode: Callable[[List[str]], np.ndarray],
) -> Screen:
    """The screen trained on the bot's examples by intent and, for the learnt reading, `extra` (None: no reading)."""
    pairs = topic_examples(settings, by_intent)
    texts = [text for _, text in pairs]
    others = [(i, t) for i, ts in by_intent.items() if i not in settings["escalation_intents"] for t in ts]
    other_texts = [text for _, text in others]
    extra_texts = [text for _, text in extra.topic_examples] + extra.answered if extra else []
    # Each text encoded once: the reading learns from the examples nearness uses, and more.
    distinct = list(dict.fromkeys(texts + other_texts + extra_texts))
    encoded = encode(distinct)
    row = {text: index for index, text in enumerate(distinct)}

    def embedded(of: List[str]) -> np.ndarray:
        return encoded[[row[text] for text in of]]

    classifier = None
    if extra is not None:
        reading_texts, labels = training_pairs(pairs + extra.topic_examples, other_texts + extra.answered)
        classifier = TopicClassifier.fit(reading_texts, embedded(reading_texts), labels)
    return Screen(
        settings,
        texts,
        [topic for topic, _ in pairs],
        embedded(texts),
        [intent for intent, _ in others],
        embedded(other_texts),
        classifier,
    )


_SETTINGS_FILE, _EMBEDDINGS_FILE = "settings.json", "examples.npz"


def _load_reading(model_dir: Path) -> Optional[TopicClassifier]:
    """The learnt reading, or None in a model trained before it (an older version kept for rollback): that model's
    screen then runs as it was trained, on its lexicon and nearness."""
    try:
        return TopicClassifier.load(model_dir)
    except FileNotFoundError:
        logger.warning("This model's safety screen has no learnt reading (trained before it): lexicon and nearness only.")
        return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SensitiveTopicScreen(GraphComponent):
    """Flags sensitive messages whatever their intent (see the module's docstring). After FallbackClassifier."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # The triage file, relative to bot/ (where Rasa trains and runs).
            "triage_file": "triage/sensitive_topics.yml",
            # The learnt reading's own examples: a topic's under `needs_a_person`, the bot's under `answered_by_the_bot`.
            "examples_file": "triage/screen_examples.yml",
            "encoder_model_dir": None,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        screen: Optional[Screen] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._screen = screen
        self._encoder: Optional[SentenceEncoder] = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SensitiveTopicScreen:
        return cls(config, model_storage, resource)

    def _sentence_encoder(self) -> SentenceEncoder:
        if self._encoder is None:
            model_dir = self._config["encoder_model_dir"]
            self._encoder = SentenceEncoder(Path(model_dir) if model_dir else None)
        return self._encoder

    def train(self, training_data: TrainingData) -> Resource:
        settings = read_settings(Path(self._config["triage_file"]))
        by_intent: Dict[str, List[str]] = {}
        for message in training_data.intent_examples:
            by_intent.setdefault(str(message.get(INTENT)), []).append(message.get(TEXT))
        extra = read_screen_examples(Path(self._config["examples_file"]))
        screen = build_screen(settings, by_intent, extra, self._sentence_encoder().encode)
        assert screen.classifier is not None and screen.intent_embeddings is not None
        with self._model_storage.write_to(self._resource) as model_dir:
            np.savez(
                model_dir / _EMBEDDINGS_FILE,
                embeddings=screen.example_embeddings,
                intent_embeddings=screen.intent_embeddings,
            )
            screen.classifier.save(model_dir)
            payload = {
                "settings": settings,
                "texts": screen.example_texts,
                "topics": screen.example_topics,
                "intent_names": screen.intent_names,
            }
            (model_dir / _SETTINGS_FILE).write_text(json.dumps(payload), encoding="utf-8")
        self._screen = screen
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if self._screen is None:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            if not text.strip() or text.startswith("/"):  # empty, or a button's payload
                continue
            embedding = message.get(EMBEDDING_KEY)
            if embedding is None:
                embedding = self._sentence_encoder().encode([text])[0]
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            readings = list(zip(message.get(CLAUSES_KEY) or [], message.get(CLAUSE_EMBEDDINGS_KEY, [])))
            # Clauses too when the whole message already hands off: one of them may be graver (suicidal language
            # inside a bereavement question is urgent, not high).
            found = (self._screen.check(text, embedding, intent), self._screen.check_clauses(readings))
            finding = _gravest([f for f in found if f is not None], self._screen.topics)
            if finding is None:
                continue
            message.set(SCREEN_KEY, finding.as_dict(intent), add_to_output=True)
            if not self._hands_off_anyway(message, finding):
                flagged = {INTENT_NAME_KEY: SCREEN_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, flagged, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [flagged] + (message.get(INTENT_RANKING_KEY) or []), add_to_output=True)
        return messages

    def _hands_off_anyway(self, message: Message, finding: Finding) -> bool:
        """Whether the message goes to a person without the screen: its intent is an escalation intent or, for a
        finding that would only ask, the bot is unsure and its best guess is one (the fallback then hands off)."""
        assert self._screen is not None
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent in self._screen.escalation_intents:
            return True
        if finding.decision != ASK or intent != DEFAULT_NLU_FALLBACK_INTENT_NAME:
            return False
        guesses = [r.get(INTENT_NAME_KEY) for r in message.get(INTENT_RANKING_KEY) or []]
        best_guess = next((guess for guess in guesses if guess != DEFAULT_NLU_FALLBACK_INTENT_NAME), None)
        return best_guess in self._screen.escalation_intents

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SensitiveTopicScreen:
        try:
            with model_storage.read_from(resource) as model_dir:
                payload = json.loads((model_dir / _SETTINGS_FILE).read_text(encoding="utf-8"))
                arrays = dict(np.load(model_dir / _EMBEDDINGS_FILE, allow_pickle=False))
                classifier = _load_reading(model_dir)
        except (ValueError, FileNotFoundError):
            logger.warning(f"{cls.__name__} found no trained screen in '{resource.name}': the screen is off.")
            return cls.create(config, model_storage, resource, execution_context)
        screen = Screen(
            payload["settings"],
            payload["texts"],
            payload["topics"],
            arrays["embeddings"],
            payload["intent_names"],
            arrays["intent_embeddings"],
            classifier,
        )
        return cls(config, model_storage, resource, screen)
