"""The sentence encoder alone: CPU per message of this checkout's against a reference revision's, in one process.

Run with the bot's Python, from the repository root:

    bot/.venv/bin/python benchmarks/encoder.py [--reference c4a39b4] [--rounds 3] [--repeats 60]

Both encoders (bot/components/sentence_encoder.py as it is here, and as it was at the reference, read from git)
load the same weights and encode each message of the bot benchmark's conversation, and a few longer ones, on one
BLAS thread as the classifier does. They take turns, `--rounds` times, each time `--repeats` encodings of the
message, and the best round counts (the least disturbed by the rest of the machine). It prints CPU ms per
message for both, the largest difference between their embeddings, the machine's cores and its load.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bot"))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks.bot_conversation import CONVERSATION  # noqa: E402
from components import sentence_encoder  # noqa: E402

LONGER = [
    "i lost my card yesterday and i think someone is using it to buy things online",
    "can you tell me why my salary has not arrived yet, it normally comes in on the last friday of the month",
]


def encoder_at(revision: str) -> ModuleType:
    """bot/components/sentence_encoder.py as it was at `revision`."""
    source = subprocess.run(
        ["git", "show", f"{revision}:bot/components/sentence_encoder.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="encoder-reference-")) / "sentence_encoder_reference.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("sentence_encoder_reference", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_ms(encoder: Any, text: str, repeats: int) -> float:
    start = time.process_time()
    for _ in range(repeats):
        encoder.encode([text])
    return (time.process_time() - start) / repeats * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="c4a39b4", help="the revision to compare with (default c4a39b4)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=60)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    reference = encoder_at(args.reference).SentenceEncoder()
    now = sentence_encoder.SentenceEncoder()
    print(f"Machine: {os.cpu_count()} cores; 1-minute load average {load_start:.2f} at the start.")
    print(f"Sentence encoder, CPU ms per message (best of {args.rounds} rounds of {args.repeats}), one BLAS thread")
    print(f"\n| word pieces | reference ({args.reference}) | now | largest embedding difference | message |")
    print("|---|---|---|---|---|")
    totals = [0.0, 0.0]
    with threadpool_limits(1):
        for text in CONVERSATION + LONGER:
            for encoder in (reference, now):  # warm: the first call of a shape costs more
                encoder.encode([text])
            before = min(cpu_ms(reference, text, args.repeats) for _ in range(args.rounds))
            after = min(cpu_ms(now, text, args.repeats) for _ in range(args.rounds))
            difference = float(np.abs(reference.encode([text]) - now.encode([text])).max())
            pieces = len(now._tokenizer.encode(text).ids)
            print(f"| {pieces} | {before:.1f} | {after:.1f} | {difference:.1e} | {text} |")
            if text in CONVERSATION:
                totals[0] += before
                totals[1] += after
    turns = len(CONVERSATION)
    print(f"\nThe bot benchmark's conversation: {totals[0] / turns:.1f} → {totals[1] / turns:.1f} ms a message.")
    print(f"1-minute load average {os.getloadavg()[0]:.2f} at the end.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
