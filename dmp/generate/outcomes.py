"""Simulated campaign outcomes with a planted true lift, for measuring ``dmp lift``.

Every exported or held-out person of an audience's export converts with probability
``base_rate * sensitivity`` (control) or ``base_rate * sensitivity * (1 + true_lift)``
(test), where ``sensitivity`` is the person's planted campaign sensitivity (1 when the truth
does not know them). Draws are hash-based, so the same inputs give the same file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.errors import UserError
from dmp.lake import Lake


def simulate_outcomes(
    spark: SparkSession,
    settings: Settings,
    *,
    audience: str,
    out: Path,
    true_lift: float = 0.2,
    base_rate: float = 0.05,
    revenue_mean: float = 60.0,
    seed: int = 7,
) -> Path:
    """Write ``person_id,converted,revenue`` for the latest export of ``audience`` to ``out``.

    The file has no ``group`` column: ``dmp lift`` takes the groups from the recorded holdout.
    Sensitivities come from the generated world's truth: ``evaluation.truth_dir`` when set, else
    ``<home>/truth`` (the generator's default); without one every person has sensitivity 1.
    """
    from dmp.evaluation.profiles import person_matches
    from dmp.tables import IDENTITY_MAP_TABLE, MEMBERS_TABLE

    lake = Lake(settings.lake_dir)
    if not lake.exists(MEMBERS_TABLE):
        raise UserError("no export recorded yet: run `dmp export` first")
    members = lake.read(spark, MEMBERS_TABLE).filter(F.col("name") == audience)
    latest = members.agg(F.max("export_id")).first()
    if latest is None or latest[0] is None:
        raise UserError(f"no export of {audience!r} recorded")
    people = members.filter(F.col("export_id") == latest[0]).select("person_id", "group")
    folder = settings.truth_dir or settings.home / "truth"
    if (folder / "persons").exists():
        persons = spark.read.parquet(str(folder / "persons")).select(
            F.col("person_key").alias("true_person"), "campaign_sensitivity"
        )
        scored = settings.with_truth(folder)
        matches = person_matches(spark, scored, lake.read(spark, IDENTITY_MAP_TABLE))
        people = people.join(matches.join(persons, "true_person"), "person_id", "left")
    else:
        people = people.withColumn("campaign_sensitivity", F.lit(1.0))
    uniform = F.pmod(F.xxhash64("person_id", F.lit(seed)), F.lit(1_000_003)) / 1_000_003.0
    spend = F.pmod(F.xxhash64("person_id", F.lit(seed + 1)), F.lit(1_000_003)) / 1_000_003.0
    rate = F.lit(base_rate) * F.coalesce("campaign_sensitivity", F.lit(1.0))
    rate = F.when(F.col("group") == "exported", rate * (1 + true_lift)).otherwise(rate)
    converted = uniform < F.least(rate, F.lit(1.0))
    rows = people.select(
        "person_id",
        converted.cast("int").alias("converted"),
        F.when(converted, F.round(revenue_mean * (0.5 + spend), 2)).otherwise(0.0).alias("revenue"),
    ).orderBy("person_id")
    scratch = out.parent / f".tmp-{out.name}"
    rows.coalesce(1).write.mode("overwrite").option("header", "true").csv(str(scratch))
    (part,) = scratch.glob("part-*.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    part.replace(out)
    shutil.rmtree(scratch, ignore_errors=True)
    return out
