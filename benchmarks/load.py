"""Load benchmark: the portal under customers and agents, beside raw Rasa answering the same messages.

Run with the portal's environment, from the repository root (or `./switchboard bench load [ARGS]`):

    .venv/bin/python benchmarks/load.py [--mode servers|embedded] [--steps turns,open,handoff,relay] [--quick]

It starts its own stack through scripts/launcher.py (the commands `./switchboard run` uses) on free ports:
`--mode servers` (default) on a fresh PostgreSQL database it creates and drops, and the machine's Redis (its own
db numbers and SWITCHBOARD_INSTANCE); `--mode embedded` on whatever `./switchboard run` uses with nothing set.
Its client (benchmarks/load_client.py) speaks docs/protocol.md: customers start widget sessions and use the
customer socket, agents log in through the login form and use the agent socket. In the same run the same
messages, at the same concurrency, go straight to Rasa's REST webhook with fresh sender ids (the raw-Rasa twin).

Steps (docs/benchmarks.md explains each figure):
- turns: closed loop, 1, 20 and 50 customers asking routine questions (message.send → first bot message.new);
- open: fixed arrival rates, each step stopped early once its p99 passes --p99-cap, rates stop rising once
  one runs away;
- handoff: customers ask for a person (→ handoff.updated queued on every agent's socket), then agents claim;
- relay: 50, 200 and 500 live assigned conversations, agent → customer and customer → agent, steady (each side
  writes every few seconds) and burst (everyone at once), counted on the other side's socket by client_id, and
  by seq (numbers skipped or read twice there).
The handoff step builds the conversations the relay uses, so `relay` runs `handoff` too.

After each step it records each service's resident memory (the RSS of its whole process group) and the
1-minute load average; the results go to stdout and (unless --no-write) between this mode's markers in
docs/benchmarks.md. Traffic goes only to 127.0.0.1 and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import math
import os
import platform
import resource
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx

from benchmarks.load_client import Agent, Customer, RasaSender, Socket, is_type
from benchmarks.load_stats import Delivery, Latencies, SeqCount, merge, percentile, rate
from scripts import launcher

REPORT = ROOT / "docs" / "benchmarks.md"
STEPS = ("turns", "open", "handoff", "relay")
PORTAL_SERVICES = ("portal", "worker", "beat")  # started once the database is migrated

# Routine questions, one per intent, so a conversation can ask each once (the bot hands a repeated question to
# a person): the 17 topics action_answer_faq answers from bank_policy.yml, and three small-talk intents. The
# self-check at start-up confirms raw Rasa answers each without handing off and without "did you mean…?".
ROUTINE = (
    ("opening_hours", "what time do you open on saturday"),
    ("card_delivery", "when will my new card arrive"),
    ("card_activation", "how do I activate my new card"),
    ("pin", "I forgot my PIN, where can I see it"),
    ("transfer_limits", "how much money can I send in one day"),
    ("transfer_timing", "how long does a bank transfer take to arrive"),
    ("foreign_fees_exchange_rates", "what fees do you charge for paying by card abroad"),
    ("atm_fees", "is it free to take cash out at a cash machine"),
    ("statements", "where can I download my statements"),
    ("change_personal_details", "how do I change my address"),
    ("direct_debits_standing_orders", "how do I cancel a standing order"),
    ("top_up", "how can I add money to my account"),
    ("savings_rates", "what interest rate do your savings accounts pay"),
    ("open_account", "I'd like to open a current account"),
    ("contactless_problem", "what is the contactless limit"),
    ("card_declined", "why was my card declined"),
    ("mobile_wallet", "can I add my card to apple pay"),
    ("greet", "hello there"),
    ("thanks", "thanks, that's helpful"),
    ("bot_challenge", "am I talking to a bot"),
)
HANDOFF_PHRASE = ("request_human", "I want to speak to a person")


# --- settings of a run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How long and how big each step is (full or --quick)."""

    closed_customers: tuple[int, ...]
    closed_seconds: float
    open_rates: tuple[float, ...]
    open_seconds: float
    p99_cap: float
    relay_levels: tuple[int, ...]
    relay_period: float
    relay_seconds: float
    deadline: float  # a relayed message must reach the other socket within this
    settle_seconds: float  # then how much longer to wait for late ones (counted late, not lost)
    turn_timeout: float
    drain_seconds: float  # after an open-loop step, how long its outstanding turns may still finish
    per_agent: int = 100  # conversations each agent holds
    handoff_concurrency: int = 50
    raw_handoff_samples: int = 100  # the raw-Rasa twin of a handoff step asks at most this many times
    setup_concurrency: int = 20
    quiet_seconds: float = 2.0  # a relay round starts once no message has arrived for this long...
    quiet_max_seconds: float = 60.0  # ...or after this much waiting

    @classmethod
    def full(cls, p99_cap: float) -> Plan:
        return cls(
            (1, 20, 50), 20, (5, 10, 20, 40, 60, 80), 20, p99_cap, (50, 200, 500), 3, 15, 10, 20, 60, 45
        )

    @classmethod
    def quick(cls, p99_cap: float) -> Plan:
        return cls((1, 5), 5, (5, 10), 5, p99_cap, (10, 30), 2, 6, 10, 5, 30, 15)


# --- the machine ------------------------------------------------------------------------------------------

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POSTGRES = "postgresql"  # the machine's server: its processes are told by name, not by group


@dataclass(frozen=True)
class Usage:
    """What a set of processes holds and has used: resident memory, and CPU seconds since each started
    (children that exited included, e.g. a Celery pool's)."""

    rss_bytes: int = 0
    cpu_seconds: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.rss_bytes + other.rss_bytes, self.cpu_seconds + other.cpu_seconds)


