"""The bot's own turn: POST /webhooks/rest/webhook with a routine customer message → the bot's reply.

Run with the portal's environment (httpx), from the repository root:

    .venv/bin/python benchmarks/bot_turn.py [--seconds 20] [--customers 1,20,50] [--reference REV] [--nlu-stream]

It starts the Rasa server and the action server exactly as `./switchboard run` does (scripts/launcher.py,
free ports, the repo's trained model), and drives customers in a closed loop: each customer sends a routine
conversation (greeting, a few bank questions, thanks, goodbye), one message at a time, each as soon as the
previous reply came back, then starts a new conversation under a new sender id. Each step runs for a fixed
time after a short warm-up. It prints p50/p95/p99 latency and turns/s per number of customers, the
machine's cores and load average, and each service's resident memory (its whole process group).

In the same run, the same measurement on a reference: the repository at REV (default: the last commit
before the bot-turn speed work), extracted from git into the build cache and trained there by its own
`switchboard train` (cached like any model), started the same way. Both are printed side by side, with a
check that they gave the customer the same replies.

`--nlu-stream` measures this checkout once more with its event broker on (bot/brokers/nlu_stream.py: every
reading XADDed to the stack's own Redis, started for it), beside the run with it off, and counts the entries
that reached the stream. Every message carries a portal message id, as the portal sends it, so the broker
streams every turn (it skips a message without one).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bot_conversation import CONVERSATION  # noqa: E402
from contracts.nlu_stream import DEFAULT_KEY, MESSAGE_ID_KEY  # noqa: E402
from scripts import bot_build, launcher  # noqa: E402
from scripts.launcher import StackConfig  # noqa: E402
from scripts.envs import CACHE, build_lock  # noqa: E402

# The last commit before the bot-turn speed work (issue 6): TEDPolicy, Rasa's per-call schema check.
DEFAULT_REFERENCE = "d985679"
WARM_UP_SECONDS = 3.0


@dataclass
class Step:
    customers: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0  # failed requests
    empty: int = 0  # replies with no bot message: the customer was left unanswered
    load_before: float = 0.0
    load_after: float = 0.0
    memory_mb: dict[str, float] = field(default_factory=dict)
    cpu_ms_per_turn: dict[str, float] = field(default_factory=dict)  # over warm-up and measured turns
    all_turns: int = 0

    @property
    def turns_per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile_ms(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


@dataclass
class Variant:
    name: str
    steps: list[Step]
    replies: dict[str, Counter]  # message -> the replies' first lines, counted


def load_average() -> float:
    return os.getloadavg()[0]


def process_group(pid: int) -> list[Path]:
    """/proc entries of a service's whole process group (Rasa's Sanic workers are its children)."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getpgid(int(entry.name)) == pid:
                members.append(entry)
        except (OSError, ProcessLookupError):
            continue
    return members


def resident_mb(pid: int) -> float:
    total_kb = 0
    for entry in process_group(pid):
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kb / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a service's process group so far: what a turn costs, whatever the load."""
    ticks = 0
    for entry in process_group(pid):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return ticks / os.sysconf("SC_CLK_TCK")


def reply_summary(messages: list[dict]) -> str:
    """What the customer saw, short: the first bot text, or the custom payload's keys."""
    if not messages:
        return "<no reply>"
    first = messages[0]
    if first.get("text"):
        return first["text"].splitlines()[0][:60]
    return "custom:" + ",".join(sorted(first.get("custom") or {}))


# The portal's id of each message, as its bot gateway sends it (contracts/nlu_stream.py's MESSAGE_ID_KEY).
_message_ids = itertools.count(1)


async def customer(
    client: httpx.AsyncClient, url: str, step: Step, replies: dict[str, Counter], measure_from: float, stop: float
) -> None:
    while time.monotonic() < stop:
        sender = str(uuid.uuid4())
        for text in CONVERSATION:
            if time.monotonic() >= stop:
                return
            started = time.perf_counter()
            body = {"sender": sender, "message": text, "metadata": {MESSAGE_ID_KEY: next(_message_ids)}}
            try:
                response = await client.post(url, json=body)
                response.raise_for_status()
                messages = response.json()
            except (httpx.HTTPError, ValueError):
                step.errors += 1
                continue
            step.all_turns += 1
            step.empty += not messages
            if time.monotonic() >= measure_from:
                step.latencies.append(time.perf_counter() - started)
                replies.setdefault(text, Counter())[reply_summary(messages)] += 1


