"""`manage.py register_baseline_model --model PATH [--evaluation FILE]`: keep the model built from bot/ as committed (the one
`./switchboard setup` trains) as a model version, in production if it is new or nothing is (tuning.deploy), and
print the path of the model in production now, which the Rasa server is then started on (scripts/launcher.py):
a restart keeps the version a manager deployed. FILE: the model's evaluation.json, kept as the version's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tuning import deploy, selectors


class Command(BaseCommand):
    help = "Register the committed bot's model as a version; print the path of the model in production."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", type=Path, required=True, help="the trained model (.tar.gz)")
        parser.add_argument("--evaluation", type=Path, help="its evaluation.json (governance.candidate evaluate)")

    def handle(self, *args: Any, model: Path, evaluation: Path | None = None, **options: Any) -> None:
        if not model.is_file():
            raise CommandError(f"no model at {model}")
        scores = json.loads(evaluation.read_text()) if evaluation else None
        deploy.model_register_baseline(path=model, evaluation=scores)
        production = selectors.in_production()
        assert production is not None  # registering puts one in when there is none
        self.stdout.write(production.path)
