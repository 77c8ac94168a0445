"""Banking77 intent benchmark: the bot's NLU pipeline against Rasa's default pipeline.

Run with the bot's environment, from the repository root:

    bot/.venv/bin/python benchmarks/nlu_banking77.py [--reference-epochs 5]

Both pipelines go through Rasa's real training (`rasa.model_training.train_nlu` on a
temporary project whose NLU data is Banking77's train.csv converted to YAML), are loaded
with `Agent.load` and parse every test.csv message with `agent.parse_message`, in process.

- The bot's pipeline is bot/config.yml's NLU pipeline, with FallbackClassifier left out (it
  would replace low-confidence intents by nlu_fallback; its share is reported separately).
- The reference is the pipeline `rasa init` writes (WhitespaceTokenizer, RegexFeaturizer,
  LexicalSyntacticFeaturizer, CountVectorsFeaturizer word and char_wb 1-4, DIETClassifier with
  constrain_similarities). DIET's default is 100 epochs, about 48 s each on a 2-core machine,
  so it runs with --reference-epochs (stated in the results) and its 100-epoch training time
  is extrapolated linearly.

Results are printed and written between the markers of docs/benchmarks.md. Rasa's training
cache is disabled, so every run trains from scratch. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
BOT = REPO / "bot"
DEFAULT_DATASET = REPO.parent / "shared" / "datasets" / "banking77"
DEFAULT_REPORT = REPO / "docs" / "benchmarks.md"
RESULTS_START = "<!-- banking77-results:start -->"
RESULTS_END = "<!-- banking77-results:end -->"
DIET_DEFAULT_EPOCHS = 100

# Every run must train from scratch: Rasa's cache would otherwise reuse trained components.
os.environ["RASA_MAX_CACHE_SIZE"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The bot's custom components import as `components.…`, as under `rasa` run from bot/.
sys.path.insert(0, str(BOT))


@dataclass
class PipelineResult:
    name: str
    description: str
    accuracy: float
    macro_f1: float
    train_seconds: float
    load_seconds: float
    parse_p50_ms: float
    parse_p99_ms: float
    below_fallback_threshold: Optional[float] = None


def read_examples(path: Path) -> List[Tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def write_nlu_yaml(examples: List[Tuple[str, str]], path: Path) -> None:
    """Banking77 rows as Rasa YAML NLU data, written by Rasa's own writer (it escapes the text)."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [Message(data={"text": text, "intent": intent}) for text, intent in examples]
    RasaYAMLWriter().dump(path, TrainingData(training_examples=messages))


def bot_pipeline(config_path: Path, spacy_model: Path) -> Tuple[List[Dict[str, Any]], Optional[float]]:
    """The bot config's NLU pipeline without its fallback (Rasa's FallbackClassifier or the bot's per-intent
    one) and without the safety screen (it judges the bank's escalation topics, not Banking77's intents), and
    that fallback's global threshold."""
    import yaml

    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    pipeline, threshold = [], None
    for component in config["pipeline"]:
        if component["name"].endswith("FallbackClassifier"):
            threshold = component.get("threshold", 0.3)
            continue
        if component["name"] == "components.sensitive_screen.SensitiveTopicScreen":
            continue
        if component["name"] == "SpacyNLP":
            component = {**component, "model": str(spacy_model)}
        pipeline.append(component)
    return pipeline, threshold