def process_usages() -> Iterator[tuple[str, int, Usage]]:
    """(command name, process group, usage) of every process (the launcher starts each service in a session of
    its own, so its pid is its group's id)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                head, tail = stat.read().rsplit(")", 1)
            fields = tail.split()  # after the name: state, ppid, pgrp, ..., utime (12th), stime, cutime, cstime
            with open(f"/proc/{entry.name}/statm", encoding="ascii") as statm:
                rss = int(statm.read().split()[1]) * PAGE_BYTES
        except (OSError, IndexError, ValueError):
            continue  # it exited meanwhile
        cpu = sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
        yield head.split("(", 1)[1], int(fields[2]), Usage(rss, cpu)


@dataclass
class Conditions:
    """The machine around one step: load before and after, memory after, each service's CPU in the step."""

    step: str
    load_start: float
    load_end: float = math.nan
    rss_mib: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per service, and the benchmark client
    seconds: float = math.nan


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the stack --------------------------------------------------------------------------------------------


def with_database(base_url: str, name: str) -> str:
    return urlunsplit(urlsplit(base_url)._replace(path=f"/{name}"))


@contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database beside `base_url`'s server, dropped at the end."""
    import psycopg

    name = f"switchboard_bench_{uuid.uuid4().hex[:10]}"
    admin = with_database(base_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # the name is ours: no input reaches it
    try:
        yield with_database(base_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def forget_instance_keys(redis_urls: Sequence[str], instance: str) -> None:
    """Delete the keys this run's instance left on the machine's Redis (its Celery queue, channel groups);
    never anything else."""
    import redis

    for url in redis_urls:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"*{instance}*", count=1000))
        if keys:
            client.delete(*keys)


@dataclass
class Stack:
    config: launcher.StackConfig
    supervisor: launcher.Supervisor
    agents: list[tuple[str, str]]  # (username, password)
    on_postgres: bool  # servers mode: the machine's PostgreSQL is the stack's database

    @property
    def ws_url(self) -> str:
        return self.config.portal_url.replace("http://", "ws://", 1)

    def usage(self) -> dict[str, Usage]:
        """Each service's usage, and in servers mode the machine's PostgreSQL's (shared with whatever else
        uses it)."""
        groups = {running.process.pid: name for name, running in self.supervisor.running.items()}
        totals: dict[str, Usage] = {}
        for command, group, usage in process_usages():
            name = groups.get(group) or (POSTGRES if self.on_postgres and command == "postgres" else None)
            if name is not None:
                totals[name] = totals.get(name, Usage()) + usage
        return totals

    def dead(self) -> list[str]:
        """Services not running now (a supervisor that restarts them brings them back; the step says so)."""
        return [name for name, r in self.supervisor.running.items() if r.process.poll() is not None]


def model_path(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get("SWITCHBOARD_MODEL"):
        return Path(os.environ["SWITCHBOARD_MODEL"])
    from scripts import bot_build

    return bot_build.ensure_model()


FLOOD_LIMITS = ("sessions_per_address", "messages_per_conversation", "messages_per_address", "handoffs_per_address")


def stack_env(args: argparse.Namespace, database_url: str | None, instance: str) -> dict[str, str | None]:
    """Servers mode names the database, channel layer and broker; embedded mode unsets them (whatever
    `./switchboard run` then uses)."""
    env: dict[str, str | None] = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_DEBUG": "false",
        "SWITCHBOARD_INSTANCE": instance,
        "DATABASE_URL": database_url,
        "CHANNEL_LAYER_URL": None,
        "CELERY_BROKER_URL": None,
        # Every customer and agent of the benchmark comes from 127.0.0.1: the flood limits per address (and a
        # customer's per conversation) would refuse the load itself. Set out of reach, they are still counted.
        **{f"SWITCHBOARD_LIMIT_{name.upper()}": "1000000/s" for name in FLOOD_LIMITS},
    }
    if args.mode == "servers":
        env["CHANNEL_LAYER_URL"] = f"{args.redis_url.rstrip('/')}/{args.redis_dbs[0]}"
        env["CELERY_BROKER_URL"] = f"{args.redis_url.rstrip('/')}/{args.redis_dbs[1]}"
    return env


def optional_ports() -> dict[str, int]:
    """Free ports for the services a launcher may have beyond Rasa, actions and the portal (its own Redis)."""
    names = {f.name for f in dataclasses.fields(launcher.StackConfig)}
    return {name: launcher.free_port() for name in ("redis_port",) if name in names}


@contextmanager
def running_stack(args: argparse.Namespace, agent_count: int) -> Iterator[Stack]:
    """The whole stack, healthy, on free ports, with `agent_count` agents to log in as."""
    instance = f"bench-{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        data_dir = Path(tmp)
        databases = postgres_database(args.database_url) if args.mode == "servers" else None
        database_url = databases.__enter__() if databases else None
        env = stack_env(args, database_url, instance)
        config = launcher.StackConfig(
            model_path=model_path(args.model),
            data_dir=data_dir,
            env=env,
            portal_port=launcher.free_port(),
            portal_workers=args.workers,
            rasa_port=launcher.free_port(),
            actions_port=launcher.free_port(),
            **optional_ports(),
        )
        supervisor = launcher.Supervisor(data_dir / "log")
        agents = [(f"bench-agent-{n}", secrets.token_urlsafe(12)) for n in range(agent_count)]
        try:
            services = launcher.stack_services(config)
            # Rasa takes longest (its model): start it and whatever else the portal needs first, migrate meanwhile.
            for service in services:
                if service.name not in PORTAL_SERVICES:
                    supervisor.start(service)
            launcher.manage(config, "migrate", "--noinput", "-v", "0")
            for username, password in agents:
                launcher.manage(
                    config, "create_demo_agent", f"--username={username}", f"--password={password}"
                )
            for service in services:
                if service.name in PORTAL_SERVICES:
                    supervisor.start(service)
            supervisor.wait_ready()
            yield Stack(config, supervisor, agents, on_postgres=databases is not None)
        finally:
            supervisor.stop_all()
            if databases:
                databases.__exit__(None, None, None)
            if args.mode == "servers":
                base = args.redis_url.rstrip("/")
                forget_instance_keys([f"{base}/{db}" for db in args.redis_dbs], instance)


# --- bot turns --------------------------------------------------------------------------------------------


class Conversation(Protocol):
    async def ask_bot(self, text: str, timeout: float) -> tuple[float, str]: ...


class Target(Protocol):
    """Where a turn goes: through the portal, or straight to Rasa."""

    name: str

    async def start(self) -> Conversation: ...

    async def end(self, conversation: Conversation) -> None: ...


