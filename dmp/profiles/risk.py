"""Bot and coupon-abuse risk of a profile: each flag rests on evidence people do not produce.

People browse in bursts, binge at night, rate fifty films in a row and use coupons; none of
that is evidence of a bot or of abuse, and a rule that fires on it removes real customers from
seeds and audiences. So every signal below is something a person at a keyboard or on a phone
does not do, and a score is the capped sum of the weights of the signals that fired:

Bot signals
    ``scripted_user_agent`` (conclusive alone): most of the person's events come from a
    headless browser, an HTTP library or a declared crawler.
    ``machine_regular_intervals`` (conclusive alone): at least ``_MIN_GAPS`` gaps inside
    sessions without think-time variance: at the median, a gap differs from the one before
    it by less than ``_REGULAR_JITTER`` of their sum, on all gaps or on the gaps of a second
    or more (events closer than that are one action). A person's next click depends on what
    they read; a timer's does not.
    ``sub_second_pace`` (supporting): at least ``_PACE_ACTIONS`` distinct actions within ten
    minutes, more than two a second sustained (equal timestamps count once: a batch upload
    or a page event fired with its track event is one action).
    ``active_around_the_clock`` (supporting): active in at least ``_AWAKE_HOURS`` distinct
    hours of one UTC day; people sleep, however bursty their day.
Coupon-abuse signals (each supporting: abuse is flagged when the device and the coupons agree)
    ``device_shared_by_many_accounts``: the person used a device seen with more user ids than
    ``shared_device_accounts`` (a household tablet has two or three).
    ``coupon_claims_without_orders``: at least two coupon claims (entered, applied or denied)
    and never an order.
    ``coupon_claims_far_above_orders``: orders, but at least three coupon claims per order.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dmp.profiles.settings import ProfileSettings

SCRIPTED_AGENT = (
    r"(?i)(\b(bot|crawler|spider)\b|bot/|crawl|headless|phantomjs|selenium|puppeteer|"
    r"playwright|python-requests|python-urllib|aiohttp|curl/|wget|scrapy|go-http-client)"
)
_SESSION_GAP_S = 1800.0
"""Gaps longer than this separate sessions and say nothing about a person's pace."""
_MIN_GAPS = 100
_REGULAR_JITTER = 0.1
_PACE_WINDOW_S = 600
_PACE_ACTIONS = 1200
_AWAKE_HOURS = 20
_SCRIPTED_SHARE = 0.5
_CLAIMS = ("Coupon Entered", "Coupon Applied", "Coupon Denied")

# signal name -> weight; a score is the capped sum of the weights of the signals that fire.
BOT_SIGNALS: dict[str, float] = {
    "scripted_user_agent": 0.6,
    "machine_regular_intervals": 0.6,
    "sub_second_pace": 0.3,
    "active_around_the_clock": 0.3,
}
COUPON_SIGNALS: dict[str, float] = {
    "device_shared_by_many_accounts": 0.3,
    "coupon_claims_without_orders": 0.3,
    "coupon_claims_far_above_orders": 0.3,
}


def bot_evidence(events: DataFrame) -> DataFrame:
    """Per person, the measurements the bot signals read.

    Returns:
        ``person_id, scripted_agent_share, peak_hourly_events, peak_actions_10min,
        max_hours_in_a_day, in_session_gaps, median_gap_jitter``; the jitter is the more
        regular of the two time scales that hold at least ``_MIN_GAPS`` gaps (else null).
    """
    actions = events.select("person_id", "event_time").distinct()
    seconds = F.col("event_time").cast("double")
    # Two time scales: every gap (a sub-second timer), and gaps of a second or more, where
    # a page event and its track event fired together are one action (a script doing that
    # every 6 s, or a person reading each page for a while).
    rhythm = _rhythm(actions, 0.0, "_all").join(_rhythm(actions, 1.0, "_slow"), "person_id", "full")
    window = F.floor(seconds / _PACE_WINDOW_S)
    pace = (
        actions.groupBy("person_id", window.alias("_w"))
        .agg(F.count(F.lit(1)).alias("n"))
        .groupBy("person_id")
        .agg(F.max("n").alias("peak_actions_10min"))
    )
    hours = F.bit_count(F.bit_or(F.pow(F.lit(2), F.hour("event_time")).cast("int")))
    awake = (
        actions.groupBy("person_id", F.to_date("event_time").alias("_d"))
        .agg(hours.alias("n"))
        .groupBy("person_id")
        .agg(F.max("n").alias("max_hours_in_a_day"))
    )
    hourly = (
        events.groupBy("person_id", F.date_trunc("hour", "event_time").alias("_h"))
        .agg(F.count(F.lit(1)).alias("n"))
        .groupBy("person_id")
        .agg(F.max("n").alias("peak_hourly_events"))
    )
    agent = F.col("user_agent")
    agents = events.groupBy("person_id").agg(
        # avg skips nulls: the share among events that carry a user agent at all
        F.avg(F.when(agent.isNotNull(), agent.rlike(SCRIPTED_AGENT).cast("double"))).alias(
            "scripted_agent_share"
        )
    )
    sustained = [
        F.when(F.col(f"_gaps{s}") >= _MIN_GAPS, F.col(f"_jitter{s}")) for s in ("_all", "_slow")
    ]
    return (
        agents.join(hourly, "person_id", "left")
        .join(rhythm, "person_id", "left")
        .join(pace, "person_id", "left")
        .join(awake, "person_id", "left")
        .fillna(0, ["_gaps_all"])
        .select(
            "*",
            F.col("_gaps_all").alias("in_session_gaps"),
            F.least(*sustained).alias("median_gap_jitter"),
        )
        .drop("_gaps_all", "_gaps_slow", "_jitter_all", "_jitter_slow")
    )


