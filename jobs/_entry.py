"""Shared body of the spark-submit entry points: run one registered stage's ``dmp`` command,
exit with its code.

Each ``jobs/<stage>.py`` is ``run("<stage>")`` for a stage of :mod:`dmp.registry`;
arguments after the script name are the command's options, e.g. ``spark-submit --master
spark://host:7077 jobs/ingest.py --date 2026-01-05``. Plain ``python jobs/ingest.py`` runs on
the local default.
"""

from __future__ import annotations

import sys


def run(stage: str) -> None:
    """Run ``dmp <stage> <argv...>`` (a registered stage) and exit with its exit code."""
    from dmp.cli import main
    from dmp.registry import STAGE_NAMES

    if stage not in STAGE_NAMES:
        sys.exit(f"jobs/{stage}.py: {stage!r} is not a stage of dmp.registry")
    sys.exit(main([stage, *sys.argv[1:]]))
