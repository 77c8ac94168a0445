"""Django project configuration for the Switchboard portal: the top layer, which nothing in the apps imports.

The portal imports `contracts` (shared with the bot) from the repository root, so that root must be importable
however the portal is started (manage.py, uvicorn, celery, pytest): put it on sys.path here, once.

The Celery app is loaded with Django (Celery's documented Django setup), so the apps' `@shared_task`s bind to it
in every process that queues a task, without an app importing the project.
"""

import sys
from pathlib import Path

_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.append(_REPO_ROOT)

from config.celery_app import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
