"""The portal's apps depend in one direction: each may use only the layers below it, so the graph has no cycle.

The order is written here once. An app's modules may import (or name in a model relation, "app.Model") an app of
a lower layer, never one of its own layer or above; a new package under portal/ must be given a layer.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "portal"

# Bottom to top.
LAYERS: list[set[str]] = [
    {"agents", "bot_gateway"},  # who the people are; the only client of the Rasa server
    {"conversations"},  # a conversation, its messages and handoffs, its state machine, the customer socket
    # the agents' inbox and the agent socket; the customer's page; the managers' pages (the bot's governance)
    {"handoff", "widget", "tuning"},
    {"oversight"},  # the managers' dashboard and drift alerts, over conversations and tuning's NLU records
    {"config"},  # the project: settings, URLs, ASGI and Celery apps
]
RANK = {app: rank for rank, layer in enumerate(LAYERS) for app in layer}
RELATIONS = {"ForeignKey", "OneToOneField", "ManyToManyField"}
MODEL_LABEL = re.compile(r"(\w+)\.\w+")


def packages(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if (p / "__init__.py").exists()}


def _module(root: Path, path: Path) -> list[str]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def used_apps(root: Path, path: Path) -> set[tuple[str, int]]:
    """(app, line) of every portal app that the module at `path` imports or relates a model to."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module(root, path)[: -1 if path.name != "__init__.py" else None]
    known = packages(root)
    used = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            names = [".".join([*base, node.module] if node.module else base)]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in RELATIONS:
            target = node.args[0] if node.args else None
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                if match := MODEL_LABEL.fullmatch(target.value):
                    names = [match[1]]
        used |= {(name.split(".")[0], node.lineno) for name in names if name.split(".")[0] in known}
    return used


def upward_uses(root: Path) -> list[str]:
    """Every use of an app at the user's own layer or above, as "file:line: app → other"."""
    found = []
    for path in sorted(root.rglob("*.py")):
        app = path.relative_to(root).parts[0]
        if app not in RANK:
            continue
        for other, line in sorted(used_apps(root, path)):
            if other != app and RANK[other] >= RANK[app]:
                found.append(f"{path.relative_to(root)}:{line}: {app} → {other}")
    return found


def test_every_portal_package_has_a_layer() -> None:
    assert packages(PORTAL) == set(RANK)


def test_no_app_uses_an_app_of_its_own_layer_or_above() -> None:
    assert upward_uses(PORTAL) == []


@pytest.mark.parametrize(
    "source",
    [
        "from conversations.models import Conversation\n",
        "import conversations.selectors\n",
        "def later():\n    from handoff import services\n",
        "from django.db import models\nrelation = models.ForeignKey('conversations.Conversation', on_delete=None)\n",
    ],
)
def test_the_check_catches_an_upward_use(tmp_path: Path, source: str) -> None:
    for app in RANK:
        (tmp_path / app).mkdir()
        (tmp_path / app / "__init__.py").write_text("")
    (tmp_path / "agents" / "models.py").write_text(source)
    (tmp_path / "handoff" / "consumers.py").write_text("from . import selectors\nfrom conversations import frames\n")
    assert [use.split(": ")[1] for use in upward_uses(tmp_path)] == [
        f"agents → {'handoff' if 'handoff' in source else 'conversations'}"
    ]
