"""Dynamic behaviour, social reach and risk signals of a profile. Pure transforms.

Risk scores are sums of named, explainable signals; a profile lists the signals that fired.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dmp.profiles.settings import ProfileSettings

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_BOT_AGENT = r"(?i)(bot|crawl|spider|headless|phantomjs|python-requests|curl/|wget|scrapy)"

# signal name -> weight; a score is the capped sum of the weights of the signals that fire.
BOT_SIGNALS: dict[str, float] = {
    "inhuman_hourly_rate": 0.35,
    "machine_regular_intervals": 0.25,
    "bot_user_agent": 0.4,
    "active_around_the_clock": 0.15,
    "heavy_browsing_without_cart": 0.15,
}
COUPON_SIGNALS: dict[str, float] = {
    "coupons_without_orders": 0.45,
    "device_shared_by_many_accounts": 0.4,
    "coupons_far_above_orders": 0.25,
}


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


def risk(
    events: DataFrame,
    bronze_events: DataFrame,
    buyers: DataFrame,
    settings: ProfileSettings,
) -> DataFrame:
    """Bot and coupon-abuse scores, flags and the signals behind them.

    Args:
        events: The person's attributed events up to as-of.
        bronze_events: All events up to as-of (for accounts per device).
        buyers: ``person_id, orders_count`` of buyers.
        settings: Thresholds.
    """
    per_hour = events.groupBy("person_id", F.date_trunc("hour", "event_time").alias("h")).agg(
        F.count(F.lit(1)).alias("n")
    )
    peak = per_hour.groupBy("person_id").agg(F.max("n").alias("peak_hourly_events"))
    ordered = Window.partitionBy("person_id").orderBy("event_time")
    gaps = events.select(
        "person_id",
        (
            F.col("event_time").cast("double") - F.lag("event_time").over(ordered).cast("double")
        ).alias("gap"),
    ).filter(F.col("gap").isNotNull())
    regularity = gaps.groupBy("person_id").agg(
        # null when every event is at one instant (average gap 0), which ANSI mode would
        # otherwise turn into a DIVIDE_BY_ZERO failure of the whole profiles stage
        F.try_divide(F.stddev_pop("gap"), F.avg("gap")).alias("gap_variation"),
        F.count(F.lit(1)).alias("_gaps"),
    )
    shape = events.groupBy("person_id").agg(
        F.count(F.lit(1)).alias("_events"),
        F.bit_count(F.bit_or(F.pow(F.lit(2), F.hour("event_time")).cast("int"))).alias(
            "distinct_hours"
        ),
        F.max(F.coalesce(F.col("user_agent"), F.lit("")).rlike(_BOT_AGENT).cast("int")).alias(
            "_bot_agent"
        ),
        F.sum(F.col("event_name").isin("Product Added", "Order Completed").cast("int")).alias(
            "_carts"
        ),
        F.sum(F.col("event_name").isin("Coupon Applied", "Coupon Entered").cast("int")).alias(
            "_coupons"
        ),
    )
    accounts = (
        bronze_events.filter(F.col("device_id").isNotNull() & F.col("user_id").isNotNull())
        .groupBy("device_id")
        .agg(F.countDistinct("user_id").alias("accounts"))
    )
    device_accounts = (
        events.filter(F.col("device_id").isNotNull())
        .select("person_id", "device_id")
        .distinct()
        .join(accounts, "device_id")
        .groupBy("person_id")
        .agg(F.max("accounts").alias("max_accounts_on_device"))
    )
    joined = (
        shape.join(peak, "person_id", "left")
        .join(regularity, "person_id", "left")
        .join(device_accounts, "person_id", "left")
        .join(buyers.select("person_id", "orders_count"), "person_id", "left")
        .fillna(0, ["orders_count", "max_accounts_on_device"])
    )
    bot = {
        "inhuman_hourly_rate": F.col("peak_hourly_events") >= 100,
        "machine_regular_intervals": (F.col("_gaps") >= 50) & (F.col("gap_variation") < 0.35),
        "bot_user_agent": F.col("_bot_agent") == 1,
        "active_around_the_clock": (F.col("_events") >= 200) & (F.col("distinct_hours") >= 20),
        "heavy_browsing_without_cart": (F.col("_events") >= 300) & (F.col("_carts") == 0),
    }
    coupon = {
        "coupons_without_orders": (F.col("_coupons") >= 2) & (F.col("orders_count") == 0),
        "device_shared_by_many_accounts": F.col("max_accounts_on_device")
        > settings.shared_device_accounts,
        "coupons_far_above_orders": F.col("_coupons")
        >= 3 * F.greatest(F.col("orders_count"), F.lit(1)),
    }
    bot_score = _score(bot, BOT_SIGNALS)
    coupon_score = _score(coupon, COUPON_SIGNALS)
    return joined.select(
        "person_id",
        bot_score.alias("bot_score"),
        (bot_score >= settings.bot_threshold).alias("bot_flag"),
        coupon_score.alias("coupon_abuse_score"),
        (coupon_score >= settings.coupon_abuse_threshold).alias("coupon_abuse_flag"),
        F.concat(_fired(bot), _fired(coupon)).alias("risk_signals"),
        F.col("_coupons").alias("coupon_events"),
        "peak_hourly_events",
        "max_accounts_on_device",
    )


def _score(signals: dict[str, Column], weights: dict[str, float]) -> Column:
    total: Column = F.lit(0.0)
    for name, condition in signals.items():
        total = total + F.when(F.coalesce(condition, F.lit(False)), F.lit(weights[name])).otherwise(
            F.lit(0.0)
        )
    return F.round(F.least(total, F.lit(1.0)), 3)


def _fired(signals: dict[str, Column]) -> Column:
    names = [F.when(F.coalesce(c, F.lit(False)), F.lit(n)) for n, c in signals.items()]
    return F.filter(F.array(*names), lambda x: x.isNotNull())
