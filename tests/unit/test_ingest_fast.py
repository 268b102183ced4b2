"""The fast path agrees with the reference parser on every line it is allowed to take.

The same corpora go through both: the reference (``parse_first_party_line``) and, for lines
the canonical check lets through, the fast path (``FastParser``). Every column of every
such line must be equal. The corpora: a generated world (what dmp is
benchmarked on), the fuzz corpus of ``test_ingest_fuzz.py`` (hundreds of malformed and odd
variants), the Segment fixture export, and hand-made lines aimed at each rule the fast
parser mirrors (whitespace, case, ``or`` fall-backs, e-mail ids, consent, channels...).
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from dmp.generate import WorldSpec, generate_world
from dmp.ingest.fast import FastParser
from dmp.ingest.landing import ParseSettings
from dmp.ingest.records import ParseContext, parse_first_party_line
from dmp.ingest.schema import PARSED_SCHEMA
from tests.privacy_key import TEST_ID_KEY
from tests.spark import test_ingest_fuzz as fuzz

INGESTED_AT = datetime(2026, 1, 20, tzinfo=UTC)
LANDING = date(2026, 1, 6)
PURPOSES = {"advertising": ["advertising", "ads"], "email": ["email"], "sms": ["sms", "text"]}


def settings(country: str = "1") -> ParseSettings:
    return ParseSettings.build(
        ingested_at=INGESTED_AT,
        min_event_time=date(1990, 1, 1),
        max_future_hours=24,
        max_record_bytes=64 * 1024,
        consent_purposes=PURPOSES,
        default_country_code=country,
        partners={},
        id_key=TEST_ID_KEY,
    )


def context(parse: ParseSettings) -> ParseContext:
    from dmp.ingest.landing import LandingFile

    return parse.context(LandingFile("first_party", LANDING, "/x", "first_party/x.jsonl", 0))


def world_lines(home: Path) -> list[bytes]:
    generate_world(WorldSpec(users=200, days=3, seed=3, workers=1), home)
    lines: list[bytes] = []
    for path in sorted((home / "landing" / "first_party").rglob("*.json*")):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            lines += [line.rstrip(b"\r\n") for line in handle if line.strip()]
    return lines


def fuzz_lines(tmp: Path) -> list[bytes]:
    landing = fuzz.Landing(tmp)
    rng = random.Random(fuzz.SEED)
    fuzz.build_first_party(landing, rng, fuzz.Secrets())
    fuzz.add_filler(landing, {}, rng)
    return [
        line
        for relative, lines in landing.files.items()
        if relative.startswith("first_party/")
        for line in lines
        if line.strip()
    ]


def fixture_lines() -> list[bytes]:
    return [line.encode() for line in fuzz.FIXTURE.read_text().splitlines() if line.strip()]


def crafted_lines() -> list[bytes]:
    """Events aimed at each rule the fast path mirrors."""
    base: dict[str, Any] = {
        "type": "track",
        "event": "Product Viewed",
        "messageId": "m-0",
        "timestamp": "2026-01-05T10:00:00.123Z",
        "anonymousId": "a-1",
    }
    variants: list[dict[str, Any]] = []

    def add(**changes: Any) -> None:
        event = json.loads(json.dumps(base))
        event["messageId"] = f"m-{len(variants)}"
        event.update(changes)
        variants.append(event)

    spaces = ["  x  ", "\u3000x\u00a0", "\tx\n", "", " ", "\u200bx\u200b", "\x1cx\x1f"]
    for value in spaces:
        add(userId=value)
        add(anonymousId=value, userId="u-1")
        add(event=value)
        add(messageId=value or "m")
        add(properties={"sku": value, "brand": value, "category": value, "currency": value})
        add(properties={"coupon": value, "coupon_id": "C9"})
        add(context={"channel": value, "userAgent": value, "device": {"id": value}})
        add(context={"device": {"advertisingId": value, "type": value, "model": value}})
    for channel in ["Mobile", " IOS ", "browser", "WEB", "server", "tv", "", None]:
        add(context={"channel": channel, "device": {"id": "d-1"}}, channel="web")
        add(context={"userAgent": "Mozilla"}, channel=channel)
        add(context={"channel": channel})
    for user_id in [
        "Jane.Doe@Example.com",
        " jane@example.com ",
        "jane@localhost",
        "a@b@c.com",
        "@",
        "x@y.z",
        "u-42",
    ]:
        add(userId=user_id)
        add(type="alias", previousId=user_id, userId="u-1")
        add(type="identify", traits={"email": user_id}, userId="u-2")
    add(type="page", name="  Home  ", properties={"path": "/a", "url": "https://x/a?e=j@x.com"})
    add(type="screen", name="Cart", context={"page": {"path": "/p", "title": "T 4155550132"}})
    add(properties={"path": "", "url": ""}, context={"page": {"path": "/fb", "url": "u"}})
    add(properties={"query": "call +1 (415) 555-0132 or mail JANE@x.com", "rating": -2.5})
    add(properties={"query": "order 1234567 at 50% off & more"})
    add(properties={"title": "x" * 700, "referrer": "r" * 1500, "url": "é" * 1100})
    add(properties={"price": 0, "quantity": 0, "revenue": 1000000, "total": 3.5e2, "discount": -1})
    add(properties={"price": -0.0, "products": []})
    add(
        properties={
            "order_id": " o-1 ",
            "products": [
                {"product_id": " P1 ", "sku": " S ", "category": " Toys ", "quantity": 3},
                {"product_id": "", "name": "N", "brand": "B"},
                {},
            ],
        }
    )
    for traits in [
        {"email": " Jane.Doe+tag@GMail.com ", "phone": "(415) 555-0132", "firstName": "Mr. Jane"},
        {"phone": "+44 (0)20 7946 0018", "lastName": "O'Neil Jr.", "first_name": "Ann"},
        {"firstName": "", "first_name": "Bo", "lastName": "", "last_name": "Li"},
        {"gender": " Female ", "birthday": "1990-04-01", "city": "new york", "city_tier": 2},
        {"gender": "x", "birthday": "", "birth_year": "1985", "city_tier": 9},
        {"address": {"city": "SAN  JOSE", "state": "California", "country": "USA"}},
        {"address": {"city": "", "postalCode": "SW1A 1AA", "country": "uk"}, "city": "Leeds"},
        {"address": {"postalCode": "94107-1234", "state": "Bavaria", "country": "de"}},
        {"address": {}, "city": "Lyon", "city_tier": 0},
    ]:
        add(type="identify", userId="u-3", traits=traits)
        add(context={"traits": traits})
    for consent in [
        {"consent": {"categoryPreferences": {"Advertising": True, "email": False}}},
        {"consent": {"categoryPreferences": {" ADS ": False, "advertising": True}}},
        {"consent": {"categoryPreferences": {"sms": True, "text": False}}},
        {"consent": {"categoryPreferences": {}}},
        {"consent": {"categoryPreferences": {"advertising": "denied", "email": "1", "sms": "off"}}},
        {"consentManagement": {"allowedConsentIds": ["Email", "ads"], "deniedConsentIds": []}},
        {"consentManagement": {"allowedConsentIds": ["sms"], "deniedConsentIds": [" SMS"]}},
        {
            "consent": {"categoryPreferences": {"email": True}},
            "consentManagement": {"deniedConsentIds": ["email"]},
        },
    ]:
        add(context=consent)
    for ip in ["203.0.113.77", " 2001:db8:85a3:8d3:1319:8a2e:370:7348 ", "::ffff:1.2.3.4", "x"]:
        add(context={"ip": ip})
    add(context={"locale": "l" * 40, "timezone": "Asia/Shanghai", "library": {"name": "n"}})
    add(context={"campaign": {"source": "s", "medium": " m ", "name": "n" * 300}})
    add(context={"os": {"name": "iOS"}, "app": {"version": "1.2"}})
    add(sentAt="2026-01-05T10:00:01Z", receivedAt="2026-01-05T10:00:02.5Z")
    add(sentAt="2026-02-30T10:00:01Z", receivedAt="2026-02-30T10:00:01Z")
    add(timestamp="2026-01-05T23:59:59.999999Z")
    add(timestamp="2026-01-06T07:30:00.5+08:00", sentAt="2026-01-05T19:00:00-05:00")
    add(timestamp="2026-01-05T00:30:00+01:00", receivedAt="2026-01-05T00:30:01+00:00")
    add(timestamp="1990-01-01T00:00:00Z")
    add(type="group", name="Acme", userId="u-9")
    add(type="identify", userId="u-10")
    return [json.dumps(v, ensure_ascii=i % 2 == 0).encode() for i, v in enumerate(variants)]


def compare(lines: list[bytes], country: str = "1") -> tuple[int, int]:
    """Parse ``lines`` both ways; return (lines, canonical lines) after checking equality."""
    parse = settings(country)
    fast = FastParser(parse.canonical_check())
    ctx = context(parse)
    canonical = 0
    problems = []
    for number, line in enumerate(lines, 1):
        got = fast.parse(line, number, ctx)
        if got is None:
            continue
        canonical += 1
        want = parse_first_party_line(line, number, ctx)
        for name in PARSED_SCHEMA.names:
            if want.get(name) != got.get(name):
                problems.append(f"{name}: reference {want.get(name)!r}, fast {got.get(name)!r}")
                problems.append(f"    line {line[:300]!r}")
    assert not problems, "\n".join(problems[:40])
    return len(lines), canonical


def test_generated_world_lines_agree_and_most_are_canonical(tmp_path: Path) -> None:
    total, canonical = compare(world_lines(tmp_path))
    assert total > 3_000
    assert canonical / total > 0.9  # the fast path carries the bulk of real-shaped data


def test_fuzz_corpus_lines_agree(tmp_path: Path) -> None:
    total, canonical = compare(fuzz_lines(tmp_path))
    assert total > 800
    assert canonical > 200  # the fillers and the odd but valid variants


@pytest.mark.parametrize("country", ["1", "44", "86"])
def test_fixture_and_crafted_lines_agree(country: str) -> None:
    lines = fixture_lines() + crafted_lines()
    total, canonical = compare(lines, country)
    assert canonical > total // 2


def test_the_check_refuses_what_only_the_reference_can_judge() -> None:
    check = settings().canonical_check()
    good = {
        "type": "track",
        "event": "E",
        "messageId": "m",
        "timestamp": "2026-01-05T10:00:00Z",
        "userId": "u",
    }
    assert check(json.dumps(good).encode())
    refused = [
        {**good, "type": "Track"},  # the reference lower-cases it
        {**good, "userId": 42},  # a number as an id
        {**good, "timestamp": "2026-01-05 10:00:00+01:00"},  # another ISO form
        {**good, "timestamp": "1970-01-01T00:00:00Z"},  # out of range
        {**good, "properties": {"price": "9.99"}},  # a number as text
        {**good, "properties": {"price": -1}},  # quarantined
        {**good, "properties": {"quantity": 1.5}},
        {**good, "properties": {"colour": "red"}},  # a custom property
        {**good, "traits": {"email": "a@b.co"}, "context": {"traits": {"phone": "1"}}},
        {**good, "context": {"consent": {"categoryPreferences": {"ads": "yes"}}}},
        {**good, "userId": None, "anonymousId": " "},  # no identifier
        {**good, "name": "\ud800"},  # a lone surrogate
    ]
    for event in refused:
        assert not check(json.dumps(event).encode()), event
    assert not check(json.dumps(good).encode() + b" {}")  # trailing data
    assert not check(b'{"type":"track","messageId":"m","x":' + b"1" * 200 + b"}")
    assert not check(b"[1]" * 100)
