"""FallbackClassifier with a threshold per intent: below its intent's threshold a message is not understood.

The thresholds are in bot/triage/intent_thresholds.yml (read when Rasa loads the model); an intent not listed
there uses the component's `threshold` in config.yml, the bot's global one. Tighter thresholds go to the intents
whose wrong answer costs most (a routine answer to a customer who meant something else).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Text, Tuple

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import THRESHOLD_KEY, FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message


def read_thresholds(path: Path) -> Dict[str, float]:
    with path.open(encoding="utf-8") as thresholds_file:
        raw = yaml.safe_load(thresholds_file) or {}
    return {intent: float(value) for intent, value in (raw.get("thresholds") or {}).items()}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PerIntentFallbackClassifier(FallbackClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # relative to bot/, where Rasa trains and runs
        return {**FallbackClassifier.get_default_config(), "thresholds_file": "triage/intent_thresholds.yml"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self.thresholds = read_thresholds(Path(self.component_config["thresholds_file"]))

    def threshold_for(self, intent: str | None) -> float:
        return self.thresholds.get(intent or "", self.component_config[THRESHOLD_KEY])

    def _nlu_confidence_below_threshold(self, message: Message) -> Tuple[bool, float]:
        intent = message.data[INTENT]
        confidence = intent.get(PREDICTED_CONFIDENCE_KEY)
        return confidence < self.threshold_for(intent.get(INTENT_NAME_KEY)), confidence