def reference_pipeline(epochs: int) -> List[Dict[str, Any]]:
    """The NLU pipeline of `rasa init`'s config.yml (its entity/response components aside)."""
    return [
        {"name": "WhitespaceTokenizer"},
        {"name": "RegexFeaturizer"},
        {"name": "LexicalSyntacticFeaturizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "DIETClassifier", "epochs": epochs, "constrain_similarities": True},
    ]


def build_spacy_pipeline(output: Path) -> None:
    """The bot's spaCy pipeline, built by BOT-DOMAIN's script into the benchmark's folder."""
    subprocess.run(
        [sys.executable, str(BOT / "nlp" / "build_spacy_pipeline.py"), "--output", str(output)],
        check=True,
    )


def train(pipeline: List[Dict[str, Any]], nlu_path: Path, workdir: Path, name: str) -> Tuple[str, float]:
    import yaml
    from rasa.model_training import train_nlu

    config_path = workdir / f"{name}.config.yml"
    config = {"recipe": "default.v1", "language": "en", "pipeline": pipeline, "policies": []}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    started = time.perf_counter()
    model_path = train_nlu(str(config_path), str(nlu_path), str(workdir / "models"), fixed_model_name=name)
    seconds = time.perf_counter() - started
    if not model_path:
        raise RuntimeError(f"training {name} produced no model")
    return model_path, seconds


def percentile(values: List[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


def evaluate(
    name: str,
    description: str,
    model_path: str,
    train_seconds: float,
    test: List[Tuple[str, str]],
    fallback_threshold: Optional[float] = None,
) -> PipelineResult:
    from rasa.core.agent import Agent
    from sklearn.metrics import accuracy_score, f1_score

    started = time.perf_counter()
    agent = Agent.load(model_path)
    load_seconds = time.perf_counter() - started

    async def parse_all() -> Tuple[List[str], List[float], List[float]]:
        predicted, confidences, latencies = [], [], []
        await agent.parse_message("warm up")  # first call builds lazy state; not a customer
        for text, _ in test:
            begin = time.perf_counter()
            parsed = await agent.parse_message(text)
            latencies.append((time.perf_counter() - begin) * 1000)
            predicted.append(parsed["intent"]["name"])
            confidences.append(parsed["intent"]["confidence"])
        return predicted, confidences, latencies

    predicted, confidences, latencies = asyncio.run(parse_all())
    expected = [intent for _, intent in test]
    below = None
    if fallback_threshold is not None:
        below = sum(c < fallback_threshold for c in confidences) / len(confidences)
    return PipelineResult(
        name=name,
        description=description,
        accuracy=accuracy_score(expected, predicted),
        macro_f1=f1_score(expected, predicted, average="macro"),
        train_seconds=train_seconds,
        load_seconds=load_seconds,
        parse_p50_ms=percentile(latencies, 50),
        parse_p99_ms=percentile(latencies, 99),
        below_fallback_threshold=below,
    )


def describe(pipeline: List[Dict[str, Any]]) -> str:
    def one(component: Dict[str, Any]) -> str:
        options = ", ".join(f"{k}={v}" for k, v in component.items() if k != "name" and k != "model")
        return f"{component['name']}({options})" if options else component["name"]

    return " → ".join(one(c) for c in pipeline)


def render(
    results: List[PipelineResult],
    reference_epochs: int,
    command: str,
    train_size: int,
    test_size: int,
    load_before: Tuple[float, ...],
    load_after: Tuple[float, ...],
    fallback_threshold: Optional[float],
) -> str:
    bot, reference = results
    per_epoch = reference.train_seconds / reference_epochs
    reference_full = per_epoch * DIET_DEFAULT_EPOCHS
    lines = [
        f"Measured {datetime.date.today().isoformat()} with:",
        "",
        "```",
        command,
        "```",
        "",
        f"Banking77: {train_size} training messages (train.csv), {test_size} test messages (test.csv), 77 intents. "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"1-minute load average {load_before[0]:.1f} at the start and {load_after[0]:.1f} at the end "
        "(other work shares these cores, so times are upper bounds).",
        "",
        "| pipeline | accuracy | macro-F1 | training | model load | parse p50 | parse p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.accuracy:.2%} | {r.macro_f1:.4f} | {r.train_seconds:.1f} s | "
            f"{r.load_seconds:.2f} s | {r.parse_p50_ms:.1f} ms | {r.parse_p99_ms:.1f} ms |"
        )
    lines += [
        "",
        f"- Bot pipeline (its config.yml without FallbackClassifier): {bot.description}",
        f"- Reference (Rasa's default pipeline, DIETClassifier at {reference_epochs} epochs instead of its default "
        f"{DIET_DEFAULT_EPOCHS}): {reference.description}",
        f"- The reference's training took {per_epoch:.1f} s per epoch (all of it counted as epochs, so an upper "
        f"bound); its default {DIET_DEFAULT_EPOCHS} epochs extrapolate to about {reference_full / 60:.0f} min, "
        f"{reference_full / bot.train_seconds:.0f}× the bot pipeline's training time "
        f"({reference.train_seconds / bot.train_seconds:.1f}× at the {reference_epochs} epochs measured).",
        f"- Accuracy: bot {bot.accuracy:.2%} vs reference {reference.accuracy:.2%} "
        f"({(bot.accuracy - reference.accuracy) * 100:+.1f} points).",
    ]
    if bot.below_fallback_threshold is not None:
        lines.append(
            f"- With the bot's FallbackClassifier threshold {fallback_threshold}, {bot.below_fallback_threshold:.1%} "
            "of the test messages would go to the two-stage fallback instead of their top intent."
        )
    lines.append("- Parse latency: `agent.parse_message` per message, in process, one message at a time.")
    return "\n".join(lines)


def write_report(report: Path, results_markdown: str) -> None:
    """Replaces the text between the result markers of `report`, or appends a results section."""
    block = f"{RESULTS_START}\n{results_markdown}\n{RESULTS_END}"
    text = report.read_text(encoding="utf-8") if report.exists() else "# NLU benchmarks\n"
    if RESULTS_START in text and RESULTS_END in text:
        before = text[: text.index(RESULTS_START)]
        after = text[text.index(RESULTS_END) + len(RESULTS_END) :]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n## Banking77 results\n\n" + block + "\n"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, help="folder with train.csv and test.csv")
    parser.add_argument("--bot-config", type=Path, default=BOT / "config.yml", help="the bot's Rasa config")
    parser.add_argument("--reference-epochs", type=int, default=5, help="DIET epochs of the reference pipeline")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="markdown file to write the results to")
    parser.add_argument("--no-report", action="store_true", help="print the results only")
    args = parser.parse_args()

    command = "bot/.venv/bin/python benchmarks/nlu_banking77.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    load_before = os.getloadavg()
    train_examples = read_examples(args.dataset / "train.csv")
    test_examples = read_examples(args.dataset / "test.csv")

    with tempfile.TemporaryDirectory(prefix="banking77-") as tmp:
        workdir = Path(tmp)
        nlu_path = workdir / "nlu.yml"
        write_nlu_yaml(train_examples, nlu_path)
        build_spacy_pipeline(workdir / "spacy_pipeline")
        bot_components, fallback_threshold = bot_pipeline(args.bot_config, workdir / "spacy_pipeline")
        reference_components = reference_pipeline(args.reference_epochs)

        results = []
        for name, components, threshold in [
            (f"bot ({args.bot_config.name})", bot_components, fallback_threshold),
            (f"Rasa default, DIET {args.reference_epochs} epochs", reference_components, None),
        ]:
            print(f"training {name} …", flush=True)
            model_path, train_seconds = train(components, nlu_path, workdir, name.split(" ")[0].lower())
            print(f"  trained in {train_seconds:.1f} s; evaluating …", flush=True)
            result = evaluate(name, describe(components), model_path, train_seconds, test_examples, threshold)
            print(f"  {result}", flush=True)
            results.append(result)

    markdown = render(
        results,
        args.reference_epochs,
        command,
        len(train_examples),
        len(test_examples),
        load_before,
        os.getloadavg(),
        fallback_threshold,
    )
    print(markdown)
    if not args.no_report:
        write_report(args.report, markdown)
        print(f"written to {args.report}")


if __name__ == "__main__":
    main()
