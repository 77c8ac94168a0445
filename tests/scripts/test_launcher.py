"""The process supervisor behind `./switchboard run` and the e2e harness, on small real processes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from scripts.launcher import Service, ServiceFailed, Supervisor, with_overrides


def python_service(name: str, code: str, tmp_path: Path, **kwargs) -> Service:
    return Service(name=name, argv=[sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ), **kwargs)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_service_is_ready_once_its_ready_line_is_printed(tmp_path: Path) -> None:
    code = "import time; time.sleep(0.5); print('worker@host ready.', flush=True); time.sleep(60)"
    with Supervisor(tmp_path / "log") as supervisor:
        running = supervisor.start(python_service("worker", code, tmp_path, ready_line=r"@\S+ ready\."))
        assert not running.is_ready()
        supervisor.wait_ready()
        assert running.is_ready()
    assert "ready." in (tmp_path / "log" / "worker.log").read_text()


def test_a_service_that_exits_while_starting_fails_with_its_output(tmp_path: Path) -> None:
    code = "print('cannot bind port 8000'); raise SystemExit(3)"
    with Supervisor(tmp_path / "log") as supervisor:
        supervisor.start(python_service("portal", code, tmp_path, probe=lambda: False))
        with pytest.raises(ServiceFailed, match=r"portal exited with code 3[\s\S]*cannot bind port 8000"):
            supervisor.wait_ready()


def test_a_service_not_ready_in_time_fails(tmp_path: Path) -> None:
    code = "import time; time.sleep(60)"
    with Supervisor(tmp_path / "log") as supervisor:
        supervisor.start(python_service("rasa", code, tmp_path, probe=lambda: False, startup_timeout=1))
        with pytest.raises(ServiceFailed, match="rasa was not ready after 1 s"):
            supervisor.wait_ready()


def test_stopping_a_service_stops_its_children_too(tmp_path: Path) -> None:
    # The child ignores SIGTERM, as a busy pool process might: the group is killed after the grace time.
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    supervisor = Supervisor(tmp_path / "log")
    running = supervisor.start(python_service("worker", code, tmp_path, ready_line=r"^\d+$"))
    supervisor.wait_ready()
    child_pid = int(running.tail[-1])
    started = time.monotonic()
    supervisor.stop_all()
    assert running.process.poll() is not None
    deadline = time.monotonic() + 5
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child_pid)
    assert time.monotonic() - started < 15
    assert supervisor.running == {}


def test_a_none_override_unsets_an_inherited_variable() -> None:
    env = with_overrides(
        {"CELERY_BROKER_URL": "redis://x/2", "KEEP": "1"}, {"CELERY_BROKER_URL": None, "NEW": "2"}
    )
    assert env == {"KEEP": "1", "NEW": "2"}