def _rhythm(actions: DataFrame, min_gap_s: float, suffix: str) -> DataFrame:
    """In-session gaps of at least ``min_gap_s`` (shorter ones join two actions into one) and
    the median of ``|gap - previous gap| / (gap + previous gap)`` over them."""
    ordered = Window.partitionBy("person_id").orderBy("event_time")
    seconds = F.col("event_time").cast("double")
    gaps = (
        actions.withColumn("_gap", seconds - F.lag(seconds).over(ordered))
        .filter(F.col("_gap") >= F.lit(max(min_gap_s, 1e-9)))
        .withColumn("_previous", F.lag("_gap").over(ordered))
    )
    gap, previous = F.col("_gap"), F.col("_previous")
    jitter = F.abs(gap - previous) / (gap + previous)
    return (
        gaps.filter(F.greatest(gap, previous) <= _SESSION_GAP_S)
        .groupBy("person_id")
        .agg(
            F.count(F.lit(1)).alias(f"_gaps{suffix}"),
            F.percentile_approx(jitter, 0.5, 1000).alias(f"_jitter{suffix}"),
        )
    )


def bot_signals() -> dict[str, Column]:
    """Each bot signal as a condition over the columns of :func:`bot_evidence`."""
    return {
        "scripted_user_agent": F.col("scripted_agent_share") >= _SCRIPTED_SHARE,
        "machine_regular_intervals": F.col("median_gap_jitter") < _REGULAR_JITTER,
        "sub_second_pace": F.col("peak_actions_10min") >= _PACE_ACTIONS,
        "active_around_the_clock": F.col("max_hours_in_a_day") >= _AWAKE_HOURS,
    }


def coupon_evidence(events: DataFrame, bronze_events: DataFrame, buyers: DataFrame) -> DataFrame:
    """Per person: ``coupon_events`` (entered or applied), ``coupon_claims`` (entered, applied
    or denied), ``orders_count`` and ``max_accounts_on_device`` (user ids on the busiest
    device the person used, over all events)."""
    claims = events.groupBy("person_id").agg(
        F.sum(F.col("event_name").isin("Coupon Applied", "Coupon Entered").cast("int")).alias(
            "coupon_events"
        ),
        F.sum(F.col("event_name").isin(*_CLAIMS).cast("int")).alias("coupon_claims"),
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
    return (
        claims.join(device_accounts, "person_id", "left")
        .join(buyers.select("person_id", "orders_count"), "person_id", "left")
        .fillna(0, ["orders_count", "max_accounts_on_device"])
    )


def coupon_signals(settings: ProfileSettings) -> dict[str, Column]:
    """Each coupon-abuse signal as a condition over the columns of :func:`coupon_evidence`."""
    orders, claims = F.col("orders_count"), F.col("coupon_claims")
    return {
        "device_shared_by_many_accounts": F.col("max_accounts_on_device")
        > settings.shared_device_accounts,
        "coupon_claims_without_orders": (claims >= 2) & (orders == 0),
        "coupon_claims_far_above_orders": (orders >= 1) & (claims >= 3 * orders),
    }


def risk(
    events: DataFrame,
    bronze_events: DataFrame,
    buyers: DataFrame,
    settings: ProfileSettings,
) -> DataFrame:
    """Bot and coupon-abuse scores, flags and the signals behind them.

    Args:
        events: The person's attributed events up to as-of (``person_id, event_time,
            event_name, user_agent, device_id``).
        bronze_events: All events up to as-of (for accounts per device: ``device_id,
            user_id``).
        buyers: ``person_id, orders_count`` of buyers.
        settings: Thresholds.

    Returns:
        ``person_id, bot_score, bot_flag, coupon_abuse_score, coupon_abuse_flag,
        risk_signals, coupon_events, peak_hourly_events, max_accounts_on_device``.
    """
    joined = bot_evidence(events).join(
        coupon_evidence(events, bronze_events, buyers), "person_id", "full"
    )
    bot, coupon = bot_signals(), coupon_signals(settings)
    bot_score, coupon_score = _score(bot, BOT_SIGNALS), _score(coupon, COUPON_SIGNALS)
    return joined.select(
        "person_id",
        bot_score.alias("bot_score"),
        (bot_score >= settings.bot_threshold).alias("bot_flag"),
        coupon_score.alias("coupon_abuse_score"),
        (coupon_score >= settings.coupon_abuse_threshold).alias("coupon_abuse_flag"),
        F.concat(_fired(bot), _fired(coupon)).alias("risk_signals"),
        F.coalesce("coupon_events", F.lit(0)).alias("coupon_events"),
        "peak_hourly_events",
        F.coalesce("max_accounts_on_device", F.lit(0)).alias("max_accounts_on_device"),
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
