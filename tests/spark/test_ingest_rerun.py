"""Ingest's verdict on lines an earlier run already handled (the fault tier's first find)."""

from __future__ import annotations

from datetime import date
from typing import Any

from dmp.ingest.transforms import DUPLICATE, QUARANTINED, repeated_lines

_COLUMNS = "source string, message_id string, message_hash string, landing_date date, " \
    "source_file string, source_line long, reason string"  # fmt: skip
_DAY = date(2026, 1, 1)
_FILE = "first_party/dt=2026-01-01/events-00000.jsonl.gz"


def _parsed(spark: Any) -> Any:
    # Line 2 repeats line 1's message id with another body: a duplicate_conflict.
    # Line 3 is malformed. Line 4 is an exact copy of line 1: a duplicate.
    rows = [
        ("first_party", "m-1", "h-1", _DAY, _FILE, 1, None),
        ("first_party", "m-1", "h-2", _DAY, _FILE, 2, None),
        ("first_party", None, None, _DAY, _FILE, 3, "malformed_json"),
        ("first_party", "m-1", "h-1", _DAY, _FILE, 4, None),
    ]
    return spark.createDataFrame(rows, _COLUMNS)


def _verdicts(spark: Any, quarantined_lines: list[int]) -> dict[int, tuple[str, str | None]]:
    existing = spark.createDataFrame([], "source string, message_id string, message_hash string")
    before = spark.createDataFrame(
        [(_FILE, n) for n in quarantined_lines], "source_file string, source_line long"
    )
    found = repeated_lines(_parsed(spark), existing, before).collect()
    return {r["source_line"]: (r["_outcome"], r["_reason"]) for r in found}


def test_a_first_run_quarantines_the_conflicting_copy(spark: Any) -> None:
    assert _verdicts(spark, []) == {2: (QUARANTINED, "duplicate_conflict"), 4: (DUPLICATE, None)}


def test_a_rerun_after_a_kill_between_the_quarantine_and_events_commits_adds_nothing(
    spark: Any,
) -> None:
    """The killed run committed the quarantine (lines 2 and 3), not the events. The re-run
    used to quarantine line 2 a second time: every conflicting copy doubled."""
    assert _verdicts(spark, [2, 3]) == {
        2: (DUPLICATE, None),
        3: (DUPLICATE, None),
        4: (DUPLICATE, None),
    }
