"""Lookalike audiences against a generated world's future window: do future buyers land in
the top tiers? The truth is read only here, never by the builder itself.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.evaluation.profiles import person_matches
from dmp.runlog import Run


def future_conversion_lift(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    audience: DataFrame,
    seeds: DataFrame,
    universe: DataFrame,
    product_id: str,
    tiers: tuple[int, ...] = (1, 5, 10),
) -> dict[str, float]:
    """Lift of future-window buyers of ``product_id`` within the audience's top tiers.

    ``lift@k%`` = (share of the universe's future buyers inside tier <= k) / (k%).
    """
    from dmp.tables import IDENTITY_MAP_TABLE

    buyers = (
        spark.read.parquet(str(_truth(settings) / "campaign_buyers"))
        .filter((F.col("product_id") == product_id) & (F.col("window") == "future"))
        .select(F.col("person_key").alias("true_person"))
        .distinct()
    )
    matches = person_matches(spark, settings, run.lake.read(spark, IDENTITY_MAP_TABLE))
    future = (
        buyers.join(matches, "true_person")
        .select("person_id")
        .distinct()
        .join(universe.select("person_id"), "person_id")
        .join(seeds.select("person_id"), "person_id", "left_anti")
    )
    # One pass over the future buyers answers every figure (each count re-ran the truth
    # match before: 6 jobs, 13 s of the demo's lookalike).
    ranked = "rank" in audience.columns
    columns = ["person_id", "tier", *(["rank"] if ranked else [])]
    placed = future.join(audience.select(*columns), "person_id", "left")
    figures = [F.count(F.lit(1)).alias("total")]
    figures += [F.sum((F.col("tier") <= k).cast("long")).alias(f"in{k}") for k in tiers]
    if ranked:
        figures += [F.count("rank").alias("p"), F.sum("rank").alias("s")]
    row = placed.agg(*figures).first()
    total = int(row["total"]) if row is not None else 0
    checks: dict[str, float] = {"future buyers in the universe": float(total)}
    if row is None or total == 0:
        return checks
    size = universe.count()
    for k in tiers:
        inside = int(row[f"in{k}"] or 0)
        checks[f"future buyers lift@{k}%"] = (inside / total) / (k / 100) if size else 0.0
    if ranked and audience.filter(F.col("tier").isNull()).limit(1).count():
        # The whole universe is ranked (gold/universe_scores): AUC over everyone, not a tier.
        checks["future buyers AUC"] = _auc(int(row["p"] or 0), int(row["s"] or 0), size)
    return checks


def auc_from_ranks(positives: DataFrame, universe: int) -> float:
    """ROC AUC of a ranking of ``universe`` people (rank 1 = best, no ties) from the ranks of
    its positives (a ``rank`` column): the share of (positive, negative) pairs ordered right.

    Below a positive at rank r lie ``universe - r`` people; subtracting the positives among
    them over all positives (``P(P-1)/2`` pairs) leaves the negatives it beats.
    """
    row = positives.agg(F.count("rank").alias("p"), F.sum("rank").alias("s")).first()
    if row is None or not row["p"]:
        return float("nan")
    return _auc(int(row["p"]), int(row["s"]), universe)


def _auc(count: int, rank_sum: int, universe: int) -> float:
    """:func:`auc_from_ranks` from the positives' count and rank sum."""
    if count == 0:
        return float("nan")
    negatives = universe - count
    if negatives <= 0:
        return float("nan")
    beaten = count * universe - rank_sum - count * (count - 1) / 2
    return float(beaten / (count * negatives))


def _truth(settings: Settings) -> Path:
    """The truth folder; the callers only score when ``evaluation.truth_dir`` is set."""
    folder = settings.truth_dir
    assert folder is not None, "truth scoring needs evaluation.truth_dir"
    return folder
