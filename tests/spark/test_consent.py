"""Consent from the latest statements: parsing order, clock skew, ties, defaults by region."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dmp.privacy.consent import latest_consent, stated_until

SCHEMA = (
    "person_id string, message_id string, event_time timestamp, received_at timestamp, "
    "ingested_at timestamp, country string, consent_advertising boolean, consent_email boolean"
)


def t(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


ROWS = [
    # p-late: granted, then withdrew later
    ("p-late", "m1", t(1), t(1), t(1), "FR", True, None),
    ("p-late", "m2", t(3), t(3), t(3), None, False, None),
    # p-clock: a device with its clock years ahead granted; the real later statement withdrew
    ("p-clock", "m3", datetime(2030, 1, 1, tzinfo=UTC), t(2), t(2), None, True, None),
    ("p-clock", "m4", t(4), t(4), t(4), None, False, None),
    # p-tie: same device time; the one received later wins (whatever the input order)
    ("p-tie", "m6", t(2), t(2, 14), t(2, 14), None, False, None),
    ("p-tie", "m5", t(2), t(2, 13), t(2, 13), None, True, None),
    # no statement: default by purpose and region
    ("p-us", "m7", t(1), None, t(1), "us", None, None),
    ("p-de", "m8", t(1), None, t(1), "DE", None, None),
]


@pytest.fixture
def events(spark):
    return spark.createDataFrame(ROWS, SCHEMA)


def _by_person(frame) -> dict[str, dict]:
    return {r["person_id"]: r.asDict() for r in frame.collect()}


def test_the_latest_statement_wins_and_a_fast_clock_does_not(events) -> None:
    got = _by_person(latest_consent(events, ["advertising", "email"], default=False))
    assert got["p-late"]["consent_advertising"] is False
    assert got["p-clock"]["consent_advertising"] is False
    assert got["p-tie"]["consent_advertising"] is False
    assert got["p-late"]["consent_advertising_stated"] is True


def test_ties_are_decided_the_same_whatever_the_input_order(spark) -> None:
    for order in (ROWS, list(reversed(ROWS))):
        frame = spark.createDataFrame(order, SCHEMA).repartition(3)
        got = _by_person(latest_consent(frame, ["advertising"], default=False))
        assert got["p-tie"]["consent_advertising"] is False


def test_no_statement_means_the_default_of_the_purpose_and_region(events) -> None:
    defaults = {"email": {"*": False, "US": True}, "advertising": {"de": True}}
    got = _by_person(latest_consent(events, ["advertising", "email"], False, defaults))
    assert (got["p-us"]["consent_email"], got["p-us"]["consent_email_stated"]) == (True, False)
    assert got["p-de"]["consent_email"] is False
    assert got["p-de"]["consent_advertising"] is True
    assert got["p-us"]["consent_advertising"] is False
    # a stated value beats any default
    assert got["p-late"]["consent_email"] is False
    plain = _by_person(latest_consent(events, ["email"], default=False))
    assert plain["p-us"]["consent_email"] is False


def test_statements_count_until_the_end_of_the_day(events) -> None:
    until_2nd = stated_until(events, date(2026, 3, 2))
    early = _by_person(latest_consent(until_2nd, ["advertising"], False))
    assert early["p-late"]["consent_advertising"] is True  # the withdrawal came on the 3rd
    assert early["p-clock"]["consent_advertising"] is True  # counted when it was received
