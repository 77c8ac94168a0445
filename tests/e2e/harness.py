"""The running e2e stack as the tests see it: its URLs, its own database, and control of its services."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from scripts import launcher


@dataclass
class Stack:
    """The e2e stack once healthy: the tests reach it over HTTP and WebSockets like any client would."""

    config: launcher.StackConfig
    supervisor: launcher.Supervisor
    agent_username: str
    agent_password: str

    @property
    def http_url(self) -> str:
        return self.config.portal_url

    @property
    def ws_url(self) -> str:
        return self.config.portal_url.replace("http://", "ws://", 1)

    def django(self, code: str) -> Any:
        """Run Python in the portal's Django (the stack's own database) and return what it prints as JSON."""
        script = "import json, django; django.setup()\n" + textwrap.dedent(code)
        out = subprocess.run(
            [str(launcher.PORTAL_PYTHON_BIN / "python"), "-c", script],
            cwd=launcher.ROOT,
            env=launcher.portal_env(self.config) | {"DJANGO_SETTINGS_MODULE": "config.settings"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"django snippet failed:\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    @property
    def portal_log(self) -> Path:
        return self.supervisor.log_dir / "portal.log"

    def portal_process_of(self, socket_opened: str, after: int = 0, timeout: float = 10.0) -> int:
        """The pid of the portal process whose log says, past character `after`, that it opened this socket
        (its consumers log each one, e.g. `customer socket open: conversation <id>`, with their process id)."""
        line = re.compile(r"\[(\d+)\] INFO \S+: " + re.escape(socket_opened) + r"$", re.MULTILINE)
        deadline = time.monotonic() + timeout
        while not (found := line.findall(self.portal_log.read_text(errors="replace")[after:])):
            assert time.monotonic() < deadline, f"the portal's log never said {socket_opened!r}"
            time.sleep(0.1)
        return int(found[-1])

    def stop_bot(self) -> None:
        """Stop the Rasa server for the rest of the session (tests needing it run first)."""
        self.supervisor.stop("rasa")

    def customer_assertion(self, customer_id: str) -> str:
        """The bank's assertion of who a customer is, signed as the demo bank signs (the demo secret the portal
        generated into the data dir; settings.CUSTOMER_ASSERTION)."""
        secret = (self.config.data_dir / "demo-customer-secret").read_text().strip()
        now = int(time.time())
        claims = {
            "sub": customer_id,
            "iss": "switchboard-demo-bank",
            "aud": "switchboard",
            "iat": now,
            "exp": now + 120,
        }
        return jwt.encode(claims, secret, algorithm="HS256")

    def restart_actions(self) -> None:
        """Stop the action server and start a new one (what it kept in memory is gone), healthy again."""
        self.supervisor.stop("actions")
        self.supervisor.start(launcher.actions_service(self.config))
        self.supervisor.wait_ready(["actions"])

    def logs(self) -> str:
        parts = []
        for path in sorted(self.supervisor.log_dir.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-80:]
            parts.append(f"----- {path.name} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts)
