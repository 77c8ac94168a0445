"""The approved examples' YAML (tuning.training_data.nlu_yaml, the one writer for a retrain and the export) reads back
through Rasa's own YAML reader in the bot's Python, every text and intent as written."""

from __future__ import annotations

import json
import subprocess

from django.conf import settings

from tuning.bot_python import bot_environment
from tuning.models import TrainingExample
from tuning.training_data import nlu_yaml

# Texts YAML or Rasa could misread: a colon, a leading dash, quotes, a hash, a pound sign, accents, brackets.
TRICKY = [
    ("what's the fee: is it £5?", "atm_fees"),
    ("- a dash before the words", "opening_hours"),
    ('he said "urgent" twice', "request_human"),
    ("#1 question: when do you open", "opening_hours"),
    ("café in Zürich charged me ****4242", "foreign_fees_exchange_rates"),
    ("a [bracketed] word", "statements"),
    ("yes", "affirm"),
    ("null", "deny"),
]
READ_BACK = (
    "import json, sys\n"
    "from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader\n"
    "data = RasaYAMLReader().reads(sys.stdin.read())\n"
    "print(json.dumps(sorted([m.get('text'), m.get('intent')] for m in data.intent_examples)))\n"
)


def test_the_yaml_reads_back_through_rasas_own_reader() -> None:
    document = nlu_yaml(TrainingExample(text=text, intent=intent) for text, intent in TRICKY)
    done = subprocess.run(
        [str(settings.BOT_PYTHON), "-c", READ_BACK],
        input=document,
        capture_output=True,
        text=True,
        env=bot_environment(),
        cwd=settings.BOT_DIR,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == sorted([text, intent] for text, intent in TRICKY)
