#!/usr/bin/env python3
"""The Django example project: a main app using cloud_connector.django (see ../README.md)."""
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # The package from this checkout, without installing it.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
