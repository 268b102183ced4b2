"""The audience gate: well-formed tiers, and never a seed or a risky person in the audience."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.runlog import Run

GATE = "gold/audiences"


def audience_gate(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    audience: DataFrame,
    seeds: DataFrame,
    profiles: DataFrame,
) -> str:
    """Run the audience gate (``conf/gates.yaml`` plus invariants); raise when it fails."""
    from dmp.quality import CheckOutcome, load_gate_specs, run_gate

    spec = load_gate_specs(settings.gates_file)[GATE]
    seeds_inside = audience.join(seeds.select("person_id"), "person_id").count()
    risky = profiles.filter(F.col("bot_flag") | F.col("coupon_abuse_flag")).select("person_id")
    risky_inside = audience.join(risky, "person_id").count()
    outcomes = [
        CheckOutcome(
            name="no seed person in the audience",
            severity="error",
            passed=seeds_inside == 0,
            observed={"seeds_in_audience": seeds_inside},
        ),
        CheckOutcome(
            name="no risky person in the audience",
            severity="error" if settings.lookalike.exclude_risky else "warning",
            passed=risky_inside == 0,
            observed={"risky_in_audience": risky_inside},
        ),
    ]
    report = run_gate(
        spark,
        audience,
        spec,
        reports_dir=settings.reports_dir,
        run_id=run.run_id,
        data_docs=settings.quality.data_docs,
        extra_outcomes=outcomes,
    )
    return str(report.report_dir)
