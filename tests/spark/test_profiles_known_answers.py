"""Profiles on a small hand-made event log whose every answer is known in advance."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dmp.config import load_config
from dmp.driver import run_stage
from dmp.ingest.schema import EVENTS_SCHEMA
from dmp.lake import Lake
from dmp.profiles.entry import PROFILES, ProfilesRequest

AS_OF = date(2026, 3, 31)
END = datetime.combine(AS_OF + timedelta(days=1), time.min, tzinfo=UTC)


def day(days_before: int, hour: int = 12) -> datetime:
    """Noon (or ``hour``) on the day ``days_before`` the as-of date."""
    return datetime.combine(AS_OF - timedelta(days=days_before), time(hour), tzinfo=UTC)


class Log:
    """Builds bronze rows and the identity map for hand-made people."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.people: set[str] = set()

    def event(self, user: str, when: datetime, name: str, **fields: Any) -> None:
        self.people.add(user)
        row = {f.name: None for f in EVENTS_SCHEMA}
        row.update(
            source="first_party",
            message_id=f"m{len(self.rows)}",
            message_hash="h",
            event_type=fields.pop("event_type", "track"),
            event_name=name,
            event_time=when,
            event_date=when.date(),
            channel="web",
            user_id=user,
            landing_date=when.date(),
        )
        row.update(fields)
        self.rows.append(row)

    def order(
        self, user: str, when: datetime, value: float, category: str = "books", **more: Any
    ) -> None:
        line = {"product_id": f"p-{category}", "sku": None, "category": category,
                "brand": "b", "name": None, "price": value, "quantity": 1}  # fmt: skip
        self.event(user, when, "Order Completed", order_id=f"o{len(self.rows)}", revenue=value,
                   products=[line], **more)  # fmt: skip

    def write(self, lake: Lake) -> None:
        schema = EVENTS_SCHEMA.append(pa.field("ingested_at", pa.timestamp("us", tz="UTC")))
        table = pa.Table.from_pylist([{**r, "ingested_at": END} for r in self.rows], schema=schema)
        lake.write_arrow(table, "bronze/events", partition_by=["event_date"])
        people = sorted(self.people)
        identity = pa.table(
            {
                "id_type": ["user_id"] * len(people),
                "id_value": people,
                "person_id": [f"P{i:016x}" for i in range(len(people))],
                "link": ["user"] * len(people),
            }
        )
        lake.write_arrow(identity, "silver/identity_map")


