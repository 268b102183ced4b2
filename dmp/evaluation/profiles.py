"""Profiles against a generated world's truth: interests, gifts and risk flags.

Each true person is matched to the resolved person holding most of its identifiers.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.evaluation.identity import truth_identifiers


def person_matches(spark: SparkSession, settings: Settings, identity_map: DataFrame) -> DataFrame:
    """``true_person, person_id``: the resolved person holding most of a true person's ids."""
    truth = truth_identifiers(spark, settings.home / "truth", settings.ingest.default_country_code)
    votes = (
        truth.join(identity_map.select("id_type", "id_value", "person_id"), ["id_type", "id_value"])
        .groupBy("true_person", "person_id")
        .agg(F.count(F.lit(1)).alias("n"))
    )
    best = Window.partitionBy("true_person").orderBy(F.desc("n"), F.asc("person_id"))
    return (
        votes.withColumn("_rank", F.row_number().over(best))
        .filter(F.col("_rank") == 1)
        .select("true_person", "person_id")
    )


def profile_truth_checks(
    spark: SparkSession, settings: Settings, profiles: DataFrame, identity_map: DataFrame
) -> dict[str, float]:
    """Shares and precision/recall figures for the run summary.

    Returns:
        ``top interest is a planted top category`` (share of regular people whose first
        interest is among their planted top categories), ``gift category in top interests``
        (share of planted gifts that became a top interest), and precision/recall of the
        bot and coupon-abuse flags.
    """
    truth = settings.home / "truth"
    persons = spark.read.parquet(str(truth / "persons")).withColumnRenamed(
        "person_key", "true_person"
    )
    matched = person_matches(spark, settings, identity_map).join(persons, "true_person")
    joined = matched.join(profiles, "person_id")
    regular = joined.filter(~F.col("is_bot") & ~F.col("is_coupon_abuser"))
    regular = regular.filter(F.size("top_interests") > 0)
    interests = regular.agg(
        F.avg(F.array_contains("top_categories", F.col("top_interests")[0]).cast("double")),
        F.avg((F.col("top_interests")[0] == F.col("top_categories")[0]).cast("double")),
    ).first()
    gifts = spark.read.parquet(str(truth / "orders")).filter(F.col("is_gift"))
    gift_people = (
        gifts.select(F.col("person_key").alias("true_person"), "category")
        .distinct()
        .join(matched.select("true_person", "person_id"), "true_person")
        .join(profiles.select("person_id", "top_interests"), "person_id")
    )
    gift_share = gift_people.agg(
        F.avg(F.array_contains("top_interests", F.col("category")).cast("double"))
    ).first()
    checks: dict[str, float] = {
        "top interest is a planted top category": float((interests or [0.0])[0] or 0.0),
        "top interest is the planted first category": float((interests or [0.0, 0.0])[1] or 0.0),
        "gift category in top interests": float((gift_share or [0.0])[0] or 0.0),
    }
    for flag, planted in (("bot_flag", "is_bot"), ("coupon_abuse_flag", "is_coupon_abuser")):
        counts = joined.agg(
            F.sum((F.col(flag) & F.col(planted)).cast("int")),
            F.sum(F.col(flag).cast("int")),
            F.sum(F.col(planted).cast("int")),
        ).first()
        hits, flagged, actual = (int(v or 0) for v in (counts or (0, 0, 0)))
        name = flag.removesuffix("_flag").replace("_", " ")
        checks[f"{name} precision"] = hits / flagged if flagged else 1.0
        checks[f"{name} recall"] = hits / actual if actual else 1.0
    return checks
