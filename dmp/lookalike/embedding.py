"""Behavioural embedding: implicit-feedback ALS on the person x product interaction matrix.

Views, cart adds and order lines up to the as-of date are weighted into a confidence per
(person, product); Spark MLlib's ALS factorises the matrix at cluster scale and each
person's factor vector becomes part of their lookalike features. Cached per as-of date in
``silver/embeddings``.
"""

from __future__ import annotations

import logging
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dmp.lookalike.settings import EmbeddingSettings

_log = logging.getLogger(__name__)
_BLOCKS = 10  # ALS's own default number of user and item blocks


def interactions(events: DataFrame, settings: EmbeddingSettings) -> DataFrame:
    """``person_id, product_id, weight`` from attributed events (views, carts, orders)."""
    weight = (
        F.when(F.col("event_name") == "Product Viewed", F.lit(settings.view_weight))
        .when(F.col("event_name") == "Product Added", F.lit(settings.cart_weight))
        .otherwise(F.lit(None))
    )
    browsing = events.filter(F.col("product_id").isNotNull()).select(
        "person_id", "product_id", weight.alias("weight")
    )
    ordered = (
        events.filter(F.col("event_name") == "Order Completed")
        .select(
            "person_id",
            F.explode(F.coalesce("products", F.array())).alias("line"),
        )
        .select(
            "person_id",
            F.col("line.product_id").alias("product_id"),
            F.lit(settings.order_weight).alias("weight"),
        )
    )
    return (
        browsing.unionByName(ordered)
        .filter(F.col("weight").isNotNull() & F.col("product_id").isNotNull())
        .groupBy("person_id", "product_id")
        .agg(F.sum("weight").alias("weight"))
    )


def person_embeddings(
    matrix: DataFrame, as_of: date, settings: EmbeddingSettings, seed: int
) -> DataFrame:
    """Fit implicit ALS and return ``person_id, as_of, embedding`` (array<double>).

    Persons and products get dense integer ids (ALS needs int ids): their positions in
    their sorted keys, so the same data gives the same factorisation.
    """
    from pyspark.ml.recommendation import ALS

    people = _indexed(matrix.select("person_id").distinct(), "person_id", "user")
    products = _indexed(matrix.select("product_id").distinct(), "product_id", "item")
    # ALS sums each person's ratings in the order they reach its blocks: a fixed partitioning
    # sorted by (user, item) makes the factors independent of the lake's file layout.
    ratings = (
        matrix.join(people, "person_id")
        .join(products, "product_id")
        .select("user", "item", "weight")
        .repartition(_BLOCKS, "user")
        .sortWithinPartitions("user", "item")
    )
    als = ALS(
        numUserBlocks=_BLOCKS,
        numItemBlocks=_BLOCKS,
        rank=settings.rank,
        maxIter=settings.iterations,
        regParam=settings.regularisation,
        alpha=settings.alpha,
        implicitPrefs=True,
        userCol="user",
        itemCol="item",
        ratingCol="weight",
        seed=seed,
        nonnegative=False,
        coldStartStrategy="drop",
    )
    model = als.fit(ratings)
    factors = model.userFactors.select(
        F.col("id").alias("user"), F.col("features").cast("array<double>").alias("embedding")
    )
    _log.info("lookalike: ALS rank %d fitted", settings.rank)
    return people.join(factors, "user").select(
        "person_id", F.lit(as_of).alias("as_of"), "embedding"
    )


def _indexed(keys: DataFrame, key: str, name: str) -> DataFrame:
    from dmp.caching import numbered

    ordered = numbered(keys, [key], "_index")
    return ordered.select(key, F.col("_index").cast("int").alias(name))
