"""Django project configuration for the Switchboard portal.

The portal imports `contracts` (shared with the bot) from the repository root, so that root must be importable
however the portal is started (manage.py, daphne, celery, pytest): put it on sys.path here, once.
"""

import sys
from pathlib import Path

_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.append(_REPO_ROOT)
