"""The first-party record parser against hand-written Segment/RudderStack spec events."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from dmp.ingest.reasons import QuarantineReason as R
from dmp.ingest.records import ParseContext, parse_first_party_line
from dmp.ingest.schema import PARSED_SCHEMA
from tests.privacy_key import TEST_ID_KEY

FIXTURE = Path(__file__).parents[1] / "fixtures" / "segment_export.jsonl"
CTX = ParseContext(
    source="first_party",
    landing_date=date(2015, 2, 24),
    source_file="first_party/dt=2015-02-24/export.jsonl",
    min_time=datetime(1990, 1, 1, tzinfo=UTC),
    max_time=datetime(2026, 11, 24, tzinfo=UTC),
    ingested_at=datetime(2026, 11, 23, tzinfo=UTC),
    max_record_bytes=64 * 1024,
    consent_purposes={"advertising": ("advertising",), "email": ("email",), "sms": ("sms",)},
    default_country_code="1",
    id_key=TEST_ID_KEY,
)
GOOD = {
    "type": "track",
    "event": "Product Viewed",
    "messageId": "m-1",
    "timestamp": "2026-01-05T10:00:00.000Z",
    "anonymousId": "a-1",
    "properties": {"product_id": "P1", "price": 9.5, "quantity": 1},
}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse(event: object, line: int = 1) -> dict:
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    return parse_first_party_line(raw, line, CTX)


def fixture_rows() -> list[dict]:
    lines = FIXTURE.read_bytes().splitlines()
    return [parse_first_party_line(raw, i + 1, CTX) for i, raw in enumerate(lines)]


def test_a_segment_export_loads_unchanged() -> None:
    rows = fixture_rows()
    assert [r["reason"] for r in rows] == [None] * len(rows)
    assert [r["event_type"] for r in rows] == [
        "page", "identify", "track", "track", "track", "screen", "alias", "group", "track",
    ]  # fmt: skip
    # every row fits the canonical Arrow schema
    table = pa.Table.from_pylist(rows, schema=PARSED_SCHEMA)
    assert table.num_rows == len(rows)


def test_identify_hashes_contact_points_and_keeps_no_clear_text() -> None:
    identify = fixture_rows()[1]
    assert identify["user_id"] == "97980cfea0067"
    assert identify["email_sha256"] == sha("peter.gibbons+initech@gmail.com")
    assert identify["email_sha256_google"] == sha("petergibbons@gmail.com")
    assert identify["phone_sha256"] == sha("18005550100")
    assert identify["phone_sha256_e164"] == sha("+18005550100")
    assert identify["first_name_sha256"] == sha("peter")
    assert (identify["gender"], identify["birth_year"]) == ("m", 1970)
    assert (identify["city"], identify["state"], identify["country"]) == (
        "San Francisco",
        "ca",
        "us",
    )
    text = json.dumps(identify, default=str).lower()
    for secret in ("gibbons", "peter", "800", "555-0100"):
        assert secret not in text.replace(sha("peter.gibbons+initech@gmail.com"), "")


def test_commerce_properties_are_typed() -> None:
    rows = fixture_rows()
    viewed, order, search = rows[2], rows[3], rows[4]
    assert (viewed["product_id"], viewed["category"], viewed["price"]) == (
        "507f1f77bcf86cd799439011",
        "games",
        18.99,
    )
    assert json.loads(viewed["properties_json"])["variant"] == "200 pieces"
    assert (order["order_id"], order["revenue"], order["total"]) == (
        "50314b8e9bcf000000000000",
        25.0,
        27.5,
    )
    assert [(p["product_id"], p["quantity"]) for p in order["products"]] == [
        ("507f1f77bcf86cd799439011", 1),
        ("505bd76785ebb509fc183733", 2),
    ]
    assert "jane.doe@example.com" not in search["search_query"]
    assert search["search_query"].startswith("blue hotpants for <email:")


def test_context_consent_and_channels() -> None:
    rows = fixture_rows()
    page, screen, alias, rudder = rows[0], rows[5], rows[6], rows[8]
    assert page["consent_advertising"] is True and page["consent_email"] is None
    assert page["channel"] == "web" and page["ip_truncated"] == "8.8.8.0"
    assert screen["channel"] == "app"
    assert screen["device_id"] == "b5372db0-c21e-11e4-8dfc-aa07a5b093db"
    assert screen["advertising_id"] == "7a3cbea0-bdf5-11e4-8dfc-aa07a5b093db"
    assert (alias["previous_id"], alias["user_id"]) == ("39239-239239-239239-23923", "507f191e81")
    # RudderStack: empty userId means none; consentManagement; numeric strings
    assert rudder["user_id"] is None and rudder["anonymous_id"] == "8d872292709c6fbe"
    assert (rudder["consent_advertising"], rudder["consent_email"]) == (True, False)
    assert (rudder["price"], rudder["quantity"]) == (12.5, 2)
    assert rudder["email_sha256"] == sha("rudder@example.com")
    assert rudder["event_date"] == date(2020, 1, 9)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"type":"track","messageId":"m\xff\xfe"}', R.INVALID_UTF8),
        (json.dumps({**GOOD, "blob": "x" * 70_000}).encode(), R.OVERSIZED),
        (b'{"type":"track","messageId":"m-1","timest', R.MALFORMED_JSON),
        (b"[1, 2, 3]", R.MALFORMED_JSON),
        (b'"just a string"', R.MALFORMED_JSON),
        ({**GOOD, "type": "trak"}, R.UNKNOWN_TYPE),
        ({k: v for k, v in GOOD.items() if k != "type"}, R.UNKNOWN_TYPE),
        ({**GOOD, "messageId": ""}, R.MISSING_MESSAGE_ID),
        ({k: v for k, v in GOOD.items() if k != "messageId"}, R.MISSING_MESSAGE_ID),
        ({k: v for k, v in GOOD.items() if k != "timestamp"}, R.MISSING_TIMESTAMP),
        ({**GOOD, "timestamp": 1767607200}, R.INVALID_TIMESTAMP),
        ({**GOOD, "timestamp": "not-a-date"}, R.INVALID_TIMESTAMP),
        ({**GOOD, "timestamp": "1970-01-01T00:00:00.000Z"}, R.TIMESTAMP_OUT_OF_RANGE),
        ({**GOOD, "timestamp": "2099-01-01T00:00:00Z"}, R.TIMESTAMP_OUT_OF_RANGE),
        ({k: v for k, v in GOOD.items() if k != "anonymousId"}, R.MISSING_IDENTIFIER),
        ({**GOOD, "userId": {"a": 1}}, R.WRONG_TYPE),
        ({**GOOD, "properties": "oops"}, R.WRONG_TYPE),
        ({**GOOD, "properties": {"price": "abc"}}, R.WRONG_TYPE),
        ({**GOOD, "properties": {"quantity": "two"}}, R.WRONG_TYPE),
        ({**GOOD, "properties": {"price": -3}}, R.NEGATIVE_VALUE),
        ({**GOOD, "properties": {"revenue": -0.01}}, R.NEGATIVE_VALUE),
    ],
)
def test_each_fault_gets_its_reason(raw: object, reason: R) -> None:
    row = parse(raw, line=7)
    assert row["reason"] == reason.value
    assert row["source_line"] == 7 and row["raw_masked"] is not None


def test_quarantined_lines_are_masked_and_keep_the_message_id() -> None:
    bad = {**GOOD, "timestamp": "1970-01-01T00:00:00Z", "traits": {"email": "x.y@example.org"}}
    row = parse(bad)
    assert row["message_id"] == "m-1"
    assert "x.y@example.org" not in row["raw_masked"]
    assert "<email:" in row["raw_masked"]
    assert row.get("email_sha256") is None  # parsed values of a rejected line are dropped


def test_historical_imports_from_the_1990s_are_legitimate() -> None:
    row = parse({**GOOD, "timestamp": "1996-03-01T00:00:00Z"})
    assert row["reason"] is None and row["event_date"] == date(1996, 3, 1)


def test_same_line_same_hash_different_body_different_hash() -> None:
    first, again = parse(GOOD), parse(GOOD)
    other = parse({**GOOD, "event": "Product Added"})
    assert first["message_hash"] == again["message_hash"] != other["message_hash"]


# Faults found by fuzzing (tests/spark/test_ingest_fuzz.py): each used to raise out of the
# parser (or out of the Arrow conversion of its row) and fail the whole ingest stage.


def fits_schema(row: dict) -> None:
    pa.RecordBatch.from_pylist([row], schema=PARSED_SCHEMA)


@pytest.mark.parametrize(
    "timestamp",
    ["0001-01-01T00:00:00+05:00", "0001-01-01T03:00:00+04:00", "9999-12-31T23:59:59-05:00"],
)
def test_a_timestamp_with_no_utc_datetime_is_invalid(timestamp: str) -> None:
    row = parse({**GOOD, "timestamp": timestamp})
    assert row["reason"] == R.INVALID_TIMESTAMP.value
    fits_schema(row)
    lenient = parse({**GOOD, "sentAt": timestamp, "receivedAt": timestamp})
    assert lenient["reason"] is None and lenient["sent_at"] is None
    assert lenient["received_at"] == CTX.ingested_at


def test_an_integer_beyond_the_float_range_is_a_wrong_type() -> None:
    for key in ("price", "revenue", "discount", "quantity"):
        row = parse({**GOOD, "properties": {key: 10**400}})
        assert row["reason"] == R.WRONG_TYPE.value, key
        fits_schema(row)


def test_an_integer_literal_over_the_digit_limit_is_malformed() -> None:
    raw = json.dumps({**GOOD, "properties": {"price": "@"}}).replace('"@"', "9" * 5000)
    row = parse(raw.encode())
    assert row["reason"] == R.MALFORMED_JSON.value
    fits_schema(row)


@pytest.mark.parametrize(
    "change",
    [
        {"event": "Order \ud800"},
        {"messageId": "m-\udfff"},
        {"userId": "u\udbff"},
        {"properties": {"note\udc00": "x"}},
        {"context": {"page": {"title": "\ud800"}}},
        {"traits": {"firstName": "Jo\ud800"}},
        {"integrations": {"\ud800": True}},
    ],
)
def test_a_lone_surrogate_escape_is_invalid_utf8(change: dict) -> None:
    raw = json.dumps({**GOOD, **change}).encode()  # ASCII, with the \\udXXX escape
    assert b"\\ud" in raw
    row = parse(raw)
    assert row["reason"] == R.INVALID_UTF8.value
    assert row["message_id"] is None
    fits_schema(row)


def test_an_escaped_surrogate_pair_is_fine() -> None:
    raw = json.dumps({**GOOD, "event": "Cart 🛒", "properties": {"n": "\\ud800"}}).encode()
    assert b"\\ud83d\\uded2" in raw
    row = parse(raw)
    assert row["reason"] is None and row["event_name"] == "Cart 🛒"
    fits_schema(row)


def test_nesting_near_the_recursion_limit_never_raises() -> None:
    """Whatever the stack depth of the caller (a Spark worker is deeper than pytest), JSON
    nested about as deep as ``json.loads`` accepts is accepted or malformed, never a crash
    (``properties_json`` is re-encoded one call deeper than ``json.loads`` decoded it)."""

    def at_depth(frames: int, raw: bytes) -> dict:
        return parse(raw) if frames == 0 else at_depth(frames - 1, raw)

    head, tail = json.dumps({**GOOD, "properties": {"deep": "@"}}).split('"@"')
    reasons = set()
    for frames in (0, 30, 60):
        for depth in range(880, 1000):
            raw = (head + '{"x":' * depth + "1" + "}" * depth + tail).encode()
            row = at_depth(frames, raw)
            reasons.add(row["reason"])
    assert reasons == {None, R.MALFORMED_JSON.value}


def test_a_partner_time_with_no_utc_datetime_is_invalid() -> None:
    from dmp.ingest.partners import PartnerSpec, parse_partner_line

    spec = PartnerSpec.model_validate(
        {
            "name": "east",
            "columns": ["hash", "seen", "codes"],
            "identifiers": [{"column": "hash", "id_type": "email_sha256"}],
            "time": {"column": "seen", "format": "%Y/%m/%d %H:%M:%S", "timezone": "Asia/Tokyo"},
            "segments": {"column": "codes"},
        }
    )
    row = parse_partner_line(f"{'a' * 64},0001/01/01 00:00:00,c1".encode(), 2, spec, CTX)
    assert row is not None and row["reason"] == R.INVALID_TIMESTAMP.value
    fits_schema(row)


@pytest.mark.parametrize("offset", [0, 3, 8, 12, 19])
def test_an_email_cut_by_the_raw_limit_is_masked_whole(offset: int) -> None:
    from dmp.ingest.partners import PartnerSpec, parse_partner_line

    address = "jane.fuzzer@example.org"
    bad = {**GOOD, "timestamp": "1970-01-01T00:00:00Z", "properties": {"pad": "", "e": address}}
    pad = 4096 - json.dumps(bad).index(address) - offset  # the cut falls inside the address
    bad["properties"]["pad"] = "x" * pad
    row = parse(bad)
    assert row["reason"] == R.TIMESTAMP_OUT_OF_RANGE.value
    assert len(row["raw_masked"]) <= 4096 and "jane" not in row["raw_masked"]

    spec = PartnerSpec.model_validate(
        {
            "name": "cut",
            "columns": ["hash", "seen", "codes"],
            "identifiers": [{"column": "hash", "id_type": "email_sha256"}],
            "time": {"column": "seen", "format": "iso8601"},
            "segments": {"column": "codes"},
        }
    )
    line = f"{'z' * (4096 - 2 - offset)},2026-01-05T10:00:00,{address}".encode()
    partner = parse_partner_line(line, 2, spec, CTX)
    assert partner is not None and partner["reason"] == R.INVALID_IDENTIFIER.value
    assert "jane" not in partner["raw_masked"]


@pytest.mark.parametrize(
    ("value", "stated"),
    [("0", False), ("1", True), ("no", False), ("denied", False), ("off", False),
     (" Granted ", True), ("on", True), ("YES", True), ("opt-out", False), (0, False),
     (1, True), (False, False), ("maybe", None), ("", None), (None, None)],
)  # fmt: skip
def test_consent_words_and_numbers_are_statements(value: object, stated: bool | None) -> None:
    row = parse({**GOOD, "context": {"consent": {"categoryPreferences": {"advertising": value}}}})
    assert row["consent_advertising"] is stated
