"""People flagged as bots or coupon abusers, left out of lookalike seeds and universes, and how
many seed-like people those exclusions removed."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.lookalike.models import LookalikeModel
from dmp.lookalike.scoring import score_people


def risky_people(profiles: DataFrame) -> DataFrame:
    """``person_id`` of everyone the profile snapshot flags as a bot or a coupon abuser."""
    flagged = F.coalesce(F.col("bot_flag"), F.lit(False)) | F.coalesce(
        F.col("coupon_abuse_flag"), F.lit(False)
    )
    return profiles.filter(flagged).select("person_id")


def seed_like_removed(
    spark: SparkSession,
    model: LookalikeModel,
    features: DataFrame,
    removed: DataFrame,
    audience: DataFrame,
    tiers: Sequence[int],
) -> dict[int, int]:
    """How many ``removed`` people the model would have placed inside each tier.

    Each removed person is scored by the final model (in Spark tasks) and counted in a tier
    when the score reaches the lowest score of that tier's audience.

    Args:
        spark: The session (the model is broadcast).
        model: The audience's model.
        features: Flat features of the snapshot.
        removed: ``person_id`` of the people the exclusions left out.
        audience: ``score, tier`` of the audience.
        tiers: Tiers (percent) to count for.

    Returns:
        Tier percent -> removed people who would have ranked inside it.
    """
    lowest = {
        int(r["tier"]): float(r["low"])
        for r in audience.groupBy("tier").agg(F.min("score").alias("low")).collect()
    }  # one row per tier
    cutoffs: dict[int, float] = {}
    for tier in sorted(tiers):
        inside = [score for t, score in lowest.items() if t <= tier]
        if inside:
            cutoffs[tier] = min(inside)
    if not cutoffs:
        return {}
    scores = score_people(spark, model, features.join(removed, "person_id"))
    counts = scores.agg(
        *[F.sum((F.col("score") >= cut).cast("int")).alias(f"t{t}") for t, cut in cutoffs.items()]
    ).first()
    return {t: int((counts[f"t{t}"] if counts else 0) or 0) for t in cutoffs}
