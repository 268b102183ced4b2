"""Consumption: orders, revenue, RFM quintiles and segments, VIP level, lifecycle, price band,
coupon use and per-category purchase cycles. Pure transforms over attributed events.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dmp.profiles.settings import ProfileSettings

ORDER_EVENT = "Order Completed"
# The widely used RFM grid on (R, F) quintile scores: every combination maps to one name.
_RF_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("^[1-2][1-2]$", "hibernating"),
    ("^[1-2][3-4]$", "at_risk"),
    ("^[1-2]5$", "cant_lose_them"),
    ("^3[1-2]$", "about_to_sleep"),
    ("^33$", "need_attention"),
    ("^[3-4][4-5]$", "loyal_customers"),
    ("^41$", "promising"),
    ("^51$", "new_customers"),
    ("^[4-5][2-3]$", "potential_loyalists"),
    ("^5[4-5]$", "champions"),
)


def orders(events: DataFrame) -> DataFrame:
    """One row per order: ``person_id, order_id, ordered_at, order_date, value, coupon``.

    An order sent twice (same ``order_id``) counts once; its value is ``revenue``, else
    ``total``, else the sum of its product lines.
    """
    completed = events.filter(
        (F.col("event_type") == "track") & (F.col("event_name") == ORDER_EVENT)
    )
    lines = F.aggregate(
        F.coalesce(F.col("products"), F.array()),
        F.lit(0.0),
        lambda acc, p: (
            acc + F.coalesce(p["price"], F.lit(0.0)) * F.coalesce(p["quantity"], F.lit(1))
        ),
    )
    value = F.coalesce(F.col("revenue"), F.col("total"), lines)
    order_key = F.coalesce(F.col("order_id"), F.col("message_id"))
    first = Window.partitionBy("person_id", "_order").orderBy("event_time", "message_id")
    return (
        completed.withColumn("_order", order_key)
        .withColumn("_n", F.row_number().over(first))
        .filter(F.col("_n") == 1)
        .select(
            "person_id",
            F.col("_order").alias("order_id"),
            F.col("event_time").alias("ordered_at"),
            F.to_date("event_time").alias("order_date"),
            value.alias("value"),
            F.col("coupon"),
            F.col("products"),
        )
    )


def order_lines(orders_frame: DataFrame) -> DataFrame:
    """One row per product line of every order."""
    return orders_frame.select(
        "person_id", "order_id", "ordered_at", "order_date", F.explode("products").alias("line")
    ).select(
        "person_id",
        "order_id",
        "ordered_at",
        "order_date",
        F.col("line.product_id").alias("product_id"),
        F.col("line.category").alias("category"),
        F.col("line.brand").alias("brand"),
        F.col("line.price").alias("price"),
        F.coalesce(F.col("line.quantity"), F.lit(1)).alias("quantity"),
    )


def purchased_products(lines: DataFrame, limit: int = 100) -> DataFrame:
    """``person_id, purchased_products``: distinct products bought (sorted, at most ``limit``)."""
    return (
        lines.filter(F.col("product_id").isNotNull())
        .groupBy("person_id")
        .agg(
            F.slice(F.sort_array(F.collect_set("product_id")), 1, limit).alias("purchased_products")
        )
    )


def consumption(orders_frame: DataFrame, as_of: date, settings: ProfileSettings) -> DataFrame:
    """Per buyer: counts, revenue, RFM, VIP level and lifecycle inputs as of ``as_of``."""
    window_start = F.date_sub(F.lit(as_of), settings.rfm_window_days - 1)
    in_window = F.col("order_date") >= window_start
    per_person = orders_frame.groupBy("person_id").agg(
        F.count(F.lit(1)).alias("orders_count"),
        F.sum("value").alias("revenue_total"),
        F.min("ordered_at").alias("first_order_at"),
        F.max("ordered_at").alias("last_order_at"),
        F.sum(F.when(in_window, F.col("value")).otherwise(0.0)).alias("revenue_window"),
        F.sum(F.when(in_window, 1).otherwise(0)).alias("orders_window"),
        F.sum(F.when(F.col("coupon").isNotNull(), 1).otherwise(0)).alias("coupon_orders"),
    )
    per_person = per_person.withColumn(
        "recency_days", F.datediff(F.lit(as_of), F.to_date("last_order_at"))
    ).withColumn("aov", F.col("revenue_total") / F.col("orders_count"))
    return rfm_scores(per_person).withColumn(
        "vip_level", vip_level(F.col("revenue_window"), settings)
    )


def rfm_scores(buyers: DataFrame) -> DataFrame:
    """Quintile scores 1..5 among buyers active in the RFM window, as ``ceil(5 * cume_dist)``.

    Equal values share a score. Recency: fewer days is better; frequency and monetary
    value count the window's orders and spend. Adds ``r_score, f_score, m_score``,
    ``rfm_score`` (``r*100 + f*10 + m``) and ``rfm_segment``; null outside the window.
    """
    active = F.col("orders_window") > 0
    everyone = Window.partitionBy("_active")

    def score(column: str, ascending: bool) -> Column:
        order = F.col(column).asc() if ascending else F.col(column).desc()
        return F.when(
            active, F.greatest(F.lit(1), F.ceil(5 * F.cume_dist().over(everyone.orderBy(order))))
        ).cast("int")

    scored = (
        buyers.withColumn("_active", active)
        .withColumn("r_score", score("recency_days", ascending=False))
        .withColumn("f_score", score("orders_window", ascending=True))
        .withColumn("m_score", score("revenue_window", ascending=True))
        .drop("_active")
    )
    rf = F.concat(F.col("r_score").cast("string"), F.col("f_score").cast("string"))
    segment: Column = F.lit(None).cast("string")
    for pattern, name in reversed(_RF_SEGMENTS):
        segment = F.when(rf.rlike(pattern), F.lit(name)).otherwise(segment)
    return scored.withColumn(
        "rfm_score", F.col("r_score") * 100 + F.col("f_score") * 10 + F.col("m_score")
    ).withColumn("rfm_segment", segment)


def vip_level(spend: Column, settings: ProfileSettings) -> Column:
    """0 below the V1 threshold, else the highest V1..V6 whose threshold the spend reaches."""
    level: Column = F.lit(0)
    for index, threshold in enumerate(settings.vip_thresholds, start=1):
        level = F.when(spend >= F.lit(threshold), F.lit(index)).otherwise(level)
    return level


def lifecycle_stage(as_of: date, settings: ProfileSettings) -> Column:
    """``never_bought``, ``new``, ``active``, ``sleeping``, ``lapsing`` or ``churned``."""
    bounds = settings.lifecycle
    since_first = F.datediff(F.lit(as_of), F.to_date("first_order_at"))
    recency = F.col("recency_days")
    return (
        F.when(F.col("last_order_at").isNull(), F.lit("never_bought"))
        .when(since_first <= bounds.new_days, F.lit("new"))
        .when(recency <= bounds.active_days, F.lit("active"))
        .when(recency <= bounds.sleeping_days, F.lit("sleeping"))
        .when(recency <= bounds.lapsing_days, F.lit("lapsing"))
        .otherwise(F.lit("churned"))
    )


def purchase_cycles(lines: DataFrame, as_of: date, settings: ProfileSettings) -> DataFrame:
    """Per person, categories bought on at least ``cycle_min_orders`` distinct days.

    Returns:
        ``person_id, purchase_cycles`` where each cycle has ``category, orders,
        median_interval_days`` (exact median of the gaps between consecutive purchase
        days), ``last_order_date``, ``next_expected_date`` and ``due_soon`` (the next
        purchase falls within ``due_soon_days`` of as-of, either side).
    """
    days = lines.select("person_id", "category", "order_date").distinct()
    ordered = Window.partitionBy("person_id", "category").orderBy("order_date")
    gaps = days.withColumn("gap", F.datediff("order_date", F.lag("order_date").over(ordered)))
    cycles = (
        gaps.groupBy("person_id", "category")
        .agg(
            F.count(F.lit(1)).alias("orders"),
            F.median("gap").alias("median_interval_days"),
            F.max("order_date").alias("last_order_date"),
        )
        .filter(F.col("orders") >= settings.cycle_min_orders)
    )
    expected = F.date_add(F.col("last_order_date"), F.round("median_interval_days").cast("int"))
    window = settings.due_soon_days
    cycles = cycles.withColumn("next_expected_date", expected).withColumn(
        "due_soon",
        F.col("next_expected_date").between(
            F.date_sub(F.lit(as_of), window), F.date_add(F.lit(as_of), window)
        ),
    )
    entry = F.struct(
        "category",
        F.col("orders").cast("int").alias("orders"),
        F.col("median_interval_days").cast("double").alias("median_interval_days"),
        "last_order_date",
        "next_expected_date",
        "due_soon",
    )
    return cycles.groupBy("person_id").agg(
        F.sort_array(F.collect_list(entry)).alias("purchase_cycles")
    )


def price_bands(events: DataFrame) -> DataFrame:
    """Price level relative to each category: ``person_id, price_index, price_band``.

    Each category's product prices are cut at their terciles; every product interaction
    with a price scores 0 (budget), 0.5 (mid) or 1 (premium); the person's index is the
    mean, banded at 1/3 and 2/3.
    """
    priced = events.filter(F.col("price").isNotNull() & F.col("category").isNotNull())
    cuts = (
        priced.select("category", "product_id", "price")
        .distinct()
        .groupBy("category")
        .agg(F.percentile_approx("price", [1 / 3, 2 / 3], 10_000).alias("cuts"))
    )
    tiered = priced.join(F.broadcast(cuts), "category").withColumn(
        "tier",
        F.when(F.col("price") <= F.col("cuts")[0], F.lit(0.0))
        .when(F.col("price") <= F.col("cuts")[1], F.lit(0.5))
        .otherwise(F.lit(1.0)),
    )
    index = tiered.groupBy("person_id").agg(F.avg("tier").alias("price_index"))
    return index.withColumn(
        "price_band",
        F.when(F.col("price_index") < 1 / 3, F.lit("budget"))
        .when(F.col("price_index") < 2 / 3, F.lit("mid"))
        .otherwise(F.lit("premium")),
    )
