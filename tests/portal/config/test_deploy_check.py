"""`manage.py check --deploy` with the production settings (SWITCHBOARD_HTTPS on, as the compose file runs the
portal): no warning at all. Without HTTPS (`./switchboard run`'s plain http on 127.0.0.1) the same check names
what HTTPS turns on, so this test would see a setting that went missing."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from config.settings import REPO_DIR


def deploy_check(**env: str) -> subprocess.CompletedProcess[str]:
    production = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "support.bank.example",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_DIR,
        env={**os.environ, **production, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_production_settings_pass_the_deploy_check_without_a_warning() -> None:
    result = deploy_check(SWITCHBOARD_HTTPS="true")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_https_the_deploy_check_names_what_https_turns_on() -> None:
    result = deploy_check(SWITCHBOARD_HTTPS="false")
    assert result.returncode != 0
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in result.stderr
