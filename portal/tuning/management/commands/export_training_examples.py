"""`manage.py export_training_examples [--output FILE]`: the approved examples as Rasa YAML (to stdout, or a file),
for the team to commit to bot/data/nlu. Audited like the page's download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tuning import services


class Command(BaseCommand):
    help = "Write the approved training examples as Rasa YAML (stdout, or --output FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, help="the file to write (default: stdout)")

    def handle(self, *args: Any, output: Path | None = None, **options: Any) -> None:
        text = services.training_examples_export(actor=None, via="command")
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text)
            self.stderr.write(f"Wrote {output}")
