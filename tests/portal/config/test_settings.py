"""Settings parsed from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from config.settings import DATA_DIR, PORTAL_DIR, database_from_url


def test_postgres_url() -> None:
    config = database_from_url("postgres://sb:p%40ss@db.internal:6543/switchboard")
    assert {k: config[k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "CONN_MAX_AGE")} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "switchboard",
        "USER": "sb",
        "PASSWORD": "p@ss",
        "HOST": "db.internal",
        "PORT": 6543,
        "CONN_MAX_AGE": 0,  # the pool keeps connections; Django refuses persistent ones beside it
    }
    assert config["OPTIONS"] == {"options": "-c jit=off", "pool": {"min_size": 1, "max_size": 20, "timeout": 10}}


def test_a_postgres_urls_options_are_kept_beside_the_pool() -> None:
    config = database_from_url("postgres://sb@db.internal/switchboard?sslmode=verify-full&connect_timeout=5")
    assert config["OPTIONS"] == {
        "options": "-c jit=off",
        "sslmode": "verify-full",
        "connect_timeout": 5,
        "pool": {"min_size": 1, "max_size": 20, "timeout": 10},
    }


def test_postgres_url_without_password_or_port() -> None:
    config = database_from_url("postgresql://postgres@127.0.0.1/switchboard")
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"]) == (
        "postgres",
        "",
        "127.0.0.1",
        "",
    )


def test_sqlite_urls_relative_to_the_data_dir_or_absolute() -> None:
    assert database_from_url("sqlite:///db.sqlite3")["NAME"] == str(DATA_DIR / "db.sqlite3")
    assert database_from_url("sqlite:////srv/switchboard/db.sqlite3")["NAME"] == "/srv/switchboard/db.sqlite3"


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        database_from_url("mysql://root@localhost/switchboard")


def channel_layer_config(**env: str) -> dict:
    """The channel layer's settings as a fresh process reads them from `env`."""
    code = "import json; from config import settings; print(json.dumps(settings.CHANNEL_LAYERS['default']))"
    cleared = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_CHANNEL", "CHANNEL_LAYER"))}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=cleared | {"PYTHONPATH": str(PORTAL_DIR)} | env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_the_channel_layer_holds_a_busy_inbox_by_default_and_is_sized_from_the_environment() -> None:
    default = channel_layer_config(CHANNEL_LAYER_URL="redis://127.0.0.1:6379/0")
    assert (default["CONFIG"]["capacity"], default["CONFIG"]["expiry"]) == (2000, 60)
    sized = channel_layer_config(
        CHANNEL_LAYER_URL="redis://127.0.0.1:6379/0",
        SWITCHBOARD_CHANNEL_CAPACITY="5000",
        SWITCHBOARD_CHANNEL_EXPIRY_SECONDS="30",
    )
    assert sized["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert (sized["CONFIG"]["capacity"], sized["CONFIG"]["expiry"]) == (5000, 30)
    assert channel_layer_config()["CONFIG"]["capacity"] == 2000  # the in-memory layer of tests too