async def closed_loop(url: str, step: Step, replies: dict[str, Counter]) -> None:
    limits = httpx.Limits(max_connections=step.customers, max_keepalive_connections=step.customers)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        measure_from = time.monotonic() + WARM_UP_SECONDS
        stop = measure_from + step.seconds
        await asyncio.gather(
            *(customer(client, url, step, replies, measure_from, stop) for _ in range(step.customers))
        )


def run_steps(name: str, rasa_url: str, services: dict[str, int], customers: Sequence[int], seconds: float) -> Variant:
    variant = Variant(name, [], {})
    url = f"{rasa_url}/webhooks/rest/webhook"
    for count in customers:
        step = Step(count, seconds, load_before=load_average())
        cpu_before = {service: cpu_seconds(pid) for service, pid in services.items()}
        asyncio.run(closed_loop(url, step, variant.replies))
        step.load_after = load_average()
        step.cpu_ms_per_turn = {
            service: (cpu_seconds(pid) - cpu_before[service]) * 1000 / max(step.all_turns, 1)
            for service, pid in services.items()
        }
        step.memory_mb = {service: resident_mb(pid) for service, pid in services.items()}
        variant.steps.append(step)
        print(format_step(name, step), flush=True)
    return variant


def format_step(name: str, step: Step) -> str:
    memory = ", ".join(
        f"{s} {step.cpu_ms_per_turn[s]:.0f} CPU ms/turn {mb:.0f} MB" for s, mb in step.memory_mb.items()
    )
    return (
        f"  {name:<10} {step.customers:>3} customers: {step.turns_per_second:5.1f} turns/s, "
        f"p50 {step.percentile_ms(50):6.0f} ms, p95 {step.percentile_ms(95):6.0f} ms, "
        f"p99 {step.percentile_ms(99):6.0f} ms, {step.errors} errors, {step.empty} empty replies; "
        f"load {step.load_before:.1f}→{step.load_after:.1f}; {memory}"
    )


@contextmanager
def bot_services(
    model: Path,
    log_dir: Path,
    adapt: Callable[[launcher.Service], launcher.Service] = lambda s: s,
    nlu_stream: bool = False,
) -> Iterator[tuple[str, dict[str, int], StackConfig]]:
    """Rasa and the action server as launcher starts them, on free ports; yields Rasa's URL, their pids and the
    config. `nlu_stream`: the stack's own Redis too, which Rasa's event broker streams to (else it is off)."""
    config = launcher.StackConfig(
        model_path=model,
        data_dir=log_dir,
        env={} if nlu_stream else {launcher.NLU_STREAM_URL: ""},
        rasa_port=launcher.free_port(),
        actions_port=launcher.free_port(),
        redis_port=launcher.free_port(),
    )
    with launcher.Supervisor(log_dir) as supervisor:
        started = time.monotonic()
        services = [adapt(launcher.actions_service(config)), adapt(launcher.rasa_service(config))]
        if nlu_stream:
            supervisor.start(launcher.redis_service(config))
        pids = {service.name: supervisor.start(service).process.pid for service in services}
        supervisor.wait_ready()
        print(f"  started in {time.monotonic() - started:.0f} s (logs: {log_dir})", flush=True)
        yield config.rasa_url, pids, config


def stream_length(config: StackConfig) -> int:
    """Entries in the NLU stream of the stack's own Redis (the key the bot's broker writes by default)."""
    import redis

    client = redis.Redis.from_url(launcher.bot_env(config)[launcher.NLU_STREAM_URL])
    try:
        return int(client.xlen(DEFAULT_KEY))
    finally:
        client.close()


