"""The bronze gate: GX checks on the accepted batch plus the stage's own accounting checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmp.config import Settings
from dmp.runlog import Run, recent_runs
from dmp.tables import EVENTS_TABLE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from dmp.quality import CheckOutcome

GATE = EVENTS_TABLE  # the gate of conf/gates.yaml named after its table


def bronze_gate(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    events: DataFrame,
    *,
    read: int,
    quarantined: int,
    accepted: int,
) -> str:
    """Run the bronze gate on the accepted events; raise ``GateFailed`` when it fails.

    Besides the batch checks of ``conf/gates.yaml`` it checks that the quarantined share
    of the records read stays under ``ingest.quarantine_ceiling`` and that the accepted
    volume is within ``ingest.volume_band`` of the previous ingest run (a warning unless
    ``ingest.volume_severity`` is ``error``).

    Args:
        events: The accepted events of this run.
        read: Records read by this run.
        quarantined: Of those, records quarantined.
        accepted: Of those, events accepted (new, not duplicates).

    Returns:
        The folder of the written report.
    """
    from dmp.quality import load_gate_specs, run_gate

    spec = load_gate_specs(settings.gates_file)[GATE]
    outcomes = [_quarantine_share(settings, read, quarantined), _time_window(settings, events)]
    volume = _volume(settings, run, accepted)
    if volume is not None:
        outcomes.append(volume)
    report = run_gate(
        spark,
        events,
        spec,
        reports_dir=settings.reports_dir,
        run_id=run.run_id,
        data_docs=settings.quality.data_docs,
        extra_outcomes=outcomes,
        persist=False,  # a projection of the stage's cached parse
    )
    return str(report.report_dir)


def _quarantine_share(settings: Settings, read: int, quarantined: int) -> CheckOutcome:
    from dmp.quality import CheckOutcome

    ceiling = settings.ingest.quarantine_ceiling
    share = quarantined / read if read else 0.0
    return CheckOutcome(
        name=f"quarantined share <= {ceiling:.1%}",
        severity="error",
        passed=share <= ceiling,
        observed={"quarantined": quarantined, "read": read, "share": share},
        details="share of read records quarantined by this run",
    )


def _time_window(settings: Settings, events: DataFrame) -> CheckOutcome:
    """Event times within [min_event_time, ingestion + max_future_hours] (config)."""
    from datetime import UTC, datetime, time, timedelta

    from pyspark.sql import functions as F

    from dmp.quality import CheckOutcome

    low = datetime.combine(settings.ingest.min_event_time, time.min)
    high = datetime.now(UTC).replace(tzinfo=None) + timedelta(
        hours=settings.ingest.max_future_hours
    )
    bounds = events.agg(F.min("event_time"), F.max("event_time")).first()
    earliest, latest = (bounds[0], bounds[1]) if bounds is not None else (None, None)
    inside = (earliest is None or earliest >= low) and (latest is None or latest <= high)
    return CheckOutcome(
        name="event times within the accepted window",
        severity="error",
        passed=inside,
        observed={"earliest": str(earliest), "latest": str(latest)},
        details=f"from {low:%Y-%m-%d} to ingestion + {settings.ingest.max_future_hours}h",
    )


def _volume(settings: Settings, run: Run, accepted: int) -> CheckOutcome | None:
    from dmp.quality import CheckOutcome

    previous = [
        r
        for r in recent_runs(run.lake, limit=50, jobs=["ingest"])
        if r["status"] == "succeeded" and r["counts"].get("accepted", 0) > 0
    ]
    if not previous:
        return None
    before = previous[0]["counts"]["accepted"]
    low, high = settings.ingest.volume_band
    ratio = accepted / before
    return CheckOutcome(
        name=f"accepted volume within {low:g}x..{high:g}x of the previous run",
        severity=settings.ingest.volume_severity,
        passed=low <= ratio <= high,
        observed={"accepted": accepted, "previous": before, "ratio": ratio},
        details=f"previous ingest run {previous[0]['run_id']}",
    )
