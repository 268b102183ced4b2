"""Known answers of each bot and coupon-abuse signal on tiny hand-made event sets, including
the human behaviour each must not flag (bursts, binges, batch uploads, shared tablets).

Every scenario uses its own person and device ids, so all of them are scored in one Spark run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from dmp.profiles.risk import risk
from dmp.profiles.settings import ProfileSettings

pytestmark = pytest.mark.spark

_SCHEMA = (
    "person_id string, event_time timestamp, event_name string, user_agent string, "
    "device_id string, user_id string"
)
_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
_HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/124.0.0.0 Safari/537.36"
_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Rows = list[tuple[Any, ...]]


def _views(
    person: str, offsets: Any, agent: str | None = _CHROME, event: str = "Product Viewed"
) -> Rows:
    return [
        (person, _START + timedelta(seconds=float(s)), event, agent, None, None) for s in offsets
    ]


def _human_think_times(rng: np.random.Generator, n: int, median_s: float) -> np.ndarray:
    return np.cumsum(rng.lognormal(np.log(median_s), 0.8, n))


def _agents() -> Rows:
    rows = _views("crawler", np.arange(10) * 40.0, _HEADLESS)
    # a person's browser events plus one forwarded by a back end through an HTTP library
    rows += _views("shopper", np.arange(9) * 40.0) + _views("shopper", [500.0], "python-requests/2")
    # a phone whose model name contains "bot" is a phone
    rows += _views("phone", np.arange(10) * 40.0, "Mozilla/5.0 (Linux; Android 10; CUBOT X30)")
    return rows + _views("app", np.arange(10) * 40.0, None)  # server events without an agent


def _rhythms() -> Rows:
    rng = np.random.default_rng(3)
    timer = np.cumsum(6.0 + rng.uniform(-0.06, 0.06, 200))
    # a script firing a page event and its track event 10 ms apart, every 6 s
    paired = np.sort(np.concatenate([timer, timer + 0.01]))
    # a sub-second timer
    fast_timer = np.arange(300) * 0.5
    binge = _human_think_times(rng, 400, 6.0)  # 400 product pages, a few seconds each
    # the same binge with the page and track events of each view 10 ms apart
    binge_pairs = np.sort(np.concatenate([binge, binge + 0.01]))
    rows = _views("timer", timer) + _views("paired", paired) + _views("fast_timer", fast_timer)
    rows += _views("binge", binge) + _views("binge_pairs", binge_pairs)
    # 40 perfectly regular gaps is a short run, not sustained evidence
    rows += _views("short", np.arange(41) * 5.0)
    # daily visits at the same minute: regular, but every gap is between sessions
    rows += _views("daily", np.arange(150) * 86_400.0)
    # a film-rating site: five batches of 60 ratings, each batch saved with one timestamp
    batches = np.repeat(np.array([0.0, 95.0, 260.0, 301.0, 700.0]), 60)
    return rows + _views("rater", batches, None, "Product Reviewed")


def _pace_and_hours() -> Rows:
    rng = np.random.default_rng(5)
    fast = np.cumsum(rng.uniform(0.2, 0.6, 1300))  # ~2.5 actions a second for 9 minutes
    hours = np.array([h * 3600.0 + rng.uniform(0, 3000) for h in range(24)]) - 9 * 3600.0
    # a night owl: active in every hour of the clock, but on different days
    owl = np.array([d * 86_400.0 + h * 3600.0 for d, h in enumerate(range(24))])
    rows = _views("fast", fast) + _views("awake", hours) + _views("both", fast)
    return rows + _views("both", hours + 7200.5) + _views("owl", owl)


def _claims(person: str, device: str | None, claims: int, user: str) -> Rows:
    names = ["Coupon Entered", "Coupon Applied", "Coupon Denied"]
    return [
        (person, _START + timedelta(minutes=i), names[i % 3], _CHROME, device, user)
        for i in range(claims)
    ] + [(person, _START + timedelta(hours=1), "Product Viewed", _CHROME, device, user)]


def _coupons() -> Rows:
    rows: Rows = []
    for k in range(5):  # a ring: five accounts on one phone, each claiming, none ordering
        rows += _claims(f"ring{k}", "ring-phone", 2, f"ring-user{k}")
    for k in range(5):  # a shop's demo tablet: five accounts, no coupons
        rows += _claims(f"demo{k}", "demo-tablet", 0, f"demo-user{k}")
    rows += _claims("hesitant", "own-phone", 3, "hesitant-user")  # tries codes, never buys
    rows += _claims("household", "family-tablet", 2, "parent")  # two accounts on a tablet
    rows += _claims("child", "family-tablet", 0, "child")
    rows += _claims("ring_buyer", "ring-phone", 3, "ring-buyer-user")  # one order, 3 claims
    return rows + _claims("loyal", "demo-tablet", 3, "loyal-user")  # 2 orders, 3 claims


@pytest.fixture(scope="module")
def found(spark: Any) -> dict[str, Any]:
    rows = _agents() + _rhythms() + _pace_and_hours() + _coupons()
    rows += _views("capped", np.arange(200) * 6.0, _HEADLESS) + _views("quiet", [0.0])
    events = spark.createDataFrame(rows, _SCHEMA)
    buyers = spark.createDataFrame(
        [("ring_buyer", 1), ("loyal", 2)], "person_id string, orders_count long"
    )
    return {r.person_id: r for r in risk(events, events, buyers, ProfileSettings()).collect()}


def test_a_scripted_agent_is_conclusive_but_one_server_event_is_not(found) -> None:
    assert found["crawler"].bot_flag and found["crawler"].risk_signals == ["scripted_user_agent"]
    for person in ("shopper", "phone", "app"):
        assert not found[person].bot_flag and found[person].risk_signals == [], person


def test_a_timer_is_flagged_and_a_binge_is_not(found) -> None:
    for bot in ("timer", "paired", "fast_timer"):
        assert found[bot].bot_flag, bot
        assert found[bot].risk_signals == ["machine_regular_intervals"], bot
    for person in ("binge", "binge_pairs"):
        assert not found[person].bot_flag and found[person].risk_signals == [], person
        assert found[person].peak_hourly_events >= 100  # the old hourly-rate rule fired here


def test_regular_gaps_need_to_be_sustained_and_inside_sessions(found) -> None:
    for person in ("short", "daily"):
        assert found[person].risk_signals == [], person


def test_batch_uploads_count_once(found) -> None:
    assert not found["rater"].bot_flag and found["rater"].risk_signals == []


def test_sub_second_pace_and_round_the_clock_only_together(found) -> None:
    assert found["fast"].risk_signals == ["sub_second_pace"] and not found["fast"].bot_flag
    assert found["awake"].risk_signals == ["active_around_the_clock"]
    assert not found["awake"].bot_flag
    assert found["both"].bot_flag
    assert sorted(found["both"].risk_signals) == ["active_around_the_clock", "sub_second_pace"]
    assert found["owl"].risk_signals == []


def test_coupon_abuse_needs_the_device_and_the_coupons_to_agree(found) -> None:
    coupon_people = {p: r for p, r in found.items() if r.max_accounts_on_device or r.coupon_events}
    flagged = sorted(p for p, r in coupon_people.items() if r.coupon_abuse_flag)
    assert flagged == [*(f"ring{k}" for k in range(5)), "ring_buyer"]
    assert found["ring0"].max_accounts_on_device == 6
    assert found["demo0"].risk_signals == ["device_shared_by_many_accounts"]
    assert found["hesitant"].risk_signals == ["coupon_claims_without_orders"]
    assert found["household"].risk_signals == ["coupon_claims_without_orders"]
    assert found["loyal"].risk_signals == ["device_shared_by_many_accounts"]
    assert sorted(found["ring_buyer"].risk_signals) == [
        "coupon_claims_far_above_orders",
        "device_shared_by_many_accounts",
    ]
    assert not any(found[p].bot_flag for p in coupon_people)


def test_scores_are_capped_and_every_person_gets_a_row(found) -> None:
    assert found["capped"].bot_score == 1.0 and found["quiet"].bot_score == 0.0
    assert sorted(found["capped"].risk_signals) == [
        "machine_regular_intervals",
        "scripted_user_agent",
    ]
    assert not any(found[p].coupon_abuse_flag for p in found if not p.startswith("ring"))
