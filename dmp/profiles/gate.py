"""The profile gate: batch checks on the new snapshot and drift against the previous one."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.runlog import Run
from dmp.tables import PROFILES_TABLE

GATE = PROFILES_TABLE  # the gate of conf/gates.yaml named after its table


def profile_gate(
    spark: SparkSession, settings: Settings, run: Run, profiles: DataFrame, as_of: date
) -> str:
    """Run the profile gate; raise ``GateFailed`` when it fails.

    Drift rules compare with the latest snapshot before ``as_of`` (row count and key
    distributions such as lifecycle stages); the first snapshot has nothing to drift from.

    Returns:
        The folder of the written report.
    """
    from dmp.quality import load_gate_specs, run_gate

    spec = load_gate_specs(settings.gates_file)[GATE]
    previous = None
    if run.lake.exists(PROFILES_TABLE):
        snapshots = run.read(spark, PROFILES_TABLE)
        earlier = snapshots.filter(F.col("as_of") < F.lit(as_of))
        latest = earlier.agg(F.max("as_of")).first()
        if latest is not None and latest[0] is not None:
            previous = earlier.filter(F.col("as_of") == F.lit(latest[0]))
    report = run_gate(
        spark,
        profiles,
        spec,
        reports_dir=settings.reports_dir,
        run_id=run.run_id,
        data_docs=settings.quality.data_docs,
        previous=previous,
    )
    return str(report.report_dir)
