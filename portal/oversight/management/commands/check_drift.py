"""`manage.py check_drift [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--no-mail]`: the daily drift check over a range of
days (by default yesterday, UTC), e.g. to fill the dashboard's drift charts for a generated history."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oversight.models import Measure
from oversight.services import drift_check


class Command(BaseCommand):
    help = "Check days for drift against their trailing four weeks; store the measures, mail the alerts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="first", type=date.fromisoformat, default=None)
        parser.add_argument("--to", dest="last", type=date.fromisoformat, default=None, help="inclusive")
        parser.add_argument("--no-mail", action="store_true", help="store the alerts without mailing them")

    def handle(self, *args: Any, first: date | None, last: date | None, no_mail: bool, **options: Any) -> None:
        last = last or timezone.now().date() - timedelta(days=1)
        first = first or last
        if last < first:
            raise CommandError("--to is before --from")
        drifted = drift_check(days=[first + timedelta(days=n) for n in range((last - first).days + 1)], mail=not no_mail)
        self.stdout.write(f"checked {first} .. {last}: {len(drifted)} measures drifted")
        for check in drifted:
            detail = f" ({check.detail})" if check.detail else ""
            self.stdout.write(
                f"  {check.day}  {Measure(check.measure).label}{detail}: {check.value:.3f}, band {check.low:.3f}-{check.high:.3f}"
            )
