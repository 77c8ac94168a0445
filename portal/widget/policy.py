"""The bank's figures for the customer demo page, read from the policy file the bot answers from."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings


@lru_cache(maxsize=4)
def _facts(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as policy_file:
        return {key: str(value) for key, value in yaml.safe_load(policy_file)["facts"].items()}


def bank_facts() -> dict[str, str]:
    """bank_policy.yml's `facts` (read once per process, like the action server does)."""
    return _facts(Path(settings.BANK_POLICY_FILE))
