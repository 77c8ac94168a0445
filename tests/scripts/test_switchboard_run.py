"""What `./switchboard run` does before it starts the services that need the database: on a fresh data folder,
with the stack's own Redis up, it migrates, makes the demo logins (a password generated once each) and registers
the model built from bot/ as the version in production, which Rasa is then started on."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from scripts import launcher
from scripts.launcher import Supervisor


def switchboard() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("switchboard_cli", str(launcher.ROOT / "switchboard"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # its dataclasses look their module up
    loader.exec_module(module)
    return module


def test_a_first_run_makes_the_demo_logins_and_puts_the_baseline_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "CHANNEL_LAYER_URL", "CELERY_BROKER_URL", "CACHE_URL"):
        monkeypatch.delenv(name, raising=False)  # the embedded defaults: SQLite in the folder, its own Redis
    cli = switchboard()
    model = tmp_path / "model-0123abcd.tar.gz"
    model.write_bytes(b"a trained model")
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps({"version": 1, "heldout": {"accuracy": 0.9}}))
    config = launcher.StackConfig(model_path=model, data_dir=tmp_path, env={}, redis_port=launcher.free_port())
    with Supervisor(tmp_path / "log") as supervisor:
        supervisor.start(launcher.redis_service(config))
        supervisor.wait_ready()
        ready, logins = cli.prepare(config, evaluation)
        again, same_logins = cli.prepare(config)  # a restart: the same passwords, the same model
        stored = subprocess.run(
            [launcher.PORTAL_PYTHON_BIN / "python", launcher.ROOT / "manage.py", "shell", "-c",
             "from tuning import selectors; from django.contrib.auth.models import User; import json; "
             "print(json.dumps([selectors.in_production().evaluation, "
             "sorted((u.username, [g.name for g in u.groups.all()]) for u in User.objects.all())]))"],
            env=launcher.portal_env(config), capture_output=True, text=True, check=True,
        ).stdout
    assert [(role, username) for role, username, _ in logins] == [
        ("agent", "demo"), ("supervisor", "demo-supervisor"), ("manager", "demo-manager")
    ]
    assert same_logins == logins
    for role, _, password in logins:
        assert (tmp_path / f"demo-{role}-password").read_text().strip() == password
    assert ready.model_path == again.model_path == model.resolve()
    assert json.loads(stored.splitlines()[-1]) == [
        {"version": 1, "heldout": {"accuracy": 0.9}},
        [["demo", ["Agents"]], ["demo-manager", ["Managers"]], ["demo-supervisor", ["Supervisors"]]],
    ]
