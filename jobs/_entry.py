"""Shared body of the spark-submit entry points: run one ``dmp`` command, exit with its code.

Each ``jobs/<stage>.py`` is ``run("<stage>")``; arguments after the script name are the
command's options, e.g. ``spark-submit --master spark://host:7077 jobs/ingest.py --date
2026-01-05``. Plain ``python jobs/ingest.py`` runs on the local default.
"""

from __future__ import annotations

import sys


def run(command: str) -> None:
    """Run ``dmp <command> <argv...>`` and exit with its exit code."""
    from dmp.cli import main

    sys.exit(main([command, *sys.argv[1:]]))
