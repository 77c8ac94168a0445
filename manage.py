#!/usr/bin/env python
"""Django's command-line utility for the Switchboard portal."""

import os
import sys
from pathlib import Path


def main() -> None:
    # The portal's apps live in portal/; `contracts` at the repo root is put on the path by config/__init__.py.
    sys.path.insert(0, str(Path(__file__).resolve().parent / "portal"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