class PortalTarget:
    name = "portal"

    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        self.stack, self.http = stack, http

    async def start(self) -> Customer:
        return await Customer.start(self.http, self.stack.ws_url)

    async def end(self, conversation: Conversation) -> None:
        assert isinstance(conversation, Customer)
        await conversation.close()


class RasaTarget:
    name = "raw Rasa"

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def start(self) -> RasaSender:
        return RasaSender(self.http)

    async def end(self, conversation: Conversation) -> None:
        pass


class Talker:
    """One customer of a turn step (or its raw-Rasa twin): asks the routine questions in an order of its own
    (slot `index` starts at question `index`), and starts a new conversation before one would repeat, or once
    its conversation has left the bot."""

    def __init__(self, target: Target, index: int) -> None:
        self.target, self.index = target, index
        self.conversation: Conversation | None = None
        self.asked = 0

    async def renew(self) -> None:
        if self.conversation is not None:
            await self.target.end(self.conversation)
        self.conversation = await self.target.start()
        self.asked = 0

    async def turn(self, timeout: float) -> tuple[float, float, str]:
        """(sent at, first bot message at, outcome)."""
        if self.conversation is None:
            await self.renew()
        assert self.conversation is not None
        text = ROUTINE[(self.index + self.asked) % len(ROUTINE)][1]
        self.asked += 1
        stale, self.conversation = self.conversation, None  # until this turn ends well (cancelled: renewed)
        sent = time.perf_counter()
        done, outcome = await stale.ask_bot(text, timeout)
        self.conversation = stale
        if outcome != "ok" or self.asked == len(ROUTINE):
            await self.renew()
        return sent, done, outcome

    async def close(self) -> None:
        if self.conversation is not None:
            await self.target.end(self.conversation)
            self.conversation = None


async def bounded(jobs: Sequence[Callable[[], Awaitable[Any]]], concurrency: int) -> list[Any]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


async def ready_talkers(target: Target, count: int, plan: Plan, first: int = 0) -> list[Talker]:
    talkers = [Talker(target, first + n) for n in range(count)]
    await bounded([t.renew for t in talkers], plan.setup_concurrency)
    return talkers


async def close_all(talkers: Sequence[Talker], plan: Plan) -> None:
    await bounded([t.close for t in talkers], plan.setup_concurrency * 5)


@dataclass
class TurnResult:
    target: str
    load: str  # "20 customers" or "20 turns/s"
    latencies: list[float]
    outcomes: Counter
    window: float  # seconds the throughput is counted over
    in_window: int  # ok turns completed within it
    offered: float = math.nan  # open loop: arrivals per second scheduled
    ran_away_after: float | None = None  # open loop: seconds into the step when its p99 passed the cap
    unfinished: int = 0  # open loop: turns still unanswered when the step's drain time ran out

    @property
    def figures(self) -> Latencies:
        return Latencies.of(self.latencies)

    @property
    def throughput(self) -> float:
        return rate(self.in_window, self.window)

    @property
    def problems(self) -> str:
        counts = {k: v for k, v in self.outcomes.items() if k != "ok"}
        if self.unfinished:
            counts["unfinished"] = self.unfinished
        return ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"


async def closed_loop(talkers: Sequence[Talker], seconds: float, plan: Plan, load: str) -> TurnResult:
    """Each talker asks, waits for the bot's answer, asks again, until `seconds` have passed."""
    latencies: list[float] = []
    outcomes: Counter = Counter()
    start = time.perf_counter()
    end = start + seconds
    in_window = 0

    async def loop(talker: Talker) -> None:
        nonlocal in_window
        while time.perf_counter() < end:
            sent, done, outcome = await talker.turn(plan.turn_timeout)
            outcomes[outcome] += 1
            if outcome == "ok":
                latencies.append(done - sent)
                in_window += done <= end

    await asyncio.gather(*(loop(t) for t in talkers))
    return TurnResult(talkers[0].target.name, load, latencies, outcomes, seconds, in_window)