@pytest.fixture(scope="module")
def profiles(spark, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    home: Path = tmp_path_factory.mktemp("known")
    settings = load_config(home=home, environ={})
    log = Log()
    # lifecycle boundaries (days since the last order; "new" counts from the first order)
    log.event("never", day(3), "Product Viewed", category="books", price=10.0)
    log.order("new15", day(15), 50.0)
    log.order("first16", day(16), 50.0)
    for name, last in (("active75", 75), ("sleeping76", 76), ("sleeping180", 180),
                       ("lapsing181", 181), ("lapsing365", 365), ("churned366", 366)):  # fmt: skip
        log.order(name, day(last + 30), 20.0)
        log.order(name, day(last), 30.0)
    # RFM, VIP and coupons: five buyers of different recency, frequency and spend
    for index, name in enumerate(("rfm1", "rfm2", "rfm3", "rfm4", "rfm5")):
        for k in range(index + 1):
            log.order(name, day(100 - 20 * index + k), 70.0 * (index + 1),
                      coupon="SAVE" if name == "rfm5" and k < 3 else None)  # fmt: skip
    # purchase cycles: nappies every 21 days -> next on as-of + 2 (due soon); books 10 / 30
    for before in (61, 40, 19):
        log.order("parent", day(before), 15.0, category="baby_care")
    for before in (80, 70, 40):
        log.order("parent", day(before), 12.0, category="books")
    # decay: one half-life apart -> affinities 2/3 and 1/3 (scores 4 x 0.5 and 4 x 0.25)
    for _ in range(4):
        log.event("decay", END - timedelta(days=30), "Product Viewed", category="toys")
        log.event("decay", END - timedelta(days=60), "Product Viewed", category="kitchen")
    # a one-off gift outside a heavy electronics browser's history
    for k in range(20):
        log.event("gifter", day(10, hour=k % 23), "Product Viewed", category="electronics")
    log.order("gifter", day(9), 80.0, category="cosmetics")
    # consent: stated, then withdrawn; and never stated (the default applies)
    log.event("consent", day(20), "Product Viewed", consent_advertising=True, consent_email=True)
    log.event("consent", day(10), "Product Viewed", consent_advertising=False)
    log.write(Lake(settings.lake_dir))
    result = run_stage(PROFILES, settings, ProfilesRequest(AS_OF), spark=spark)
    assert result.persons == len(log.people)
    rows = Lake(settings.lake_dir).read(spark, "silver/profiles").collect()
    by_user = {r["user_ids"][0]: r.asDict(recursive=True) for r in rows}
    return by_user


def test_lifecycle_stage_at_each_boundary(profiles) -> None:
    expected = {
        "never": ("never_bought", None),
        "new15": ("new", 15),
        "first16": ("active", 16),
        "active75": ("active", 75),
        "sleeping76": ("sleeping", 76),
        "sleeping180": ("sleeping", 180),
        "lapsing181": ("lapsing", 181),
        "lapsing365": ("lapsing", 365),
        "churned366": ("churned", 366),
    }
    found = {u: (profiles[u]["lifecycle_stage"], profiles[u]["recency_days"]) for u in expected}
    assert found == expected


def test_frequency_monetary_aov_and_vip(profiles) -> None:
    assert [profiles[f"rfm{i}"]["orders_count"] for i in range(1, 6)] == [1, 2, 3, 4, 5]
    assert [profiles[f"rfm{i}"]["revenue_total"] for i in range(1, 6)] == [
        70.0, 280.0, 630.0, 1120.0, 1750.0,
    ]  # fmt: skip
    assert profiles["rfm3"]["aov"] == pytest.approx(210.0)
    # V1 >= 0.01, V2 >= 100, V3 >= 300, V4 >= 800, V5 >= 2000, V6 >= 5000 (trailing year)
    assert [profiles[f"rfm{i}"]["vip_level"] for i in range(1, 6)] == [1, 2, 3, 4, 4]
    assert profiles["never"]["vip_level"] == 0 and profiles["never"]["orders_count"] == 0
    # the trailing year is the 365 days ending on as-of: orders 366 and 396 days back are out
    assert profiles["churned366"]["vip_level"] == 0
    assert profiles["lapsing365"]["vip_level"] == 0 and profiles["active75"]["vip_level"] == 1
    assert (profiles["rfm5"]["coupon_orders"], profiles["rfm4"]["coupon_orders"]) == (3, 0)


def test_rfm_quintiles_are_ceil_of_five_times_cume_dist(profiles) -> None:
    buyers = {u: p for u, p in profiles.items() if p["orders_trailing_year"] > 0}

    def scores(key: str, better_low: bool) -> dict[str, int]:
        values = {u: p[key] for u, p in buyers.items()}
        out = {}
        for user, value in values.items():
            at_most = sum(1 for v in values.values() if (v >= value if better_low else v <= value))
            out[user] = max(1, math.ceil(5 * at_most / len(values)))
        return out

    recency = scores("recency_days", better_low=True)
    frequency = scores("orders_trailing_year", better_low=False)
    monetary = scores("revenue_trailing_year", better_low=False)
    for user, p in buyers.items():
        assert (p["r_score"], p["f_score"], p["m_score"]) == (
            recency[user], frequency[user], monetary[user],
        ), user  # fmt: skip
        assert p["rfm_score"] == recency[user] * 100 + frequency[user] * 10 + monetary[user]
    assert profiles["churned366"]["r_score"] is None  # no order in the trailing year
    assert profiles["rfm5"]["rfm_segment"] is not None


def test_purchase_cycle_and_due_date(profiles) -> None:
    cycles = {c["category"]: c for c in profiles["parent"]["purchase_cycles"]}
    nappies = cycles["baby_care"]
    assert nappies["orders"] == 3 and nappies["median_interval_days"] == 21.0
    assert nappies["last_order_date"] == AS_OF - timedelta(days=19)
    assert nappies["next_expected_date"] == AS_OF + timedelta(days=2)
    assert nappies["due_soon"] is True
    books = cycles["books"]
    assert books["median_interval_days"] == 20.0  # gaps 10 and 30
    assert books["next_expected_date"] == AS_OF - timedelta(days=20)
    assert books["due_soon"] is False
    assert "due_soon:baby_care" in profiles["parent"]["tags"]
    assert "due_soon:books" not in profiles["parent"]["tags"]


def test_exponential_decay_of_interests(profiles) -> None:
    affinity = profiles["decay"]["category_affinity"]
    assert affinity["toys"] == pytest.approx(2 / 3, abs=1e-4)
    assert affinity["kitchen"] == pytest.approx(1 / 3, abs=1e-4)
    # kitchen's decayed evidence (4 x 0.25 = 1.0) is under min_interest_score (1.5)
    assert profiles["decay"]["top_interests"] == ["toys"]


def test_a_one_off_gift_is_not_a_top_interest(profiles) -> None:
    gifter = profiles["gifter"]
    assert gifter["top_interests"][0] == "electronics"
    assert gifter["gift_orders"] == 1
    assert gifter["category_affinity"]["cosmetics"] < 0.05


def test_consent_is_the_latest_statement_else_the_default(profiles) -> None:
    person = profiles["consent"]
    assert (person["consent_advertising"], person["consent_advertising_stated"]) == (False, True)
    assert (person["consent_email"], person["consent_email_stated"]) == (True, True)
    # no statement: no consent by default (ingest.consent_default)
    assert (person["consent_sms"], person["consent_sms_stated"]) == (False, False)
    assert (person["consent_push"], person["consent_push_stated"]) == (False, False)
    assert "consent:no_advertising" in person["tags"]
