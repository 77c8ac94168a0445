"""Settings parsed from the environment."""

from __future__ import annotations

import pytest

from config.settings import DATA_DIR, database_from_url


def test_postgres_url() -> None:
    assert database_from_url("postgres://sb:p%40ss@db.internal:6543/switchboard") == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "switchboard",
        "USER": "sb",
        "PASSWORD": "p@ss",
        "HOST": "db.internal",
        "PORT": "6543",
        "OPTIONS": {"pool": {"min_size": 1, "max_size": 20, "timeout": 10}},
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
