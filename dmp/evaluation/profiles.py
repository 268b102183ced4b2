"""Profiles against a generated world's truth: interests, gifts and risk flags.

Each true person is matched to the resolved person holding most of its identifiers.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dmp.caching import kept
from dmp.config import Settings
from dmp.evaluation.identity import truth_identifiers


def person_matches(spark: SparkSession, settings: Settings, identity_map: DataFrame) -> DataFrame:
    """``true_person, person_id``: the resolved person holding most of a true person's ids."""
    truth = truth_identifiers(
        spark, _truth(settings), settings.ingest.default_country_code, id_key=settings.id_key()
    )
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
        bot and coupon-abuse flags, ``regular people flagged`` (share of people neither bot
        nor abuser who carry a flag) and, in worlds with bingers, ``bingers flagged``.
    """
    truth = _truth(settings)
    persons = spark.read.parquet(str(truth / "persons")).withColumnRenamed(
        "person_key", "true_person"
    )
    matched = person_matches(spark, settings, identity_map).join(persons, "true_person")
    with kept(matched) as kept_matched:
        # Five figures below read the match; kept, it is computed once, not five times.
        return _truth_checks(spark, truth, kept_matched, profiles)


def _truth_checks(
    spark: SparkSession, truth: Path, matched: DataFrame, profiles: DataFrame
) -> dict[str, float]:
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
    people = joined.filter(~F.col("is_bot") & ~F.col("is_coupon_abuser"))
    any_flag = F.col("bot_flag") | F.col("coupon_abuse_flag")
    # truth written before bingers existed has no is_binger column
    binger = F.col("is_binger") if "is_binger" in joined.columns else F.lit(False)
    spared = people.agg(
        F.avg(any_flag.cast("double")),
        F.sum(binger.cast("int")),
        F.sum((binger & any_flag).cast("int")),
    ).first()
    regular_share, bingers, bingers_flagged = spared if spared is not None else (None, 0, 0)
    checks["regular people flagged"] = float(regular_share or 0.0)
    if bingers:
        checks["bingers flagged"] = int(bingers_flagged or 0) / int(bingers)
    checks.update(_btyd_checks(spark, joined))
    return checks


def _btyd_checks(spark: SparkSession, joined: DataFrame) -> dict[str, float]:
    """Buy-till-you-die columns against the planted purchase behaviour of regular buyers.

    The generator plants a per-person session rate (Poisson sessions) and per-persona cart
    and order probabilities, the same for the whole world (nobody churns). Checked: the
    Spearman correlation of ``expected_orders_90d`` with the planted purchase rate
    ``session_rate x add_rate x order_rate`` (x 0.45 for guests), and the mean ``p_alive``.
    """
    from dmp.generate.personas import PERSONAS

    propensity = spark.createDataFrame(
        [(p.name, p.add_rate * p.order_rate) for p in PERSONAS],
        "persona string, per_session double",
    )
    buyers = (
        joined.filter(~F.col("is_bot") & ~F.col("is_coupon_abuser") & (F.col("orders_count") > 0))
        .filter(F.col("p_alive").isNotNull())
        .join(F.broadcast(propensity), "persona")
        .withColumn(
            "planted_rate",
            F.col("session_rate")
            * F.col("per_session")
            * F.when(F.col("user_id").isNotNull(), 1.0).otherwise(0.45),
        )
    )
    # One global window each: evaluation of a generated world only, never in the pipeline.
    ranked = buyers.select(
        "p_alive",
        F.rank().over(Window.orderBy("planted_rate")).alias("rank_planted"),
        F.rank().over(Window.orderBy("expected_orders_90d")).alias("rank_expected"),
    )
    row = ranked.agg(
        F.corr("rank_planted", "rank_expected"), F.avg("p_alive"), F.count("*")
    ).first()
    if row is None or not row[2]:
        return {}
    return {
        "expected_orders_90d rank correlation with planted purchase rate": float(row[0] or 0.0),
        "mean p_alive of buyers (nobody churns)": float(row[1] or 0.0),
    }


def _truth(settings: Settings) -> Path:
    """The truth folder; the callers only score when ``evaluation.truth_dir`` is set."""
    folder = settings.truth_dir
    assert folder is not None, "truth scoring needs evaluation.truth_dir"
    return folder
