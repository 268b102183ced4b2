"""Reading landing files: a leading byte-order mark, a file that cannot be read to its end,
and commerce values outside the configured range."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from dmp.ingest.landing import LandingFile, ParseSettings, parse_files
from dmp.ingest.reasons import QuarantineReason as R
from tests.privacy_key import TEST_ID_KEY

DAY = date(2026, 1, 5)


def _event(n: int, **properties: Any) -> bytes:
    event = {
        "type": "track",
        "event": "Order Completed",
        "messageId": f"m-{n}",
        "timestamp": "2026-01-05T10:00:00Z",
        "anonymousId": f"a-{n}",
        "properties": {"order_id": f"o-{n}", "revenue": 10.0 + n, **properties},
    }
    return json.dumps(event).encode()


def _parse(path: Path, **limits: Any) -> list[dict[str, Any]]:
    settings = ParseSettings.build(
        ingested_at=datetime(2026, 1, 6, tzinfo=UTC),
        min_event_time=date(1990, 1, 1),
        max_future_hours=24,
        max_record_bytes=64 * 1024,
        consent_purposes={"advertising": ["advertising"]},
        default_country_code="1",
        partners={},
        id_key=TEST_ID_KEY,
        **limits,
    )
    relative = f"first_party/dt={DAY}/{path.name}"
    listing = pa.RecordBatch.from_pylist(
        [
            {
                "source": "first_party",
                "landing_date": DAY,
                "path": str(path),
                "relative": relative,
                "size": path.stat().st_size,
            }
        ]
    )
    assert set(listing.schema.names) == set(LandingFile.__dataclass_fields__)
    return [row for batch in parse_files([listing], settings) for row in batch.to_pylist()]


def test_a_leading_bom_is_not_part_of_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _event(1) + b"\n\xef\xbb\xbf" + _event(2) + b"\n")
    rows = _parse(path)
    assert [r["reason"] for r in rows] == [None, R.MALFORMED_JSON]  # only the file's first


def test_a_truncated_gzip_keeps_the_lines_before_and_quarantines_the_rest(
    tmp_path: Path,
) -> None:
    lines = b"\n".join(_event(n) for n in range(2000)) + b"\n"
    whole = gzip.compress(lines, compresslevel=1)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    rows = _parse(path)
    good, bad = rows[:-1], rows[-1]
    assert 0 < len(good) < 2000
    assert all(r["reason"] is None for r in good)
    assert [r["source_line"] for r in good] == list(range(1, len(good) + 1))
    assert bad["reason"] == R.UNREADABLE_FILE and bad["source_line"] == len(good) + 1
    assert "EOFError" in bad["raw_masked"] or "Error" in bad["raw_masked"]


def test_a_file_that_is_not_gzip_at_all_is_one_quarantine_row(tmp_path: Path) -> None:
    path = tmp_path / "fake.jsonl.gz"
    path.write_bytes(_event(1) + b"\n")
    rows = _parse(path)
    assert [(r["reason"], r["source_line"]) for r in rows] == [(R.UNREADABLE_FILE, 1)]


def test_amounts_and_quantities_above_the_limits_are_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    cases = [
        _event(1, price=999_999.99, quantity=100_000),
        _event(2, price=1_000_000.5),
        _event(3, revenue=2_000_000),
        _event(4, total=1e12),
        _event(5, quantity=100_001),
        _event(6, products=[{"product_id": "p", "price": 5e6, "quantity": 1}]),
        _event(7, products=[{"product_id": "p", "price": 5.0, "quantity": 2**40}]),
        _event(8, price=50.0),
    ]
    path.write_bytes(b"\n".join(cases) + b"\n")
    reasons = [r["reason"] for r in _parse(path)]
    out = R.VALUE_OUT_OF_RANGE
    assert reasons == [None, out, out, out, out, out, out, None]
    # The limits are configuration: a marketplace for cars raises them.
    raised = _parse(path, max_amount=1e13, max_quantity=2**31 - 1)
    assert [r["reason"] for r in raised] == [None] * 6 + [out, None]


def test_an_email_used_as_an_id_is_pseudonymised(tmp_path: Path) -> None:
    from dmp.privacy import hmac_sha256_hex, pseudonymous_id

    path = tmp_path / "ids.jsonl"
    forms = [
        (" Jane.Doe@Example.COM ", "u-1"),
        ("mailto:jane.doe@example.com", "anon@localhost"),
        ("Jane Doe <jane.doe@example.com>", "550e8400-e29b-41d4-a716-446655440000"),
        ("jane.doe@example.com;", "a-1"),
        ("jane.doe@example.com.", "a-2"),
        ("tel:+1 (415) 555-0132", "a-3"),
        ("4155550132", "a-4"),
    ]
    lines = []
    for n, (user_id, anonymous_id) in enumerate(forms):
        event = json.loads(_event(n))
        event.update(userId=user_id, anonymousId=anonymous_id)
        lines.append(json.dumps(event).encode())
    path.write_bytes(b"\n".join(lines) + b"\n")
    rows = _parse(path)
    assert [row["reason"] for row in rows] == [None] * len(forms)
    email_id = "email-hmac:" + str(hmac_sha256_hex("jane.doe@example.com", TEST_ID_KEY))
    phone_id = "phone-hmac:" + str(hmac_sha256_hex("+14155550132", TEST_ID_KEY))
    assert [row["user_id"] for row in rows] == [email_id] * 5 + [phone_id] * 2
    # an @ id is hashed even without a dotted domain; opaque ids are kept as sent
    assert [row["anonymous_id"] for row in rows] == [
        "u-1",
        "email-hmac:" + str(hmac_sha256_hex("anon@localhost", TEST_ID_KEY)),
        "550e8400-e29b-41d4-a716-446655440000",
        "a-1",
        "a-2",
        "a-3",
        "a-4",
    ]
    assert pseudonymous_id("u-1", key=TEST_ID_KEY) == "u-1"
    assert pseudonymous_id(None, key=TEST_ID_KEY) is None
