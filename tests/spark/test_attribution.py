"""Event attribution through the identity map: the direct lookup and the late-event branch."""

from __future__ import annotations

from datetime import datetime

from dmp.identity.settings import IdentitySettings
from dmp.profiles.attribution import attribute_events

RULES = IdentitySettings()
T = datetime(2026, 1, 1)
COLUMNS = (
    "source string, message_id string, event_time timestamp, user_id string, "
    "anonymous_id string, previous_id string, device_id string, advertising_id string, "
    "email_sha256 string, phone_sha256 string, partner_uid string"
)
MAP = "id_type string, id_value string, person_id string"
NAMES = ["user_id", "anonymous_id", "previous_id", "device_id", "advertising_id"]
NAMES += ["email_sha256", "phone_sha256", "partner_uid"]


def event(mid: str, **ids: str) -> tuple:
    return ("first_party", mid, T, *(ids.get(n) for n in NAMES))


def owners(spark, rows: list[tuple], mapping: list[tuple]) -> dict[str, str]:
    events = spark.createDataFrame(rows, COLUMNS)
    identity_map = spark.createDataFrame(mapping, MAP)
    attributed = attribute_events(events, identity_map, RULES)
    assert attributed.columns == [*events.columns, "person_id"]
    return {r["message_id"]: r["person_id"] for r in attributed.collect()}


MAPPING = [
    ("user_id", "u1", "P1"),
    ("anonymous_id", "a1", "P1"),
    ("anonymous_id", "a2", "P2"),
    ("device_id", "d2", "P2"),
]


def test_every_strongest_identifier_mapped_takes_the_direct_lookup(spark) -> None:
    rows = [
        event("m1", user_id="u1", anonymous_id="a1"),
        event("m2", anonymous_id="a2"),
        event("m3", anonymous_id=" a2 ", device_id="D2"),  # trimmed; devices lower-cased
        event("m4", anonymous_id="unknown"),  # blocked placeholder: never decides
    ]
    assert owners(spark, rows, MAPPING) == {"m1": "P1", "m2": "P2", "m3": "P2"}


def test_an_unmapped_strongest_identifier_falls_back_to_the_others(spark) -> None:
    # m2's user id arrived after the last identity run: its anonymous id still places it,
    # and the strongest mapped type wins when its ids belong to two persons (m3).
    rows = [
        event("m1", user_id="u1"),
        event("m2", user_id="new-user", anonymous_id="a2"),
        event("m3", user_id="new-user", anonymous_id="a2", device_id="d9", previous_id="a1"),
        event("m4", user_id="nobody-knows"),  # no mapped identifier at all: dropped
    ]
    got = owners(spark, rows, MAPPING)
    assert got["m1"] == "P1"
    assert got["m2"] == "P2"
    assert got["m3"] in {"P1", "P2"}  # both anonymous ids rank alike; one owner, not two
    assert set(got) == {"m1", "m2", "m3"}
