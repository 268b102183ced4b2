"""The risk rules on a real log of people (MovieLens 100k: 943 raters, 100,000 ratings, no
bots): under 2% may be flagged, although a fifth of them rate 100+ films within an hour.

The file comes through pip (``scripts/fetch_real_logs.py``, run by ``make test``); it is not
committed, as GroupLens does not allow redistribution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import functions as F

from dmp.profiles.risk import risk
from dmp.profiles.settings import ProfileSettings

pytestmark = pytest.mark.spark

LOG = Path(__file__).resolve().parents[2] / ".cache" / "real_logs" / "ml-100k.inter"


def movielens_events(spark: Any, path: Path) -> Any:
    """Each rating as the attributed event of a dmp person: a ``Product Reviewed`` event at
    the rating's second, with no user agent or device (the log records neither)."""
    raw = spark.read.option("sep", "\t").option("header", "true").csv(str(path))
    return raw.select(
        F.concat(F.lit("ml-"), F.col("`user_id:token`")).alias("person_id"),
        F.timestamp_seconds(F.col("`timestamp:float`").cast("long")).alias("event_time"),
        F.lit("Product Reviewed").alias("event_name"),
        F.col("`item_id:token`").alias("product_id"),
        F.lit(None).cast("string").alias("user_agent"),
        F.lit(None).cast("string").alias("device_id"),
        F.col("`user_id:token`").alias("user_id"),
    )


def test_under_two_percent_of_real_people_are_flagged(spark) -> None:
    if not LOG.exists():
        pytest.fail(f"{LOG} is missing: run `make test` or `python scripts/fetch_real_logs.py`")
    events = movielens_events(spark, LOG)
    buyers = spark.createDataFrame([], "person_id string, orders_count long")
    totals = (
        risk(events, events, buyers, ProfileSettings())
        .agg(
            F.count(F.lit(1)).alias("people"),
            F.sum((F.col("bot_flag") | F.col("coupon_abuse_flag")).cast("int")).alias("flagged"),
            F.sum((F.size("risk_signals") > 0).cast("int")).alias("any_signal"),
            F.sum((F.col("peak_hourly_events") >= 100).cast("int")).alias("bursty"),
        )
        .first()
    )
    assert totals is not None and totals["people"] == 943
    # the log has the bursts that an hourly-rate rule took for bots (22% of people)
    assert totals["bursty"] / totals["people"] > 0.15
    assert totals["flagged"] / totals["people"] < 0.02
    assert totals["any_signal"] / totals["people"] < 0.05