def reference_bot(revision: str) -> tuple[Path, Path]:
    """The repository at `revision`, extracted once into the build cache, and its model trained there."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = CACHE / "bench" / f"switchboard-{commit[:12]}"
    with build_lock(f"bench-{commit[:12]}"):
        if not (tree / "switchboard").exists():
            tree.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile() as archive:
                subprocess.run(["git", "archive", commit], cwd=ROOT, stdout=archive, check=True)
                archive.seek(0)
                with tarfile.open(fileobj=archive) as tar:
                    tar.extractall(tree)
    # Its own setup: the bot venv and spaCy pipeline link from the cache; its model is cached by its files.
    trained = subprocess.run(
        [sys.executable, tree / "switchboard", "train"], cwd=tree, check=True, capture_output=True, text=True
    )
    return tree, Path(trained.stdout.splitlines()[-1])  # `switchboard train` prints the model's path last


def in_tree(tree: Path) -> Callable[[launcher.Service], launcher.Service]:
    """A bot service of this repository's launcher, run from another checkout's bot/ instead."""

    def adapt(service: launcher.Service) -> launcher.Service:
        env = {**service.env, "PYTHONPATH": launcher.python_path(tree / "bot", tree)}
        return dataclasses.replace(service, cwd=tree / "bot", env=env)

    return adapt


def compare(reference: Variant, current: Variant) -> None:
    before_name, after_name = reference.name, current.name
    print(
        f"\n| customers | {before_name} turns/s | {after_name} turns/s | × | {before_name} p50 / p99 ms | "
        f"{after_name} p50 / p99 ms | Rasa CPU ms/turn {before_name} → {after_name} |"
    )
    print("|---|---|---|---|---|---|---|")
    for before, after in zip(reference.steps, current.steps):
        ratio = after.turns_per_second / before.turns_per_second if before.turns_per_second else float("nan")
        print(
            f"| {after.customers} | {before.turns_per_second:.1f} | {after.turns_per_second:.1f} | {ratio:.2f} | "
            f"{before.percentile_ms(50):.0f} / {before.percentile_ms(99):.0f} | "
            f"{after.percentile_ms(50):.0f} / {after.percentile_ms(99):.0f} | "
            f"{before.cpu_ms_per_turn['rasa']:.0f} → {after.cpu_ms_per_turn['rasa']:.0f} |"
        )
    differing = [m for m in CONVERSATION if set(reference.replies.get(m, {})) != set(current.replies.get(m, {}))]
    print(f"\nSame replies to every message: {'yes' if not differing else 'NO, differing: ' + repr(differing)}")
    for message in differing:
        print(f"  {message!r}: {before_name} {dict(reference.replies.get(message, {}))}, {after_name} {dict(current.replies.get(message, {}))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per step (default 20)")
    parser.add_argument("--customers", default="1,20,50", help="concurrent customers per step (default 1,20,50)")
    parser.add_argument("--reference", default=DEFAULT_REFERENCE, help=f"git revision to compare with (default {DEFAULT_REFERENCE})")
    parser.add_argument("--no-reference", action="store_true", help="measure only the current bot")
    parser.add_argument(
        "--nlu-stream", action="store_true", help="measure the current bot again with its NLU stream broker on"
    )
    args = parser.parse_args()
    customers = [int(c) for c in args.customers.split(",")]

    model = bot_build.ensure_bot()
    log_root = Path(tempfile.mkdtemp(prefix="bot-turn-"))
    print(f"Machine: {os.cpu_count()} cores; 1-minute load average {load_average():.1f} at the start.")
    print(f"Closed loop, {args.seconds:.0f} s per step after {WARM_UP_SECONDS:.0f} s of warm-up; conversation: {CONVERSATION}")
    reference: Variant | None = None
    if not args.no_reference:
        tree, reference_model = reference_bot(args.reference)
        print(f"\nreference: the repository at {args.reference} ({tree}, {reference_model.name})")
        with bot_services(reference_model, log_root / "reference", in_tree(tree)) as (url, pids, _):
            reference = run_steps("reference", url, pids, customers, args.seconds)
    print(f"\nnow: this checkout ({model.name}), NLU stream off")
    with bot_services(model, log_root / "now") as (url, pids, _):
        now = run_steps("now", url, pids, customers, args.seconds)
    if reference is not None:
        compare(reference, now)
    if args.nlu_stream:
        print("\nnow+nlu: this checkout, its event broker streaming every reading to Redis")
        with bot_services(model, log_root / "now-nlu", nlu_stream=True) as (url, pids, config):
            streamed = run_steps("now+nlu", url, pids, customers, args.seconds)
            turns = sum(step.all_turns for step in streamed.steps)
            print(f"  {stream_length(config)} entries in the stream for {turns} turns answered")
        compare(now, streamed)
    print(f"\n1-minute load average {load_average():.1f} at the end.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
