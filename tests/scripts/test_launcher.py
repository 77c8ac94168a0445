"""The process supervisor behind `./switchboard run` and the e2e harness, on small real processes."""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from scripts import launcher
from scripts.launcher import Service, ServiceFailed, Supervisor, with_overrides

PRINTS_ITS_PID = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"


def python_service(name: str, code: str, tmp_path: Path, **kwargs) -> Service:
    return Service(name=name, argv=[sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ), **kwargs)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def eventually(condition: Callable[[], object], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def pid_of(supervisor: Supervisor, name: str) -> int:
    return supervisor.running[name].process.pid


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


def test_a_service_that_dies_is_restarted_with_a_growing_pause_and_the_others_stay_up(tmp_path: Path) -> None:
    notices = io.StringIO()
    with Supervisor(tmp_path / "log", notices=notices, restart_first_delay=0.2, restart_max_delay=0.4) as supervisor:
        supervisor.start(python_service("rasa", PRINTS_ITS_PID, tmp_path, ready_line=r"^\d+$"))
        supervisor.start(python_service("portal", PRINTS_ITS_PID, tmp_path, ready_line=r"^\d+$"))
        supervisor.wait_ready()
        portal = pid_of(supervisor, "portal")
        for pause in ("0.2", "0.4", "0.4"):  # doubles while it keeps dying, up to the most
            first = pid_of(supervisor, "rasa")
            os.kill(first, signal.SIGKILL)
            eventually(lambda: pid_of(supervisor, "rasa") != first)
            supervisor.wait_ready(["rasa"])
            assert f"rasa exited with code -9; restarting it in {pause} s" in notices.getvalue()
        assert pid_of(supervisor, "portal") == portal
        assert supervisor.running["portal"].process.poll() is None
    log = (tmp_path / "log" / "rasa.log").read_text()
    assert log.count("restarting it in") == 3 and "restarting rasa (restart 3)" in log
    assert len({line for line in log.splitlines() if line.isdigit()}) == 4  # four processes, one after another


def test_a_service_that_stayed_up_long_enough_restarts_after_the_first_pause_again(tmp_path: Path) -> None:
    notices = io.StringIO()
    supervisor = Supervisor(
        tmp_path / "log", notices=notices, restart_first_delay=0.2, restart_max_delay=5, restart_stable_after=1
    )
    with supervisor:
        supervisor.start(python_service("worker", PRINTS_ITS_PID, tmp_path, ready_line=r"^\d+$"))
        supervisor.wait_ready()
        for _ in range(2):
            first = pid_of(supervisor, "worker")
            time.sleep(1.2)  # up longer than restart_stable_after
            os.kill(first, signal.SIGKILL)
            eventually(lambda: pid_of(supervisor, "worker") != first)
    assert notices.getvalue().count("restarting it in 0.2 s") == 2


def test_a_service_stopped_on_purpose_stays_stopped(tmp_path: Path) -> None:
    with Supervisor(tmp_path / "log", restart_first_delay=0.1) as supervisor:
        supervisor.start(python_service("rasa", PRINTS_ITS_PID, tmp_path, ready_line=r"^\d+$"))
        supervisor.start(python_service("portal", PRINTS_ITS_PID, tmp_path, ready_line=r"^\d+$"))
        supervisor.wait_ready()
        rasa = supervisor.running["rasa"].process
        supervisor.stop("rasa")
        time.sleep(1)  # ten restart pauses
        assert rasa.poll() is not None and "rasa" not in supervisor.running
        assert supervisor.running["portal"].process.poll() is None
    assert "restarting" not in (tmp_path / "log" / "rasa.log").read_text()


def test_a_service_that_never_became_healthy_is_not_restarted(tmp_path: Path) -> None:
    with Supervisor(tmp_path / "log", restart_first_delay=0.1) as supervisor:
        running = supervisor.start(python_service("portal", "raise SystemExit(3)", tmp_path))
        running.process.wait()
        time.sleep(1)
        assert supervisor.running["portal"] is running  # a set-up error: wait_ready reports it, no restart loop


def test_the_stacks_own_redis_needs_its_password_and_is_restarted_if_it_dies(tmp_path: Path) -> None:
    config = launcher.StackConfig(
        model_path=tmp_path / "no-model", data_dir=tmp_path, env={}, redis_port=launcher.free_port()
    )
    with Supervisor(tmp_path / "log", restart_first_delay=0.2) as supervisor:
        supervisor.start(launcher.redis_service(config))
        supervisor.wait_ready()
        assert launcher.redis_ping(config.host, config.redis_port, config.redis_password)
        assert not launcher.redis_ping(config.host, config.redis_port, "not-the-password")
        redis.Redis.from_url(f"{config.redis_url}/3").set("handoff", "queued")

        first = pid_of(supervisor, "redis")
        os.kill(first, signal.SIGKILL)
        eventually(lambda: pid_of(supervisor, "redis") != first)
        supervisor.wait_ready(["redis"])
        assert redis.Redis.from_url(f"{config.redis_url}/3").ping()
    assert (tmp_path / "redis" / "redis.conf").stat().st_mode & 0o077 == 0  # it holds the password
    assert (tmp_path / "redis" / "password").stat().st_mode & 0o077 == 0


def test_the_bot_streams_its_readings_where_the_portal_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NLU_STREAM_URL", raising=False)
    config = launcher.StackConfig(model_path=tmp_path, data_dir=tmp_path, env={}, redis_port=6399)
    own = f"redis://:{config.redis_password}@127.0.0.1:6399/3"
    assert launcher.bot_env(config)["NLU_STREAM_URL"] == launcher.portal_env(config)["NLU_STREAM_URL"] == own
    named = launcher.StackConfig(
        model_path=tmp_path, data_dir=tmp_path, env={"NLU_STREAM_URL": "redis://10.0.0.5:6379/7"}, redis_port=6399
    )
    assert launcher.bot_env(named)["NLU_STREAM_URL"] == launcher.portal_env(named)["NLU_STREAM_URL"]
    assert launcher.bot_env(named)["NLU_STREAM_URL"] == "redis://10.0.0.5:6379/7"
    off = launcher.StackConfig(model_path=tmp_path, data_dir=tmp_path, env={"NLU_STREAM_URL": ""})
    assert launcher.bot_env(off)["NLU_STREAM_URL"] == launcher.portal_env(off)["NLU_STREAM_URL"] == ""


def test_the_portal_uses_the_stacks_own_redis_unless_the_environment_names_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHANNEL_LAYER_URL", raising=False)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/8")
    config = launcher.StackConfig(model_path=tmp_path, data_dir=tmp_path, env={}, redis_port=6399)
    env = launcher.portal_env(config)
    assert env["CHANNEL_LAYER_URL"] == f"redis://:{config.redis_password}@127.0.0.1:6399/0"
    assert env["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/8"
    unset = launcher.portal_env(
        launcher.StackConfig(model_path=tmp_path, data_dir=tmp_path, env={"CELERY_BROKER_URL": None})
    )
    assert unset["CELERY_BROKER_URL"] == f"redis://:{config.redis_password}@127.0.0.1:6380/1"


def test_the_action_server_counts_in_the_stacks_own_redis_unless_the_environment_names_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SWITCHBOARD_ACTIONS_REDIS_URL", raising=False)
    config = launcher.StackConfig(model_path=tmp_path, data_dir=tmp_path, env={}, redis_port=6399)
    assert launcher.bot_env(config)["SWITCHBOARD_ACTIONS_REDIS_URL"] == f"{config.redis_url}/4"
    monkeypatch.setenv("SWITCHBOARD_ACTIONS_REDIS_URL", "redis://10.0.0.5:6379/7")
    assert launcher.bot_env(config)["SWITCHBOARD_ACTIONS_REDIS_URL"] == "redis://10.0.0.5:6379/7"


@pytest.mark.parametrize(
    ("env", "demo"),
    [
        ({}, True),
        ({"SWITCHBOARD_CUSTOMER_JWT_SECRET": "the-banks-secret-0123456789abcdef"}, False),
        ({"SWITCHBOARD_CUSTOMER_JWT_PUBLIC_KEY_FILE": "/etc/bank.pem"}, False),
        ({"SWITCHBOARD_DEMO_CUSTOMER": "false"}, False),
    ],
)
def test_the_demo_customer_runs_only_where_no_bank_key_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], demo: bool
) -> None:
    for name in (*launcher.BANK_KEY_SETTINGS, "SWITCHBOARD_DEMO_CUSTOMER"):
        monkeypatch.delenv(name, raising=False)
    config = launcher.StackConfig(model_path=tmp_path, data_dir=tmp_path, env=dict(env))
    assert launcher.demo_customer_on(config) is demo
