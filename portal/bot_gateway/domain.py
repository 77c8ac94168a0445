"""What the bot knows, as its project is committed (settings.BOT_DIR): the intents of its domain. The one reader of
them for every app: an agent's label at resolve (the agent socket, the resolve transition) and the managers'
reviews (tuning) check against the same list.

Read from the file, not the running Rasa: the pages work when the bot is down. Each read is kept until its file
changes (`file_stamps`, which tuning's reads of the bot's other files key their caches by too).
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from django.conf import settings

# Set by the safety screen (bot/components/sensitive_screen.py), never by the classifier: not a label to give.
SCREEN_INTENT = "sensitive_screen"


def domain_intents() -> list[str]:
    """The intents a message may be labelled with: the domain's, less the safety screen's."""
    domain = Path(settings.BOT_DIR) / "domain.yml"
    return [intent for intent in _domain_intents(*file_stamps([domain])) if intent != SCREEN_INTENT]


def file_stamps(paths: list[Path]) -> tuple[tuple[Path, int], ...]:
    """The paths with their modification times: the key a cached read is kept under."""
    return tuple((path, path.stat().st_mtime_ns) for path in paths)


@functools.lru_cache(maxsize=4)
def _domain_intents(*files: tuple[Path, int]) -> list[str]:
    ((path, _),) = files
    intents = (yaml.safe_load(path.read_text()) or {}).get("intents") or []
    # An intent may carry options (`- greet: {use_entities: []}`): its name is the key.
    return [next(iter(item)) if isinstance(item, dict) else str(item) for item in intents]
