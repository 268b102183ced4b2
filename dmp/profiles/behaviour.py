"""Dynamic behaviour and social reach of a profile (risk signals: ``risk.py``). Pure transforms."""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def dynamics(events: DataFrame, as_of: date) -> DataFrame:
    """Active hours and weekdays (local time where the event says its zone), channel mix
    and recent activity: ``person_id, active_hours, active_weekdays, preferred_channel,
    app_share, events_30d, active_days_30d``."""
    local = F.when(
        F.col("timezone").isNotNull(), F.from_utc_timestamp("event_time", F.col("timezone"))
    ).otherwise(F.col("event_time"))
    stamped = events.withColumn("_local", local)
    hours = _top(stamped, F.hour("_local"), "hour", 3).withColumnRenamed("top", "active_hours")
    weekday = F.element_at(F.array(*[F.lit(d) for d in _WEEKDAYS]), F.dayofweek("_local"))
    days = _top(stamped, weekday, "weekday", 2).withColumnRenamed("top", "active_weekdays")
    recent = F.col("event_time") >= F.lit(as_of - timedelta(days=29))
    activity = events.groupBy("person_id").agg(
        F.avg((F.col("channel") == "app").cast("double")).alias("app_share"),
        F.sum(F.col("channel").isin("web", "app").cast("int")).alias("_channel_events"),
        F.sum(recent.cast("int")).alias("events_30d"),
        # A set of at most 30 days: no Expand of every row, as countDistinct beside other
        # aggregates would need.
        F.size(F.collect_set(F.when(recent, F.to_date("event_time")))).alias("active_days_30d"),
    )
    channel = (
        F.when(F.col("_channel_events") == 0, F.lit(None))
        .when(F.col("app_share") >= 0.5, F.lit("app"))
        .otherwise(F.lit("web"))
    )
    return (
        activity.withColumn("preferred_channel", channel)
        .drop("_channel_events")
        .join(hours, "person_id", "left")
        .join(days, "person_id", "left")
    )


def _top(frame: DataFrame, value: Column, name: str, n: int) -> DataFrame:
    counts = frame.groupBy("person_id", value.alias(name)).agg(F.count(F.lit(1)).alias("n"))
    ordered = F.sort_array(F.collect_list(F.struct((-F.col("n")).alias("neg"), F.col(name))))
    return counts.groupBy("person_id").agg(
        F.slice(F.transform(ordered, lambda e: e[name]), 1, n).alias("top")
    )


def social(events: DataFrame, identity_map: DataFrame) -> DataFrame:
    """Shares, people brought in (directly and through them) and an influence score 0..100.

    A sign-up naming ``referrer_user_id`` is credited to the person holding that user id.
    ``influence_score`` is the percentile of ``brought_in + 0.5 * brought_in_second_level +
    0.1 * shares`` among people with any reach (0 for the rest).
    """
    shares = (
        events.filter(F.col("event_name") == "Product Shared")
        .groupBy("person_id")
        .agg(F.count(F.lit(1)).alias("shares"))
    )
    user_owner = identity_map.filter(F.col("id_type") == "user_id").select(
        F.col("id_value").alias("referrer_user_id"), F.col("person_id").alias("referrer")
    )
    referred = (
        events.filter((F.col("event_name") == "Signed Up") & F.col("referrer_user_id").isNotNull())
        .join(user_owner, "referrer_user_id")
        .filter(F.col("referrer") != F.col("person_id"))
        .select(F.col("person_id").alias("referred"), "referrer")
        .distinct()
    )
    direct = referred.groupBy(F.col("referrer").alias("person_id")).agg(
        F.count(F.lit(1)).alias("brought_in")
    )
    second = (
        referred.alias("a")
        .join(referred.alias("b"), F.col("a.referred") == F.col("b.referrer"))
        .groupBy(F.col("a.referrer").alias("person_id"))
        .agg(F.countDistinct("b.referred").alias("brought_in_second_level"))
    )
    referred_by = referred.groupBy(F.col("referred").alias("person_id")).agg(
        F.min("referrer").alias("referred_by")
    )
    reach = (
        shares.join(direct, "person_id", "full")
        .join(second, "person_id", "full")
        .join(referred_by, "person_id", "full")
        .fillna(0, ["shares", "brought_in", "brought_in_second_level"])
    )
    raw = F.col("brought_in") + 0.5 * F.col("brought_in_second_level") + 0.1 * F.col("shares")
    ranked = Window.partitionBy(F.col("_raw") > 0).orderBy("_raw")
    return (
        reach.withColumn("_raw", raw)
        .withColumn(
            "influence_score",
            F.when(F.col("_raw") > 0, F.round(100 * F.cume_dist().over(ranked), 1)).otherwise(
                F.lit(0.0)
            ),
        )
        .drop("_raw")
    )
