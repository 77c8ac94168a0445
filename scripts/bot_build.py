"""The bot's costly build outputs, cached outside the repo: the spaCy pipeline and the trained Rasa model.

Each is keyed by a hash of exactly the files that affect it, built once into $SWITCHBOARD_CACHE, and
linked into bot/ (gitignored): bot/spacy_pipeline (what bot/config.yml loads) and bot/models/<key>.tar.gz.
A fresh clone with the same bot files reuses both; any change to them builds anew. A lock per key keeps
two runs at once (a developer's and CI's) from building the same thing twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from scripts import launcher
from scripts.envs import CACHE, ROOT, build_lock, digest, ensure_bot_env, run

BOT = ROOT / "bot"
BOT_PYTHON = BOT / ".venv" / "bin" / "python"
REQUIREMENTS = [BOT / "requirements.txt", BOT / "requirements-nodeps.txt"]


def bot_process_env() -> dict[str, str]:
    return launcher.bot_base_env(os.environ)


def existing(*paths: Path) -> list[Path]:
    return [p for p in paths if p.exists()]


def spacy_key() -> str:
    return "spacy-" + digest(*existing(BOT / "nlp", *REQUIREMENTS))


def model_key() -> str:
    inputs = existing(
        BOT / "config.yml",
        BOT / "domain.yml",
        BOT / "domain",
        BOT / "data",
        BOT / "components",
        BOT / "nlp",
        BOT / "triage",  # the safety screen's lexicon and examples are learnt into the model
        *REQUIREMENTS,
    )
    return "model-" + digest(*inputs)


def link(target: Path, link_path: Path) -> None:
    """Point `link_path` at `target`, swapping the link atomically (a running Rasa keeps a valid path)."""
    if link_path.is_symlink() and link_path.resolve() == target.resolve():
        return
    if link_path.exists() and not link_path.is_symlink():
        shutil.rmtree(link_path) if link_path.is_dir() else link_path.unlink()
    link_path.parent.mkdir(parents=True, exist_ok=True)
    fresh = link_path.with_name(f".{link_path.name}.{os.getpid()}")
    fresh.symlink_to(target)
    os.replace(fresh, link_path)


def ensure_spacy_pipeline() -> Path:
    """bot/spacy_pipeline, built by bot/nlp/build_spacy_pipeline.py (a blank "en" with entity rules)."""
    key = spacy_key()
    cached = CACHE / "spacy" / key
    with build_lock(key):
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=cached.parent))
            try:
                run(
                    [BOT_PYTHON, BOT / "nlp" / "build_spacy_pipeline.py", "--output", building / "pipeline"],
                    cwd=BOT,
                    env=bot_process_env(),
                )
                os.replace(building / "pipeline", cached)
            finally:
                shutil.rmtree(building, ignore_errors=True)
    link(cached, BOT / "spacy_pipeline")
    return cached


def ensure_model(force: bool = False) -> Path:
    """The trained Rasa model for the bot's current files, as bot/models/<key>.tar.gz."""
    ensure_spacy_pipeline()  # the model's SpacyNLP loads it, at training and at run time
    key = model_key()
    cached = CACHE / "models" / f"{key}.tar.gz"
    with build_lock(key):
        if force or not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=f"{key}.", dir=cached.parent) as out:
                domain = "domain" if (BOT / "domain").is_dir() else "domain.yml"
                # Rasa's own training cache keys components by config and data, not by their code: a
                # changed custom component could come back from it stale. The key above covers it; no cache.
                run(
                    [
                        BOT / ".venv" / "bin" / "rasa",
                        "train",
                        "--domain",
                        domain,
                        "--out",
                        out,
                        "--fixed-model-name",
                        key,
                    ],
                    cwd=BOT,
                    env={**bot_process_env(), "RASA_MAX_CACHE_SIZE": "0"},
                )
                os.replace(Path(out) / f"{key}.tar.gz", cached)
    model = BOT / "models" / f"{key}.tar.gz"
    link(cached, model)
    return model


def evaluation_key(model: Path) -> str:
    """The model's evaluation is keyed by the model and what judges it: the held-out sets and stories
    (bot/tests), the real actions they run through, the bank policy, and the evaluation's own code."""
    return "evaluation-" + digest(*existing(BOT / "tests", BOT / "actions", BOT / "governance"), extra=model.name)


def ensure_evaluation(model: Path) -> Path:
    """The model's evaluation.json (bot/governance/candidate.py's `evaluate` mode, in the bot's venv), built once
    into the cache: what a candidate from Retrain is gated against while this model is in production."""
    key = evaluation_key(model)
    cached = CACHE / "evaluations" / f"{key}.json"
    with build_lock(key):
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=f"{key}.", dir=cached.parent) as out:
                print("Evaluating the model on the held-out sets (once per model and sets)...", flush=True)
                run(
                    [BOT_PYTHON, "-m", "governance.candidate", "evaluate", "--model", model.resolve(), "--out", out],
                    cwd=BOT,
                    env=bot_process_env(),
                    stdout=subprocess.DEVNULL,  # its progress lines; Rasa's output goes to stderr
                )
                os.replace(Path(out) / "evaluation.json", cached)
    return cached


def ensure_bot() -> Path:
    """Everything the bot needs to run: its venv, the spaCy pipeline, the trained model."""
    ensure_bot_env()
    return ensure_model()
