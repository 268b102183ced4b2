"""Score the whole universe in Spark tasks and cut it into ad-platform style tiers.

The fitted model is broadcast once; ``mapInPandas`` tasks score their partitions. Ranks come
from a distributed sort numbered in the JVM (:func:`dmp.caching.numbered`; no
single-partition window, no row through Python), so nothing that grows with the universe
reaches the driver.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.caching import numbered
from dmp.lookalike.models import LookalikeModel


def score_people(spark: SparkSession, model: LookalikeModel, features: DataFrame) -> DataFrame:
    """``person_id, score`` for every row of flat ``features``."""
    shared = spark.sparkContext.broadcast(model)

    def score_batches(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        fitted = shared.value
        for batch in batches:
            if batch.empty:
                continue
            scores = fitted.score_frame(batch)
            yield pd.DataFrame({"person_id": batch["person_id"], "score": scores})

    return features.mapInPandas(score_batches, "person_id string, score double")


def ranked_universe(
    scores: DataFrame, universe_size: int, tiers: Sequence[int], audience: str
) -> DataFrame:
    """Rank everyone scored: ``audience, person_id, score, rank, tier`` for the whole universe.

    ``tier`` is the smallest tier (in percent of the eligible universe) whose audience holds
    the person: the top 1% is tier 1, the next 1% tier 2, and so on, so "the 5% lookalike"
    is ``tier <= 5``; NULL below the largest tier. Ties in score are broken by
    ``person_id``. This is what ``gold/universe_scores`` keeps, so an audience's quality can
    be measured beyond the tiers that are exported.
    """
    ordered = numbered(scores, [F.desc("score"), F.asc("person_id")], "_index")
    frame = ordered.select("person_id", "score", (F.col("_index") + 1).alias("rank"))
    cuts = tier_sizes(universe_size, tiers)
    tier = F.lit(None).cast("int")
    for percent, size in sorted(cuts, reverse=True):
        tier = F.when(F.col("rank") <= size, F.lit(percent)).otherwise(tier)
    return frame.select(
        F.lit(audience).alias("audience"), "person_id", "score", "rank", tier.alias("tier")
    )


def audience_rows(
    scores: DataFrame, universe_size: int, tiers: Sequence[int], audience: str
) -> DataFrame:
    """The people of the largest tier of :func:`ranked_universe` (what ``gold/audiences``
    keeps): ``audience, person_id, score, rank, tier``."""
    return in_tiers(ranked_universe(scores, universe_size, tiers, audience))


def in_tiers(ranked: DataFrame) -> DataFrame:
    """The rows of a :func:`ranked_universe` frame inside a tier."""
    return ranked.filter(F.col("tier").isNotNull())


def tier_sizes(universe_size: int, tiers: Sequence[int]) -> list[tuple[int, int]]:
    """``(percent, people)`` for each tier: ``ceil(percent% of the universe)``."""
    return [(p, min(universe_size, math.ceil(universe_size * p / 100))) for p in sorted(tiers)]