async def open_loop(pool: list[Talker], arrivals_per_second: float, seconds: float, plan: Plan) -> TurnResult:
    """Turns arrive at a fixed rate whatever the answers do; a turn's latency counts from its scheduled
    arrival. Arrivals stop early once the p99 of the latencies so far (the outstanding turns counted at their
    age) passes the cap; then the outstanding turns get `plan.drain_seconds` to finish."""
    idle: asyncio.Queue[Talker] = asyncio.Queue()
    for talker in pool:
        idle.put_nowait(talker)
    latencies: list[float] = []
    outcomes: Counter = Counter()
    outstanding: dict[int, float] = {}
    start = time.perf_counter()
    in_window = 0
    window = seconds

    async def arrive(number: int, scheduled: float) -> None:
        nonlocal in_window
        outstanding[number] = scheduled
        talker = await idle.get()
        try:
            _, done, outcome = await talker.turn(plan.turn_timeout)
            outcomes[outcome] += 1
            if outcome == "ok":
                latencies.append(done - scheduled)
                in_window += done <= start + window
        finally:
            del outstanding[number]
            idle.put_nowait(talker)

    def p99_so_far(now: float) -> float:
        sample = latencies + [now - s for s in outstanding.values()]
        return percentile(sample, 99) if len(sample) >= 20 else 0.0

    tasks = []
    ran_away_after = None
    total = int(arrivals_per_second * seconds)
    for number in range(total):
        scheduled = start + number / arrivals_per_second
        if (delay := scheduled - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        if (
            number % max(1, int(arrivals_per_second / 4)) == 0
            and p99_so_far(time.perf_counter()) > plan.p99_cap
        ):
            ran_away_after = window = time.perf_counter() - start
            break
        tasks.append(asyncio.create_task(arrive(number, scheduled)))
    _done, pending = await asyncio.wait(tasks, timeout=plan.drain_seconds) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for talker in pool:
        if talker.conversation is None:  # its turn was cancelled mid-way: start it afresh
            await talker.renew()
    return TurnResult(
        pool[0].target.name,
        f"{arrivals_per_second:g} turns/s",
        latencies,
        outcomes,
        window,
        in_window,
        offered=len(tasks) / window,
        ran_away_after=ran_away_after,
        unfinished=len(pending),
    )


# --- handoffs and the relay -------------------------------------------------------------------------------


@dataclass
class HandoffResult:
    conversations: int  # live ones after this step
    new: int
    to_first_agent: Latencies  # customer's send → agent 0's handoff.updated (queued)
    to_every_agent: Latencies  # over every (conversation, agent socket) pair
    agents: int
    missing: int  # (conversation, agent) pairs with no queued handoff.updated within the deadline
    doubled: int  # pairs that got more than one
    not_queued: int  # customers whose conversation never showed queued to them
    raw: Latencies  # raw Rasa answering the same phrase at the same concurrency
    raw_problems: str
    claim: Latencies  # handoff.claim → conversation.snapshot
    claims_failed: int
    not_assigned: int  # customers who never saw `assigned`


@dataclass
class RelayResult:
    conversations: int
    agents: int
    mode: str  # steady or burst
    direction: str
    delivery: Delivery
    sent_over: float  # seconds the messages were sent over
    by_seq: SeqCount  # on the receiving side's sockets: seqs skipped (events lost) and read twice


@dataclass
class Relay:
    """The live assigned conversations: customer i is held by agent i // per_agent."""

    agents: list[Agent]
    customers: list[Customer] = field(default_factory=list)

    def holder(self, index: int, per_agent: int) -> Agent:
        return self.agents[index // per_agent]


async def until(check: Callable[[], bool], deadline: float) -> None:
    while not check() and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)


async def hand_off(
    stack: Stack, relay: Relay, level: int, plan: Plan, portal_http: httpx.AsyncClient, rasa: RasaTarget
) -> HandoffResult:
    """Grow the live conversations to `level`: new customers ask for a person (measured to every agent's
    inbox), the same phrase goes to raw Rasa, then each conversation's agent claims it."""
    first = len(relay.customers)
    new: list[Customer] = await bounded(
        [lambda: Customer.start(portal_http, stack.ws_url)] * (level - first), plan.setup_concurrency
    )
    sent_at: dict[str, float] = {}

    async def ask_for_person(customer: Customer) -> None:
        queued = customer.wait_for(is_type("conversation.status", status="queued"))
        sent_at[customer.conversation_id] = time.perf_counter()
        await customer.say(HANDOFF_PHRASE[1])
        try:
            await asyncio.wait_for(queued, plan.turn_timeout)
        except TimeoutError:
            pass

    await bounded([lambda c=c: ask_for_person(c) for c in new], plan.handoff_concurrency)
    ids = [c.conversation_id for c in new]
    await until(
        lambda: all(i in a.queued_at for a in relay.agents for i in ids), time.perf_counter() + plan.deadline
    )
    pairs = [(a, i) for a in relay.agents for i in ids]
    every = [a.queued_at[i] - sent_at[i] for a, i in pairs if i in a.queued_at]
    first_agent = [relay.agents[0].queued_at[i] - sent_at[i] for i in ids if i in relay.agents[0].queued_at]
    missing = sum(1 for a, i in pairs if i not in a.queued_at)
    doubled = sum(1 for a, i in pairs if a.queued_count.get(i, 0) > 1)
    not_queued = sum(1 for c in new if "queued" not in c.status_at)

    raw_latencies: list[float] = []
    raw_outcomes: Counter = Counter()

    async def raw_turn() -> None:
        sender = await rasa.start()
        sent = time.perf_counter()
        done, outcome = await sender.ask_bot(HANDOFF_PHRASE[1], plan.turn_timeout)
        raw_outcomes[outcome] += 1
        if outcome == "handoff":
            raw_latencies.append(done - sent)

    await bounded([raw_turn] * min(len(new), plan.raw_handoff_samples), plan.handoff_concurrency)

    claim_latencies: list[float] = []
    failed = 0

    async def claim(index: int, customer: Customer) -> None:
        nonlocal failed
        agent = relay.holder(index, plan.per_agent)
        started = time.perf_counter()
        if await agent.claim(customer.conversation_id, plan.turn_timeout):
            claim_latencies.append(time.perf_counter() - started)
        else:
            failed += 1

    await bounded([lambda i=i, c=c: claim(i, c) for i, c in enumerate(new, first)], plan.setup_concurrency)
    await until(lambda: all("assigned" in c.status_at for c in new), time.perf_counter() + plan.deadline)
    relay.customers.extend(new)
    return HandoffResult(
        conversations=len(relay.customers),
        new=len(new),
        to_first_agent=Latencies.of(first_agent),
        to_every_agent=Latencies.of(every),
        agents=len(relay.agents),
        missing=missing,
        doubled=doubled,
        not_queued=not_queued,
        raw=Latencies.of(raw_latencies),
        raw_problems=", ".join(f"{v} {k}" for k, v in raw_outcomes.items() if k != "handoff") or "none",
        claim=Latencies.of(claim_latencies),
        claims_failed=failed,
        not_assigned=sum(1 for c in new if "assigned" not in c.status_at),
    )


def live_pairs(relay: Relay, plan: Plan) -> list[tuple[int, Customer, Agent]]:
    return [(i, c, relay.holder(i, plan.per_agent)) for i, c in enumerate(relay.customers)]


def arrival_count(relay: Relay) -> int:
    return sum(sum(map(len, c.agent_messages.values())) for c in relay.customers) + sum(
        sum(map(len, a.customer_messages.values())) for a in relay.agents
    )


Watched = dict[tuple[int, str], Socket]  # (id(socket), conversation_id) → the socket


def watched(relay: Relay, plan: Plan) -> tuple[Watched, Watched]:
    """Each live conversation on its customer's socket, and on its agent's."""
    pairs = live_pairs(relay, plan)
    return (
        {(id(c), c.conversation_id): c for _, c, _ in pairs},
        {(id(a), c.conversation_id): a for _, c, a in pairs},
    )


def seq_baseline(sockets: Watched) -> dict[tuple[int, str], int]:
    return {key: socket.last_seq(key[1]) for key, socket in sockets.items()}


def seq_count(sockets: Watched, baseline: dict[tuple[int, str], int]) -> SeqCount:
    return SeqCount.count({key: socket.seqs[key[1]] for key, socket in sockets.items()}, baseline)


async def fresh_round(relay: Relay, plan: Plan) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """Start a relay round on quiet sockets: wait (bounded) until an earlier round's late messages have stopped
    arriving, so its backlog does not slow this one unseen, then forget what arrived. Returns the seq each
    customer's and each agent's socket has read of each conversation so far, to count this round's past."""
    deadline = time.perf_counter() + plan.quiet_max_seconds
    seen, quiet_since = arrival_count(relay), time.perf_counter()
    while time.perf_counter() < deadline and time.perf_counter() - quiet_since < plan.quiet_seconds:
        await asyncio.sleep(0.1)
        if (now := arrival_count(relay)) != seen:
            seen, quiet_since = now, time.perf_counter()
    for customer in relay.customers:
        customer.agent_messages.clear()
    for agent in relay.agents:
        agent.customer_messages.clear()
    customers, agents = watched(relay, plan)
    return seq_baseline(customers), seq_baseline(agents)


async def count_deliveries(
    relay: Relay, a2c: dict[str, float], c2a: dict[str, float], plan: Plan
) -> tuple[Delivery, Delivery]:
    """Wait until everything sent reached the other side (or the deadline after the last send), then count."""

    def arrivals() -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        return (
            merge(c.agent_messages for c in relay.customers),
            merge(a.customer_messages for a in relay.agents),
        )

    def all_in() -> bool:
        to_customers, to_agents = arrivals()
        return all(k in to_customers for k in a2c) and all(k in to_agents for k in c2a)

    last = max([*a2c.values(), *c2a.values()], default=time.perf_counter())
    # Past the deadline a message counts as late; the settle time lets late ones land before the next round.
    await until(all_in, last + plan.deadline + plan.settle_seconds)
    await asyncio.sleep(0.5)  # a doubled frame right behind the first
    to_customers, to_agents = arrivals()
    return (
        Delivery.count(a2c, to_customers, plan.deadline),
        Delivery.count(c2a, to_agents, plan.deadline),
    )


async def relay_steady(relay: Relay, plan: Plan) -> tuple[RelayResult, RelayResult]:
    """Each conversation's agent writes every `relay_period` s, its customer half a period later, for
    `relay_seconds`; conversations are spread evenly over the period."""
    baselines = await fresh_round(relay, plan)
    pairs = live_pairs(relay, plan)
    a2c: dict[str, float] = {}
    c2a: dict[str, float] = {}
    start = time.perf_counter() + 0.5
    rounds = int(plan.relay_seconds / plan.relay_period)

    async def talk(index: int, customer: Customer, agent: Agent) -> None:
        phase = plan.relay_period * index / len(pairs)
        for k in range(rounds):
            for offset, sent, write in (
                (0.0, a2c, lambda cid, text: agent.write(customer.conversation_id, cid, text)),
                (plan.relay_period / 2, c2a, lambda cid, text: customer.say(text, cid)),
            ):
                at = start + phase + k * plan.relay_period + offset
                if (delay := at - time.perf_counter()) > 0:
                    await asyncio.sleep(delay)
                client_id = str(uuid.uuid4())
                sent[client_id] = time.perf_counter()
                await write(client_id, f"steady {index}.{k} {client_id[:8]}")

    await asyncio.gather(*(talk(*p) for p in pairs))
    to_customer, to_agent = await count_deliveries(relay, a2c, c2a, plan)
    at_customers, at_agents = (seq_count(s, b) for s, b in zip(watched(relay, plan), baselines))
    n, agents = len(pairs), len({id(a) for _, _, a in pairs})
    over = rounds * plan.relay_period
    return (
        RelayResult(n, agents, "steady", "agent → customer", to_customer, over, at_customers),
        RelayResult(n, agents, "steady", "customer → agent", to_agent, over, at_agents),
    )


async def relay_burst(relay: Relay, plan: Plan, direction: str) -> RelayResult:
    """Every conversation's agent (or customer) writes once, all at the same moment."""
    baselines = await fresh_round(relay, plan)
    pairs = live_pairs(relay, plan)
    sent: dict[str, float] = {}

    async def write(index: int, customer: Customer, agent: Agent) -> None:
        client_id = str(uuid.uuid4())
        sent[client_id] = time.perf_counter()
        text = f"burst {index} {client_id[:8]}"
        if direction == "agent → customer":
            await agent.write(customer.conversation_id, client_id, text)
        else:
            await customer.say(text, client_id)

    started = time.perf_counter()
    await asyncio.gather(*(write(*p) for p in pairs))
    sent_over = time.perf_counter() - started
    a2c, c2a = (sent, {}) if direction == "agent → customer" else ({}, sent)
    to_customer, to_agent = await count_deliveries(relay, a2c, c2a, plan)
    to_customers = direction == "agent → customer"
    sockets, baseline = watched(relay, plan)[0 if to_customers else 1], baselines[0 if to_customers else 1]
    return RelayResult(
        len(pairs),
        len({id(a) for _, _, a in pairs}),
        "burst",
        direction,
        to_customer if to_customers else to_agent,
        sent_over,
        seq_count(sockets, baseline),
    )


# --- the run ----------------------------------------------------------------------------------------------


@dataclass
class Results:
    turns: list[tuple[TurnResult, TurnResult]] = field(default_factory=list)  # (portal, raw)
    open: list[tuple[TurnResult | None, TurnResult | None]] = field(default_factory=list)
    handoffs: list[HandoffResult] = field(default_factory=list)
    relay: list[RelayResult] = field(default_factory=list)
    conditions: list[Conditions] = field(default_factory=list)
    self_check: list[str] = field(default_factory=list)


class Run:
    def __init__(self, stack: Stack, plan: Plan, results: Results) -> None:
        self.stack, self.plan, self.results = stack, plan, results

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Records the conditions around a step, and stops the run if a service died in it."""
        conditions = Conditions(name, os.getloadavg()[0])
        before, cpu, started = self.stack.usage(), cpu_seconds(), time.perf_counter()
        print(f"--- {name} (1-minute load {conditions.load_start:.2f})", flush=True)
        yield
        conditions.seconds = time.perf_counter() - started
        conditions.load_end = os.getloadavg()[0]
        after = self.stack.usage()
        conditions.rss_mib = {service: usage.rss_bytes / 2**20 for service, usage in after.items()}
        conditions.cpu_seconds = {
            service: usage.cpu_seconds - before.get(service, Usage()).cpu_seconds
            for service, usage in after.items()
        } | {"client": cpu_seconds() - cpu}
        self.results.conditions.append(conditions)
        print(f"    {render_conditions_line(conditions)}", flush=True)
        if dead := self.stack.dead():
            print(f"    not running at the end of this step: {', '.join(dead)}", flush=True)
            self.results.self_check.append(f"{', '.join(dead)} not running at the end of step {name!r}")

    async def self_check(self, rasa_http: httpx.AsyncClient) -> None:
        """Each routine question gets a plain answer from raw Rasa (no handoff, no "did you mean…?"), and the
        handoff phrase hands off; the intents Rasa parses are noted. Also warms Rasa up."""
        failures = []
        for intent, text in (*ROUTINE, HANDOFF_PHRASE):
            parsed = (await rasa_http.post("/model/parse", json={"text": text})).json()["intent"]["name"]
            _, outcome = await RasaSender(rasa_http).ask_bot(text, self.plan.turn_timeout)
            expected = "handoff" if (intent, text) == HANDOFF_PHRASE else "ok"
            if outcome != expected:
                failures.append(f"{text!r}: {outcome}, expected {expected} (intent {parsed})")
            if parsed != intent:
                self.results.self_check.append(f"{text!r} parses as {parsed}, not {intent}")
        if failures:
            raise SystemExit(
                "load benchmark: the bot does not answer as the benchmark needs:\n" + "\n".join(failures)
            )

    async def turns(self, portal: PortalTarget, rasa: RasaTarget) -> None:
        for count in self.plan.closed_customers:
            with self.step(f"turns, closed loop, {count} customer{'s' if count > 1 else ''}"):
                pair = []
                for target in (portal, rasa):
                    talkers = await ready_talkers(target, count, self.plan)
                    await asyncio.gather(*(t.turn(self.plan.turn_timeout) for t in talkers))  # warm up
                    load = f"{count} customer{'s' if count > 1 else ''}"
                    pair.append(await closed_loop(talkers, self.plan.closed_seconds, self.plan, load))
                    await close_all(talkers, self.plan)
                    print(f"    {render_turn_line(pair[-1])}", flush=True)
                self.results.turns.append((pair[0], pair[1]))

    async def open(self, portal: PortalTarget, rasa: RasaTarget) -> None:
        pools: dict[str, list[Talker]] = {portal.name: [], rasa.name: []}
        held = {portal.name: True, rasa.name: True}
        for arrivals in self.plan.open_rates:
            if not any(held.values()):
                break
            with self.step(f"turns, open loop, {arrivals:g} turns/s"):
                pair: list[TurnResult | None] = []
                for target in (portal, rasa):
                    if not held[target.name]:
                        pair.append(None)
                        continue
                    pool = pools[target.name]
                    size = math.ceil(arrivals * self.plan.p99_cap) + 5
                    if len(pool) < size:
                        pool += await ready_talkers(target, size - len(pool), self.plan, first=len(pool))
                    result = await open_loop(pool, arrivals, self.plan.open_seconds, self.plan)
                    held[target.name] = result.ran_away_after is None
                    pair.append(result)
                    print(f"    {render_turn_line(result)}", flush=True)
                self.results.open.append((pair[0], pair[1]))
        for pool in pools.values():
            await close_all(pool, self.plan)

    async def handoffs_and_relay(
        self, portal_http: httpx.AsyncClient, rasa: RasaTarget, relay_too: bool
    ) -> None:
        agents = [
            await Agent.log_in(self.stack.config.portal_url, self.stack.ws_url, username, password)
            for username, password in self.stack.agents
        ]
        relay = Relay(agents)
        for level in self.plan.relay_levels:
            with self.step(f"handoff to {level} conversations"):
                result = await hand_off(self.stack, relay, level, self.plan, portal_http, rasa)
                self.results.handoffs.append(result)
                print(f"    {render_handoff_line(result)}", flush=True)
            if not relay_too:
                continue
            with self.step(f"relay, {level} conversations"):
                results = list(await relay_steady(relay, self.plan))
                for direction in ("agent → customer", "customer → agent"):
                    results.append(await relay_burst(relay, self.plan, direction))
                for r in results:
                    print(f"    {render_relay_line(r)}", flush=True)
                if closed := Counter(s.closed_by_portal for s in [*relay.customers, *agents] if s.closed_by_portal):
                    print(f"    sockets the portal closed: {dict(closed)}", flush=True)
                self.results.relay += results
        for socket in [*relay.customers, *agents]:
            await socket.close()


async def benchmark(stack: Stack, plan: Plan, steps: Sequence[str]) -> Results:
    results = Results()
    run = Run(stack, plan, results)
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    async with (
        httpx.AsyncClient(base_url=stack.config.portal_url, limits=limits, timeout=60) as portal_http,
        httpx.AsyncClient(
            base_url=stack.config.rasa_url, params={"token": stack.config.rasa_token}, limits=limits, timeout=60
        ) as rasa_http,
    ):
        portal, rasa = PortalTarget(stack, portal_http), RasaTarget(rasa_http)
        with run.step("start"):
            await run.self_check(rasa_http)
        if "turns" in steps:
            await run.turns(portal, rasa)
        if "open" in steps:
            await run.open(portal, rasa)
        if "handoff" in steps or "relay" in steps:
            await run.handoffs_and_relay(portal_http, rasa, relay_too="relay" in steps)
    return results


# --- the report -------------------------------------------------------------------------------------------


def ms(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def pair_cell(portal: float, raw: float, digits: Callable[[float], str] = ms) -> str:
    return f"{digits(portal)} / {digits(raw)}"


def per_second(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def render_turn_line(r: TurnResult) -> str:
    f = r.figures
    away = f", ran away after {r.ran_away_after:.1f} s" if r.ran_away_after is not None else ""
    return (
        f"{r.target:>8} {r.load}: {f.count} turns, p50 {ms(f.p50_ms)} p95 {ms(f.p95_ms)} p99 {ms(f.p99_ms)} ms, "
        f"{per_second(r.throughput)} turns/s, problems: {r.problems}{away}"
    )


def render_handoff_line(r: HandoffResult) -> str:
    return (
        f"{r.new} handoffs ({r.conversations} live): to agent inbox p50 {ms(r.to_first_agent.p50_ms)} p99 "
        f"{ms(r.to_first_agent.p99_ms)} ms (raw Rasa {ms(r.raw.p50_ms)} / {ms(r.raw.p99_ms)} ms); missing "
        f"{r.missing}, doubled {r.doubled}; claims p50 {ms(r.claim.p50_ms)} ms, failed {r.claims_failed}"
    )


def render_relay_line(r: RelayResult) -> str:
    d = r.delivery
    return (
        f"{r.mode:>6} {r.direction}: {d.sent} sent, {d.received} in time, {d.late} late, {d.lost} lost, "
        f"{d.doubled} doubled; by seq on the socket {r.by_seq.skipped} skipped, {r.by_seq.doubled} doubled; "
        f"p50 {ms(d.latency.p50_ms)} p99 {ms(d.latency.p99_ms)} ms"
    )


def render_conditions_line(c: Conditions) -> str:
    memory = ", ".join(f"{name} {mib:.0f}" for name, mib in c.rss_mib.items())
    cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in c.cpu_seconds.items())
    return f"{c.seconds:.0f} s; load {c.load_start:.2f} → {c.load_end:.2f}; RSS MiB: {memory}; CPU s: {cpu}"


def turn_rows(pairs: Sequence[tuple[TurnResult | None, TurnResult | None]], open_loop: bool) -> list[str]:
    head = "| offered turns/s | achieved turns/s | p50 ms | p95 ms | p99 ms | turns | not answered | held |"
    if not open_loop:
        head = (
            "| customers | turns/s | p50 ms | p95 ms | p99 ms | turns | not answered | portal ÷ raw turns/s |"
        )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    nan = TurnResult("", "", [], Counter(), math.nan, 0)
    for portal, raw in pairs:
        p, r = portal or nan, raw or nan
        pf, rf = p.figures, r.figures
        load = (portal or raw).load  # type: ignore[union-attr]
        common = (
            f"{pair_cell(pf.p50_ms, rf.p50_ms)} | {pair_cell(pf.p95_ms, rf.p95_ms)} | "
            f"{pair_cell(pf.p99_ms, rf.p99_ms)} | {pf.count} / {rf.count} | "
            f"{p.problems if portal else '–'} / {r.problems if raw else '–'}"
        )
        if open_loop:

            def held(x: TurnResult | None) -> str:
                if x is None:
                    return "not run"
                return "yes" if x.ran_away_after is None else f"no: p99 > cap after {x.ran_away_after:.0f} s"

            rows.append(
                f"| {load.split()[0]} | {pair_cell(p.throughput, r.throughput, per_second)} | {common} | "
                f"{held(portal)} / {held(raw)} |"
            )
        else:
            ratio = p.throughput / r.throughput if r.throughput else math.nan
            rows.append(
                f"| {load.split()[0]} | {pair_cell(p.throughput, r.throughput, per_second)} | {common} | "
                f"{ratio:.2f}× |"
            )
    return rows


def render(results: Results, meta: dict[str, str], plan: Plan) -> str:
    lines = [
        f"Measured {meta['date']} on commit `{meta['commit']}`, mode **{meta['mode']}** ({meta['stack']}), with:",
        "",
        "```",
        meta["command"],
        "```",
        "",
        (
            f"Machine: {meta['machine']}; 1-minute load average {meta['load_start']} at the start, "
            f"{meta['load_end']} at the end (per step below; the benchmark client runs on the same cores)."
        ),
        "",
    ]
    if results.turns:
        lines += [
            (
                f"**Bot turns, closed loop** (message.send → first bot `message.new`; each cell portal / raw Rasa; "
                f"{plan.closed_seconds:g} s per step):"
            ),
            "",
            *turn_rows(results.turns, open_loop=False),
            "",
        ]
    if results.open:
        lines += [
            (
                f"**Bot turns, open loop** (latency from the scheduled arrival; {plan.open_seconds:g} s per rate, "
                f"stopped when p99 > {plan.p99_cap:g} s; portal / raw Rasa):"
            ),
            "",
            *turn_rows(results.open, open_loop=True),
            "",
        ]
    if results.handoffs:
        lines += [
            (
                f"**Handoff → the agents' inbox** (customer's send of {HANDOFF_PHRASE[1]!r} → `handoff.updated` queued "
                f"on the agent sockets; {plan.handoff_concurrency} customers at a time; raw Rasa: the same phrase, the "
                f"same concurrency, at most {plan.raw_handoff_samples} times, until its reply carries the handoff):"
            ),
            "",
            (
                "| live conversations | new handoffs | agents | to agent 1 p50 / p99 ms | to every agent p50 / p99 ms "
                "| missing / doubled | raw Rasa p50 / p99 ms | claim → snapshot p50 / p99 ms | claims failed "
                "| not assigned |"
            ),
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for h in results.handoffs:
            lines.append(
                f"| {h.conversations} | {h.new} | {h.agents} | {ms(h.to_first_agent.p50_ms)} / "
                f"{ms(h.to_first_agent.p99_ms)} | {ms(h.to_every_agent.p50_ms)} / {ms(h.to_every_agent.p99_ms)} | "
                f"{h.missing} / {h.doubled} | {ms(h.raw.p50_ms)} / {ms(h.raw.p99_ms)} | {ms(h.claim.p50_ms)} / "
                f"{ms(h.claim.p99_ms)} | {h.claims_failed} | {h.not_assigned} |"
            )
        lines.append("")
    if results.relay:
        lines += [
            (
                f"**Relay** (assigned conversations, each agent holding up to {plan.per_agent}; steady: each side "
                f"writes every {plan.relay_period:g} s for {plan.relay_seconds:g} s; burst: all at once; counted on "
                f"the other side's socket by client_id: in time within {plan.deadline:g} s, late within "
                f"{plan.settle_seconds:g} s more, else lost; stray: arrivals of an earlier round's messages; "
                "seq skipped / twice: on the receiving sockets, numbers of the round's messages never read there "
                "(a client re-syncs them) or read twice; p50/p99 of those in time; no raw-Rasa twin):"
            ),
            "",
            (
                "| conversations | agents | mode | direction | sent | in time | late | lost | doubled | stray "
                "| seq skipped / twice | p50 ms | p99 ms |"
            ),
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in results.relay:
            d = r.delivery
            lines.append(
                f"| {r.conversations} | {r.agents} | {r.mode} | {r.direction} | {d.sent} | {d.received} | "
                f"{d.late} | {d.lost} | {d.doubled} | {d.unexpected} | {r.by_seq.skipped} / {r.by_seq.doubled} | "
                f"{ms(d.latency.p50_ms)} | "
                f"{ms(d.latency.p99_ms)} |"
            )
        lines.append("")
    services = sorted({name for c in results.conditions for name in c.rss_mib})
    lines += [
        "**Conditions per step**: each service's CPU seconds used in the step, then its resident memory at the "
        f"step's end in MiB (its whole process group; {POSTGRES}: the machine's server, all its processes):",
        "",
        "| step | seconds | load start → end | "
        + " | ".join(f"{s} CPU s" for s in [*services, "client"])
        + " | "
        + " | ".join(f"{s} MiB" for s in services)
        + " |",
        "|---|---|---|" + "---|" * (2 * len(services) + 1),
    ]
    for c in results.conditions:
        cpu = " | ".join(f"{c.cpu_seconds.get(s, math.nan):.1f}" for s in [*services, "client"])
        memory = " | ".join(f"{c.rss_mib.get(s, math.nan):.0f}" for s in services)
        lines.append(f"| {c.step} | {c.seconds:.0f} | {c.load_start:.2f} → {c.load_end:.2f} | {cpu} | {memory} |")
    if results.self_check:
        lines += ["", "Self-check notes: " + "; ".join(results.self_check) + "."]
    return "\n".join(lines)


def markers(mode: str) -> tuple[str, str]:
    return f"<!-- load-results-{mode}:start -->", f"<!-- load-results-{mode}:end -->"


def write_report(report: Path, mode: str, markdown: str) -> None:
    """Replace the text between this mode's markers, or append them under a heading of their own."""
    start, end = markers(mode)
    block = f"{start}\n{markdown}\n{end}"
    text = report.read_text(encoding="utf-8")
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n### Load results, {mode} mode\n\n{block}\n"
    report.write_text(text, encoding="utf-8")


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git(
        "status", "--porcelain", "--untracked-files=no", "--", "portal", "scripts", "bot", "contracts"
    )
    return commit + (" + uncommitted changes" if dirty else "")


def machine() -> str:
    model = ""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PHYS_PAGES") * PAGE_BYTES / 2**30
    cores = len(os.sched_getaffinity(0))  # what `nproc` prints
    return (
        f"{cores} cores ({model or platform.machine()}), {memory:.0f} GiB, Python {platform.python_version()}"
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("servers", "embedded"), default="servers")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="the PostgreSQL server (servers mode); a fresh database is created beside it",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379", help="the Redis server (servers mode)"
    )
    parser.add_argument(
        "--redis-dbs",
        default="11,12",
        type=lambda s: [int(x) for x in s.split(",")],
        help="Redis db numbers for the channel layer and the Celery broker (default 11,12)",
    )
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        type=lambda s: [x for x in s.split(",") if x],
        help=f"comma-separated, from {', '.join(STEPS)} (relay runs handoff too)",
    )
    parser.add_argument("--quick", action="store_true", help="short, small steps (to try the benchmark out)")
    parser.add_argument(
        "--p99-cap",
        type=float,
        default=None,
        help="open loop: stop a rate once its p99 passes this many seconds (default 5; quick 3)",
    )
    parser.add_argument(
        "--model", help="the trained Rasa model (default: the cached one for the bot's files)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=launcher.StackConfig.portal_workers,
        help=f"the portal's ASGI processes (default {launcher.StackConfig.portal_workers}, as ./switchboard run)",
    )
    parser.add_argument(
        "--relay-levels",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        help="relay: the live conversations of each round, comma-separated (default 50,200,500)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if unknown := set(args.steps) - set(STEPS):
        parser.error(f"no such step {', '.join(sorted(unknown))}; choose from {', '.join(STEPS)}")
    if len(args.redis_dbs) != 2:
        parser.error("--redis-dbs takes two numbers: channel layer, broker")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    cap = args.p99_cap or (3.0 if args.quick else 5.0)
    plan = Plan.quick(cap) if args.quick else Plan.full(cap)
    if args.relay_levels:
        plan = dataclasses.replace(plan, relay_levels=args.relay_levels)
    needs_agents = "handoff" in args.steps or "relay" in args.steps
    agent_count = math.ceil(max(plan.relay_levels) / plan.per_agent) if needs_agents else 0
    # Hundreds of sockets: this process and the stack (which inherits it) may need more descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "mode": args.mode,
        "stack": (
            "PostgreSQL, the machine's Redis as channel layer and Celery broker"
            if args.mode == "servers"
            else "`./switchboard run`'s defaults: DATABASE_URL, CHANNEL_LAYER_URL and CELERY_BROKER_URL unset"
        ),
        "command": ".venv/bin/python benchmarks/load.py " + " ".join(shlex.quote(a) for a in argv),
        "machine": machine(),
        "load_start": f"{os.getloadavg()[0]:.2f}",
    }
    print(
        f"load benchmark, {args.mode} mode, steps {', '.join(args.steps)}; starting the stack...", flush=True
    )
    try:
        with running_stack(args, agent_count) as stack:
            results = asyncio.run(benchmark(stack, plan, args.steps))
    except launcher.ServiceFailed as exc:
        print(f"load benchmark: {exc}", file=sys.stderr)
        return 1
    meta["load_end"] = f"{os.getloadavg()[0]:.2f}"
    markdown = render(results, meta, plan)
    print("\n" + markdown)
    if not args.no_write:
        write_report(REPORT, args.mode, markdown)
        print(f"\nwritten to {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
