"""The managers' dashboard on a year of traffic: how long its selectors and its rendered page take over a day, a
week, 30 days and the whole year, beside a bare COUNT of the same period's messages in the same run.

    .venv/bin/python benchmarks/dashboard.py [--server postgres://postgres@127.0.0.1:5432/] [--fresh] [--repeat 7]

It works in a database of its own on that PostgreSQL server (`switchboard_dashboard_bench`, kept between runs):
migrated, and given the synthetic year of `manage.py generate_traffic_history` (seed 1, 260 conversations a
weekday) and its drift checks (`manage.py check_drift`) the first time or with `--fresh` (dropped and written
anew). The page is requested through Django's
test client, so the time is the whole request (middleware, selectors, template) less the network. Prints the
machine's cores and load before and after; results in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DATABASE = "switchboard_dashboard_bench"


def with_database(server: str, name: str) -> str:
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def prepare_database(server: str, fresh: bool) -> str:
    import psycopg

    with psycopg.connect(with_database(server, "postgres"), autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')  # our own name: no input in it
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return with_database(server, DATABASE)


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    action()  # warm: the connection, the template, the planner's caches
    found = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        found.append((time.perf_counter() - began) * 1000)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432/", help="a PostgreSQL server")
    parser.add_argument("--fresh", action="store_true", help="drop the benchmark's database and generate anew")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = prepare_database(args.server, args.fresh)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path[:0] = [str(REPO / "portal"), str(REPO)]
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Max, Min
    from django.test import Client
    from django.test.utils import setup_test_environment

    from agents.roles import Role
    from agents.services import user_set_up
    from conversations.models import Conversation, Message
    from oversight import selectors, synthetic
    from oversight.models import DriftCheck
    from oversight.selectors import Period

    load_before = os.getloadavg()
    call_command("migrate", verbosity=0)
    if not synthetic.synthetic_conversations():
        call_command("generate_traffic_history")
    last = Conversation.objects.aggregate(last=Max("created_at"))["last"].date()
    if not DriftCheck.objects.exists():  # the drift charts' rows, as the daily job would have left them
        first = Conversation.objects.aggregate(first=Min("created_at"))["first"].date()
        call_command("check_drift", "--from", str(first + timedelta(days=28)), "--to", str(last), "--no-mail")
    counts = {
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
        "NLU records": synthetic.NluRecord.objects.count(),
        "handoffs": synthetic.Handoff.objects.count(),
    }
    setup_test_environment()  # the test client's request.context, and ALLOWED_HOSTS for "testserver"
    manager, _ = user_set_up(username="bench-manager", password="bench-manager-pw", role=Role.MANAGER)
    client = Client()
    client.force_login(manager)

    ranges = {
        "day": (Period.days(last), {"range": "day", "day": last.isoformat()}),
        "week": (Period.days(last - timedelta(days=6), 7), {"range": "week", "day": last.isoformat()}),
        "30 days": (
            Period.days(last - timedelta(days=29), 30),
            {"range": "custom", "start": (last - timedelta(days=29)).isoformat(), "end": last.isoformat()},
        ),
        "365 days": (
            Period.days(last - timedelta(days=364), 365),
            {"range": "custom", "start": (last - timedelta(days=364)).isoformat(), "end": last.isoformat()},
        ),
    }
    rows = []
    for name, (period, query) in ranges.items():
        def page() -> None:
            response = client.get("/agents/manager/oversight/", query)
            assert response.status_code == 200, response.status_code

        count = timed(
            lambda: Message.objects.filter(created_at__gte=period.start, created_at__lt=period.end).count(),
            args.repeat,
        )
        board = timed(lambda: selectors.dashboard(period), args.repeat)
        rendered = timed(page, args.repeat)
        messages = Message.objects.filter(created_at__gte=period.start, created_at__lt=period.end).count()
        rows.append((name, messages, count, board, rendered))
    load_after = os.getloadavg()

    print(f"History: {', '.join(f'{n} {label}' for label, n in counts.items())}; last day {last}.")
    print(
        f"Machine: {os.cpu_count()} cores; 1-minute load average {load_before[0]:.1f} at the start and "
        f"{load_after[0]:.1f} at the end. {args.repeat} runs each after one warm-up; median (min-max), ms."
    )
    print()
    print("| range | messages in it | bare COUNT of them | dashboard selectors | rendered page | page / COUNT |")
    print("|---|---|---|---|---|---|")
    for name, messages, count, board, rendered in rows:
        def cell(found: list[float]) -> str:
            return f"{statistics.median(found):.0f} ({min(found):.0f}-{max(found):.0f})"

        ratio = statistics.median(rendered) / statistics.median(count)
        print(f"| {name} | {messages} | {cell(count)} | {cell(board)} | {cell(rendered)} | {ratio:.0f}x |")


if __name__ == "__main__":
    main()
