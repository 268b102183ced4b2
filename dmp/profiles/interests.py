"""Interest: category and brand affinities with exponential time decay. Pure transforms.

Every product interaction adds its event weight times ``0.5 ** (age / half_life)``, age
measured from the end of the as-of day. A purchase that does not fit the person's history
(a likely gift: the only order in its category, which the person hardly browses outside
that shopping episode) counts ``gift_weight`` times together with the browsing around it,
so one cosmetics order does not make a cosmetics lover.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.window import WindowSpec

from dmp.profiles.attribution import end_of
from dmp.profiles.consumption import ORDER_EVENT
from dmp.profiles.settings import ProfileSettings

_EVENT_KINDS = {
    "Product Viewed": "view",
    "Product List Viewed": "list_view",
    "Products Searched": "search",
    "Product Added to Wishlist": "favourite",
    "Product Added": "cart",
    "Product Reviewed": "review",
    "Product Shared": "share",
}


def _event_weight(settings: ProfileSettings) -> Column:
    weight: Column = F.lit(None).cast("double")
    for name, kind in _EVENT_KINDS.items():
        weight = F.when(
            F.col("event_name") == name, F.lit(float(getattr(settings.weights, kind)))
        ).otherwise(weight)
    return weight


def interest_signals(
    events: DataFrame, lines: DataFrame, as_of: date, settings: ProfileSettings
) -> DataFrame:
    """Decayed interest signals: ``person_id, category, brand, score, is_gift``.

    A category bought exactly once is a likely gift when the person's browsing *outside*
    that purchase episode (the day before the order up to an hour after) gives it less than
    ``gift_browse_share`` of their attention. The whole episode (the order line and that
    category's browsing around it) then counts ``gift_weight`` times.

    Args:
        events: Attributed events up to the end of ``as_of``.
        lines: Order lines (:func:`dmp.profiles.consumption.order_lines`).
        as_of: Snapshot date.
        settings: Weights, half-life and gift rule.
    """
    browsing = (
        events.filter(
            (F.col("event_type") == "track")
            & (F.col("event_name") != ORDER_EVENT)
            & F.col("category").isNotNull()
        )
        .withColumn("weight", _event_weight(settings))
        .filter(F.col("weight").isNotNull())
        .select("person_id", "category", "brand", "event_time", "weight")
    )
    ordered = lines.filter(F.col("category").isNotNull())
    single = (
        ordered.groupBy("person_id", "category")
        .agg(
            F.size(F.collect_set("order_id")).alias("_orders"),
            F.min("ordered_at").alias("_bought"),
        )
        .filter(F.col("_orders") == 1)
        .drop("_orders")
    )
    episode = F.col("event_time").between(
        F.col("_bought") - F.expr("INTERVAL 1 DAY"), F.col("_bought") + F.expr("INTERVAL 1 HOUR")
    )
    browsing = browsing.join(single, ["person_id", "category"], "left").withColumn(
        "_episode", F.coalesce(episode, F.lit(False))
    )
    outside = browsing.filter(~F.col("_episode"))
    history = (
        outside.groupBy("person_id", "category")
        .agg(F.sum("weight").alias("_weight"))
        .withColumn("_share", F.col("_weight") / F.sum("_weight").over(_per_person()))
        .select("person_id", "category", "_share")
    )
    gifts = (
        single.join(history, ["person_id", "category"], "left")
        .filter(F.coalesce(F.col("_share"), F.lit(0.0)) < settings.gift_browse_share)
        .select("person_id", "category", F.lit(True).alias("is_gift"))
    )
    factor = F.when(F.col("is_gift"), F.lit(settings.gift_weight)).otherwise(F.lit(1.0))
    in_gift_episode = F.coalesce(F.col("is_gift"), F.lit(False)) & F.col("_episode")
    browsed = browsing.join(gifts, ["person_id", "category"], "left").select(
        "person_id",
        "category",
        "brand",
        "event_time",
        (F.col("weight") * F.when(in_gift_episode, settings.gift_weight).otherwise(1.0)).alias(
            "weight"
        ),
        F.lit(False).alias("is_gift"),
    )
    bought = (
        ordered.join(gifts, ["person_id", "category"], "left")
        .withColumn("is_gift", F.coalesce(F.col("is_gift"), F.lit(False)))
        .select(
            "person_id",
            "category",
            "brand",
            F.col("ordered_at").alias("event_time"),
            (F.lit(settings.weights.order) * factor).alias("weight"),
            "is_gift",
        )
    )
    signals = browsed.unionByName(bought)
    age_days = (F.lit(end_of(as_of)).cast("long") - F.col("event_time").cast("long")) / 86400.0
    decay = F.pow(F.lit(0.5), age_days / F.lit(settings.half_life_days))
    return signals.select(
        "person_id", "category", "brand", (F.col("weight") * decay).alias("score"), "is_gift"
    )


def affinities(signals: DataFrame, settings: ProfileSettings) -> DataFrame:
    """Per person: normalised category and brand affinity maps and top-N tags.

    Returns:
        ``person_id, category_affinity, top_interests, brand_affinity, top_brands,
        gift_orders`` where affinities are shares of the person's decayed score (summing to
        1), brand maps keep the ten strongest brands, and top-N lists hold only entries with
        at least ``min_interest_share``.
    """
    top = settings.top_interests
    floors = (settings.min_interest_share, settings.min_interest_score)
    categories = _ranked(signals, "category", limit=None, top=top, floors=floors)
    brands = _ranked(
        signals.filter(F.col("brand").isNotNull()), "brand", limit=10, top=top, floors=floors
    )
    gifts = signals.groupBy("person_id").agg(
        F.sum(F.col("is_gift").cast("int")).alias("gift_orders")
    )
    return (
        categories.withColumnRenamed("affinity", "category_affinity")
        .withColumnRenamed("top", "top_interests")
        .join(
            brands.withColumnRenamed("affinity", "brand_affinity").withColumnRenamed(
                "top", "top_brands"
            ),
            "person_id",
            "left",
        )
        .join(gifts, "person_id", "left")
    )


def _ranked(
    signals: DataFrame, key: str, *, limit: int | None, top: int, floors: tuple[float, float]
) -> DataFrame:
    scores = signals.groupBy("person_id", key).agg(F.sum("score").alias("score"))
    scores = scores.withColumn("share", F.col("score") / F.sum("score").over(_per_person()))
    # (-share, key) sorts strongest first with ties broken by name: deterministic.
    entries = F.sort_array(
        F.collect_list(F.struct((-F.col("share")).alias("neg"), F.col(key), F.col("score")))
    )
    min_share, min_score = floors
    grouped = scores.groupBy("person_id").agg(entries.alias("_sorted"))
    kept = F.slice("_sorted", 1, limit) if limit else F.col("_sorted")
    return grouped.select(
        "person_id",
        F.map_from_entries(
            F.transform(kept, lambda e: F.struct(e[key], F.round(-e["neg"], 4)))
        ).alias("affinity"),
        F.slice(
            F.transform(
                F.filter("_sorted", lambda e: (-e["neg"] >= min_share) & (e["score"] >= min_score)),
                lambda e: e[key],
            ),
            1,
            top,
        ).alias("top"),
    )


def _per_person() -> WindowSpec:
    return Window.partitionBy("person_id")
