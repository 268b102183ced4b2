"""Fuzzed landing input never crashes ingest, and every line is accounted for (issue 8).

Valid first-party events of every Segment type (from the fixture export) and valid rows of
every configured partner layout (``conf/partners/*.yaml``, built from the spec alone) are
mutated with a fixed seed by composable mutations: dropped fields, wrong JSON types, bad
and out-of-range timestamps, negative and non-finite numbers, lone UTF-16 surrogates,
invalid UTF-8, control characters and NULs, truncation at random offsets, oversized lines,
deep nesting, duplicates and conflicting duplicates, CSV rows with extra or missing columns,
wrong delimiters, open quotes, BOMs, blank lines, CRLF. Each line records the outcomes it
may have: accepted, quarantined (with the set of reasons its faults allow: the first
failing check names the reason, so a composed variant may get any of its faults' reasons),
a duplicate, or not a record (blank lines, headers).

Everything is ingested in one run of the real stage (``dmp.driver.execute``), then every
line is found exactly where its expectation says, and no plaintext e-mail or phone planted
in the input is anywhere under the lake.

The corpus is mostly bad on purpose (~40% of its lines), so the bronze gate's stage check
"quarantined share <= ``ingest.quarantine_ceiling``" (5%) would rightly refuse to publish
it: that is the gate doing its job, not quarantine failing. The run raises that one
ceiling; every other gate check (GX suite on the accepted events, time window) still runs
and must pass: no fuzzed line may get past the parser and then trip the gate.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dmp.config import Settings, load_config
from dmp.driver import run_stage
from dmp.ingest.entry import INGEST, IngestRequest
from dmp.ingest.partners import PartnerSpec, PartnerTime, load_partner_specs
from dmp.ingest.reasons import QuarantineReason as R
from dmp.ingest.stage import IngestResult
from dmp.lake import Lake
from tests.integration.pii_scan import scan_files

SEED = 8
FIXTURE = Path(__file__).parents[1] / "fixtures" / "segment_export.jsonl"
DAYS = (date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7))
EVENT_VARIANTS = 420
PARTNER_VARIANTS = 130  # per partner layout
MIN_EVENT_MALFORMED = 300
MIN_PARTNER_MALFORMED = 150
NESTING_SWEEP = range(900, 1001)  # around Python's recursion limit: accepted or rejected
RAW_KEEP_CHARS = 4096  # quarantined lines keep this many characters (masked)
OVERSIZED = 70_000  # above ingest.max_record_bytes (64 KiB)
FILLER_EVENTS = 400  # plain valid lines mixed in
FILLER_ROWS = 60  # per partner
GATE_OVERRIDE = {"DMP__INGEST__QUARANTINE_CEILING": "1.0"}  # see the module docstring

ACCEPTED = "accepted"
QUARANTINED = "quarantined"
DUPLICATE = "duplicate"
EITHER = "accepted or quarantined"

# ------------------------------------------------------------------------------------------
# expectations and the landing folder


@dataclass(frozen=True)
class Expect:
    """What must become of one landing line."""

    outcome: str
    reasons: frozenset[str] = frozenset()
    kinds: tuple[str, ...] = ()
    message_id: str | None = None
    malformed: bool = False  # a fuzzed variant that must be rejected


def accept(kinds: tuple[str, ...], message_id: str | None = None) -> Expect:
    return Expect(ACCEPTED, kinds=kinds, message_id=message_id)


def reject(reasons: Iterable[str], kinds: tuple[str, ...]) -> Expect:
    """A line to quarantine with any of ``reasons`` (plain strings or QuarantineReason)."""
    return Expect(QUARANTINED, frozenset(str(r) for r in reasons), kinds, malformed=True)


@dataclass
class Landing:
    """Files to write under ``landing/``, line by line, with each line's expectation."""

    root: Path
    files: dict[str, list[bytes]] = field(default_factory=dict)
    expect: dict[tuple[str, int], Expect] = field(default_factory=dict)
    no_final_newline: set[str] = field(default_factory=set)
    raw: dict[str, bytes] = field(default_factory=dict)  # written as is (broken gzip)

    def add(self, relative: str, line: bytes, expect: Expect | None) -> int:
        """Append ``line`` to a file; ``expect`` None means "not a record" (blank, header)."""
        assert b"\n" not in line, "one landing line per call"
        lines = self.files.setdefault(relative, [])
        lines.append(line)
        if expect is not None:
            self.expect[(relative, len(lines))] = expect
        return len(lines)

    def touch(self, relative: str) -> None:
        self.files.setdefault(relative, [])

    def write(self) -> None:
        for relative, lines in self.files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            data = b"\n".join(lines)
            if lines and relative not in self.no_final_newline:
                data += b"\n"
            path.write_bytes(gzip.compress(data, mtime=0) if relative.endswith(".gz") else data)
        for relative, data in self.raw.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def records(self) -> dict[tuple[str, int], Expect]:
        return self.expect


def first_party_file(day: date, name: str) -> str:
    return f"first_party/dt={day.isoformat()}/{name}"


def partner_file(partner: str, day: date, name: str) -> str:
    return f"partners/{partner}/dt={day.isoformat()}/{name}"


# ------------------------------------------------------------------------------------------
# personal data planted in the input (it must never reach the lake in clear text)


@dataclass
class Secrets:
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    cut_local_parts: list[str] = field(default_factory=list)  # e-mails cut at 4096 chars
    # contact data of the fixture export, which the fuzzed variants carry too
    fixed: tuple[str, ...] = (
        "peter.gibbons+initech@gmail.com",
        "jane.doe@example.com",
        "rudder@example.com",
        "8005550100",
        "18005550100",
        "+18005550100",
    )

    def email(self) -> str:
        address = f"fz.person.{len(self.emails):04d}@example.org"
        self.emails.append(address)
        return address

    def phone(self) -> str:
        number = f"+1 (415) 555-{len(self.phones) % 10_000:04d}"
        self.phones.append(number)
        return number

    def tokens(self) -> list[str]:
        """Lower-cased e-mails and phone digits with and without ``+``, as pii_scan wants."""
        found = {e.lower() for e in self.emails} | set(self.fixed)
        for phone in self.phones:
            digits = "".join(ch for ch in phone if ch.isdigit())
            found |= {digits, "+" + digits, digits[1:]}
        return sorted(found)


# ------------------------------------------------------------------------------------------
# first-party events

RAW_KEY = "__raw_literals__"  # placeholder -> JSON literal spliced in after json.dumps


def fixture_events() -> list[dict[str, Any]]:
    events = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    assert {e["type"] for e in events} >= {"track", "identify", "page", "screen", "alias", "group"}
    return events


def fresh(base: dict[str, Any], message_id: str, when: datetime) -> dict[str, Any]:
    event = copy.deepcopy(base)
    event["messageId"] = message_id
    event["timestamp"] = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return event


def random_time(rng: random.Random) -> datetime:
    day = rng.choice(DAYS)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(seconds=rng.randrange(86_400), milliseconds=rng.randrange(1000))


def serialize(event: dict[str, Any], rng: random.Random) -> bytes:
    literals: dict[str, bytes] = event.pop(RAW_KEY, {})
    try:
        text = json.dumps(event, ensure_ascii=rng.random() < 0.3, separators=(",", ":"))
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: only their \\u escape is valid JSON text
        data = json.dumps(event, ensure_ascii=True, separators=(",", ":")).encode()
    for placeholder, literal in literals.items():
        data = data.replace(json.dumps(placeholder).encode(), literal)
    return data


def raw_literal(event: dict[str, Any], literal: bytes) -> str:
    """A placeholder value that ``serialize`` replaces with ``literal`` (e.g. 5000 digits)."""
    literals = event.setdefault(RAW_KEY, {})
    placeholder = f"@@raw{len(literals)}@@"
    literals[placeholder] = literal
    return placeholder


def props(event: dict[str, Any]) -> dict[str, Any]:
    current = event.get("properties")
    if not isinstance(current, dict):
        current = {}
        event["properties"] = current
    return current


def nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"x": value}
    return value


def nested_text(depth: int) -> bytes:
    """``depth`` nested objects as JSON text (too deep for json.dumps near the limit)."""
    return b'{"x":' * depth + b"1" + b"}" * depth


def name_key(event: dict[str, Any]) -> str:
    return "event" if event.get("type") == "track" else "name"


WRONG_TYPES: tuple[Any, ...] = (1.5, True, False, [1, 2], {"a": 1}, [])
Mutator = Callable[[Any, random.Random], Any]


@dataclass(frozen=True)
class Mutation:
    """One fault (``reasons`` set) or one tolerated oddity (``reasons`` None).

    Mutations of one variant touch different ``slot``s so none undoes another; ``bytes``
    and ``frame`` mutations work on the serialized line, the others on the event object.
    """

    name: str
    slot: str
    reasons: frozenset[str] | None
    apply: Mutator
    solo: bool = False


def m(name: str, slot: str, reasons: set[R] | None, apply: Mutator, solo: bool = False) -> Mutation:
    return Mutation(
        name, slot, None if reasons is None else frozenset(r.value for r in reasons), apply, solo
    )


def _setter(key: str, values: tuple[Any, ...]) -> Mutator:
    def apply(event: dict[str, Any], rng: random.Random) -> None:
        event[key] = rng.choice(values)

    return apply


def _prop_setter(key: str, values: tuple[Any, ...]) -> Mutator:
    def apply(event: dict[str, Any], rng: random.Random) -> None:
        props(event)[key] = rng.choice(values)

    return apply


def _pop(*keys: str) -> Mutator:
    def apply(event: dict[str, Any], rng: random.Random) -> None:
        for key in keys:
            event.pop(key, None)

    return apply


def _ts_in_zone(event: dict[str, Any], rng: random.Random) -> None:
    when = random_time(rng)
    offset = timedelta(minutes=rng.choice([-720, -480, -210, 0, 330, 345, 540, 840]))
    local = when.astimezone(UTC).replace(tzinfo=None) + offset
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds() // 60))
    zone = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    formats: tuple[Callable[[], str], ...] = (
        lambda: local.isoformat() + zone,
        lambda: local.strftime("%Y-%m-%dT%H:%M:%S.%f") + "789" + zone.replace(":", ""),
        lambda: when.strftime("%Y-%m-%d %H:%M:%S"),  # naive: taken as UTC
        lambda: when.strftime("%Y%m%dT%H%M%SZ"),
        lambda: f"  {when.strftime('%Y-%m-%dT%H:%M:%SZ')}  ",
        lambda: when.strftime("%Y-%m-%d"),
    )
    event["timestamp"] = rng.choice(formats)()


def _ids_wrong(event: dict[str, Any], rng: random.Random) -> None:
    event[rng.choice(["userId", "anonymousId"])] = rng.choice(WRONG_TYPES)


def _name_wrong(event: dict[str, Any], rng: random.Random) -> None:
    event[name_key(event)] = rng.choice((5, 1.5, True, ["Order Completed"], {"n": 1}))


def _name_odd(event: dict[str, Any], rng: random.Random) -> None:
    event[name_key(event)] = rng.choice(
        ("Product\u0000Viewed", "\u202eweiV tcudorP", "Produkt angesehen 🛒", "\t x \u2028", "")
    )


def _name_huge(event: dict[str, Any], rng: random.Random) -> None:
    event[name_key(event)] = "N" * rng.randrange(20_000, 50_000)


def _products_bad(event: dict[str, Any], rng: random.Random) -> None:
    props(event)["products"] = rng.choice(
        ("one", 3, {"product_id": "P1"}, [1], ["P1"], [{"quantity": 1.5}], [{"sku": [1]}])
    )


def _products_negative(event: dict[str, Any], rng: random.Random) -> None:
    props(event)["products"] = [{"product_id": "P1", "price": -rng.uniform(0.01, 99)}]


def _huge_int(event: dict[str, Any], rng: random.Random) -> None:
    props(event)[rng.choice(["price", "revenue", "total"])] = 10 ** rng.randrange(309, 4000)


def _number_literal(event: dict[str, Any], rng: random.Random) -> None:
    literal = rng.choice((b"1e400", b"-1e400", b"Infinity", b"NaN", b"-Infinity"))
    props(event)[rng.choice(["price", "quantity", "revenue", "rating"])] = raw_literal(
        event, literal
    )


def _digits_over_limit(event: dict[str, Any], rng: random.Random) -> None:
    """An integer literal longer than Python's int-to-str limit (4300 digits)."""
    props(event)["price"] = raw_literal(event, b"9" * rng.randrange(4301, 20_000))


def _props_extra(event: dict[str, Any], rng: random.Random) -> None:
    props(event).update(
        rng.choice(
            (
                {"nested": nest(rng.randrange(2, 200))},
                {"nan": math.nan, "inf": -math.inf, "big": 10**300},
                {"ключ": "значение", "emoji🛒": ["🛒"] * 3, "": None},
                {"list": list(range(2000))},
                {"price": "12.50", "quantity": " 3 ", "revenue": "0"},
                {"price": -0.0, "discount": -5, "rating": 1e300, "category": 7},
                # at the configured limits (ingest.max_amount, ingest.max_quantity)
                {"price": 999_999.99, "quantity": 100_000.0, "revenue": 1e6, "category": True},
            )
        )
    )


def _props_huge(event: dict[str, Any], rng: random.Random) -> None:
    props(event)["blob"] = "b" * rng.randrange(30_000, 60_000)


def _traits_odd(event: dict[str, Any], rng: random.Random) -> None:
    event["traits"] = rng.choice(
        (
            {"email": 12345, "phone": [1], "birthday": "abc", "city_tier": 99, "address": "x"},
            {"firstName": 12, "gender": 5, "birthday": True, "address": {"city": ["x"]}},
            {"birth_year": 10**300, "city_tier": True, "address": {"country": 5}},
        )
    )


def _context_odd(event: dict[str, Any], rng: random.Random) -> None:
    event["context"] = rng.choice(
        (
            {"ip": 12345, "userAgent": {"a": 1}, "library": "x", "page": 5, "channel": 9},
            {"consent": "yes", "consentManagement": {"allowedConsentIds": "advertising"}},
            {"consent": {"categoryPreferences": {"Advertising": "maybe", "Email": [1]}}},
            {"ip": "999.1.1.1", "locale": ["en"], "os": [], "campaign": "x", "device": {}},
            {"ip": "garbage", "timezone": "\u0000" * 80, "app": {"version": 10**300}},
        )
    )


def _sent_odd(event: dict[str, Any], rng: random.Random) -> None:
    event[rng.choice(["sentAt", "receivedAt"])] = rng.choice(
        (
            "garbage",
            12345,
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
        )
    )


def _extra_top(event: dict[str, Any], rng: random.Random) -> None:
    event.update(
        rng.choice(
            (
                {"integrations": math.nan},
                {"fuzz": {"deep": nest(rng.randrange(50, 300))}},
                {"": 1, "weird key \u0000": "v"},
                {"channel": ["web"], "version": 10**100},
            )
        )
    )


def _type_case(event: dict[str, Any], rng: random.Random) -> None:
    event["type"] = f"  {str(event['type']).upper()} "


def _mid_int(event: dict[str, Any], rng: random.Random) -> None:
    event["messageId"] = 9_000_000_000 + int(str(event["messageId"]).split("-")[-1])


def _mid_padded(event: dict[str, Any], rng: random.Random) -> None:
    event["messageId"] = f"  {event['messageId']}\t"


def _anon_only(event: dict[str, Any], rng: random.Random) -> None:
    event["userId"] = rng.choice(("", "   ", None))
    event["anonymousId"] = f"anon-{rng.getrandbits(40):x}"
    if event.get("type") == "alias":
        event.pop("previousId", None)


def _uid_number(event: dict[str, Any], rng: random.Random) -> None:
    event["userId"] = rng.randrange(1, 10**12)


def _surrogate(where: str) -> Mutator:
    def apply(event: dict[str, Any], rng: random.Random) -> None:
        lone = rng.choice(("\ud800", "\udfff", "\udc00x", "x\udbff"))
        if where == "name":
            event[name_key(event)] = f"Order {lone}"
        elif where == "ids":
            event["userId"] = f"u{lone}"
        elif where == "messageId":
            event["messageId"] = f"{event['messageId']}{lone}"
        elif where == "properties":
            props(event)[rng.choice([f"k{lone}", "note"])] = f"v{lone}"
        elif where == "traits":
            event["traits"] = {"firstName": f"Jo{lone}", "city": lone}
        elif where == "context":
            event["context"] = {"page": {"title": lone}, "library": {"name": lone}}
        else:
            event["integrations"] = {lone: True}

    return apply


# byte-level mutations of the serialized line


def _truncate(line: bytes, rng: random.Random) -> bytes:
    return line[: rng.randrange(1, len(line))]


def _invalid_utf8(line: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(0, len(line) + 1)
    bad = rng.choice(
        (b"\xff", b"\xfe\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80", b"\xe2\x82")
    )
    return line[:at] + bad + line[at:]


def _control_in_string(line: bytes, rng: random.Random) -> bytes:
    starts = [i + 3 for i in range(len(line)) if line.startswith(b'":"', i)] or [1]
    at = rng.choice(starts)
    ctrl = rng.choice((b"\x00", b"\x01", b"\x07", b"\x08", b"\x0b", b"\x0c", b"\x1b", b"\x1f"))
    return line[:at] + ctrl * rng.randrange(1, 4) + line[at:]


def _nul_anywhere(line: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(0, len(line) + 1)
    return line[:at] + b"\x00" + line[at:]


def _wrap(line: bytes, rng: random.Random) -> bytes:
    text = line.decode("utf-8")
    return rng.choice(
        (
            lambda: b"[" + line + b"]",
            lambda: json.dumps(text).encode(),
            lambda: b"{" + line,
            lambda: line + b"}",
            lambda: line + b' {"more":1}',
            lambda: b"\xef\xbb\xbf" + line,  # a BOM inside a file
            lambda: b"\x0c" + line,  # form feed is no JSON whitespace
            lambda: text.replace('"', "'").encode(),
            lambda: rng.choice((b"42", b"null", b"true", b'"text"', b"{}x", b"{,}")),
        )
    )()


def _frame(line: bytes, rng: random.Random) -> bytes:
    return rng.choice(
        (b"  " + line, b"\t" + line, line + b"\r", line + b"   ", b" " + line + b" \t\r")
    )


EVENT_MUTATIONS: tuple[Mutation, ...] = (
    # type
    m("type_missing", "type", {R.UNKNOWN_TYPE}, _pop("type")),
    m("type_wrong_json_type", "type", {R.UNKNOWN_TYPE}, _setter("type", (*WRONG_TYPES, None, 7))),
    m(
        "type_unknown",
        "type",
        {R.UNKNOWN_TYPE},
        _setter("type", ("trak", "event", "", "tracks", "delete", "t\u0000rack", "Trаck")),
    ),
    m("type_case_and_spaces", "type", None, _type_case),
    # messageId
    m("message_id_missing", "messageId", {R.MISSING_MESSAGE_ID}, _pop("messageId")),
    m(
        "message_id_blank",
        "messageId",
        {R.MISSING_MESSAGE_ID},
        _setter("messageId", ("", "   ", None, "\t")),
    ),
    m("message_id_wrong_type", "messageId", {R.WRONG_TYPE}, _setter("messageId", WRONG_TYPES)),
    m("message_id_integer", "messageId", None, _mid_int),
    m("message_id_padded", "messageId", None, _mid_padded),
    # timestamp
    m("timestamp_missing", "timestamp", {R.MISSING_TIMESTAMP}, _pop("timestamp")),
    m("timestamp_null", "timestamp", {R.MISSING_TIMESTAMP}, _setter("timestamp", (None,))),
    m(
        "timestamp_wrong_type",
        "timestamp",
        {R.INVALID_TIMESTAMP},
        _setter("timestamp", (1767607200000, 1767607200, *WRONG_TYPES)),
    ),
    m(
        "timestamp_unparseable",
        "timestamp",
        {R.INVALID_TIMESTAMP},
        _setter(
            "timestamp",
            (
                "yesterday",
                "2026-02-30T10:00:00Z",
                "2026-13-01",
                "01/05/2026 10:00",
                "2026-01-05 25:61:00",
                "",
                "   ",
                "2026-01-05T10:00:00+25:00",
                "Mon, 05 Jan 2026 10:00:00 GMT",
                "2026-01-05T10:00:00 UTC",
                "1767607200",
                "NaN",
                "2026-01-05T10:00:00Z" * 3,
            ),
        ),
    ),
    m(
        "timestamp_too_old",
        "timestamp",
        {R.TIMESTAMP_OUT_OF_RANGE},
        _setter(
            "timestamp",
            (
                "1970-01-01T00:00:00.000Z",
                "1970-01-01T00:00:00Z",
                "1989-12-31T23:59:59Z",
                "1990-01-01T00:30:00+01:00",
                "1900-06-15T08:30:00Z",
                "0001-01-01T00:00:00Z",
            ),
        ),
    ),
    m(
        "timestamp_far_future",
        "timestamp",
        {R.TIMESTAMP_OUT_OF_RANGE},
        _setter(
            "timestamp",
            (
                "2099-01-01T00:00:00Z",
                "9999-12-31T23:59:59Z",
                (datetime.now(UTC) + timedelta(days=3)).isoformat(),
            ),
        ),
    ),
    m(
        "timestamp_beyond_utc_range",
        "timestamp",
        {R.INVALID_TIMESTAMP, R.TIMESTAMP_OUT_OF_RANGE},
        _setter(
            "timestamp",
            (
                "0001-01-01T00:00:00+05:00",
                "0001-01-01T03:00:00+04:00",
                "9999-12-31T23:59:59-05:00",
            ),
        ),
    ),
    m("timestamp_in_time_zones", "timestamp", None, _ts_in_zone),
    m(
        "timestamp_1990_boundary",
        "timestamp",
        None,
        _setter("timestamp", ("1990-01-01T00:00:00Z", "1990-01-01T01:00:00+01:00")),
    ),
    # identifiers
    m(
        "identifiers_missing",
        "ids",
        {R.MISSING_IDENTIFIER},
        _pop("userId", "anonymousId", "previousId"),
    ),
    m("identifier_wrong_type", "ids", {R.WRONG_TYPE}, _ids_wrong),
    m("anonymous_only", "ids", None, _anon_only),
    m("user_id_number", "ids", None, _uid_number),
    # event / page name
    m("name_wrong_type", "name", {R.WRONG_TYPE}, _name_wrong),
    m("name_odd_text", "name", None, _name_odd),
    m("name_huge", "name", None, _name_huge, solo=True),
    # properties
    m(
        "properties_not_an_object",
        "properties",
        {R.WRONG_TYPE},
        _setter("properties", ("oops", [1, 2], 3, True, [])),
    ),
    m(
        "price_wrong_type",
        "properties",
        {R.WRONG_TYPE},
        _prop_setter("price", ("abc", "", "12,50", [9.5], {"amount": 1}, True, "1O")),
    ),
    m(
        "quantity_not_an_integer",
        "properties",
        {R.WRONG_TYPE},
        _prop_setter("quantity", ("two", 1.5, [1], "3.5", "1e3.5")),
    ),
    m(
        "amount_out_of_range",
        "properties",
        {R.VALUE_OUT_OF_RANGE},
        lambda e, rng: props(e).update(
            rng.choice(
                (
                    {"price": rng.choice((1_000_000.01, 5e7, "2e9"))},
                    {"revenue": rng.choice((1e7, 3.5e12))},
                    {"total": 1e15},
                    {"quantity": rng.choice((100_001, 2**31, 10**30))},
                    {"products": [{"product_id": "p1", "price": 1e8, "quantity": 1}]},
                    {"products": [{"product_id": "p1", "price": 10.0, "quantity": 10**6}]},
                )
            )
        ),
    ),
    m(
        "other_typed_property_wrong",
        "properties",
        {R.WRONG_TYPE},
        lambda e, rng: props(e).update(
            {rng.choice(["category", "brand", "coupon", "sku"]): rng.choice(([1], {"a": 1}))}
        ),
    ),
    m(
        "number_property_wrong",
        "properties",
        {R.WRONG_TYPE},
        lambda e, rng: props(e).update(
            {rng.choice(["revenue", "total", "discount", "rating"]): rng.choice(("x", [1], {}))}
        ),
    ),
    m(
        "price_non_finite",
        "properties",
        {R.WRONG_TYPE},
        _prop_setter("price", (math.nan, math.inf, -math.inf, "NaN", "inf", "-Infinity")),
    ),
    m("number_literal_non_finite", "properties", {R.WRONG_TYPE}, _number_literal),
    m("number_too_big_for_a_float", "properties", {R.WRONG_TYPE}, _huge_int),
    m("integer_literal_over_4300_digits", "properties", {R.MALFORMED_JSON}, _digits_over_limit),
    m(
        "price_negative",
        "properties",
        {R.NEGATIVE_VALUE},
        _prop_setter("price", (-0.01, -1e9, "-5", -1)),
    ),
    m(
        "amount_negative",
        "properties",
        {R.NEGATIVE_VALUE},
        lambda e, rng: props(e).update(
            {rng.choice(["revenue", "total", "quantity"]): -rng.randrange(1, 1000)}
        ),
    ),
    m("products_malformed", "properties", {R.WRONG_TYPE}, _products_bad),
    m("product_price_negative", "properties", {R.NEGATIVE_VALUE}, _products_negative),
    m("properties_odd_but_valid", "properties", None, _props_extra),
    m("properties_huge_but_fits", "properties", None, _props_huge, solo=True),
    # traits and context
    m("traits_not_an_object", "traits", {R.WRONG_TYPE}, _setter("traits", ("x", [1], 5, True))),
    m("traits_odd_but_valid", "traits", None, _traits_odd),
    m(
        "context_not_an_object",
        "context",
        {R.WRONG_TYPE},
        _setter("context", ("x", [1], 5, {"traits": "x"}, {"device": [1]}, {"traits": [1]})),
    ),
    m("context_odd_but_valid", "context", None, _context_odd),
    m("sent_or_received_at_odd", "sentAt", None, _sent_odd),
    m("extra_fields", "extra", None, _extra_top),
    # lone UTF-16 surrogates: JSON text that decodes to no valid Unicode
    *(
        m(f"lone_surrogate_in_{where}", where, {R.INVALID_UTF8}, _surrogate(where))
        for where in ("name", "ids", "messageId", "properties", "traits", "context", "extra")
    ),
    # size
    m(
        "oversized",
        "size",
        {R.OVERSIZED},
        lambda e, rng: e.update(padding="p" * rng.randrange(OVERSIZED, 4 * OVERSIZED)),
    ),
    # the serialized line
    m("truncated", "bytes", {R.MALFORMED_JSON, R.INVALID_UTF8}, _truncate),
    m("invalid_utf8_bytes", "bytes", {R.INVALID_UTF8}, _invalid_utf8),
    m("control_chars_in_string", "bytes", {R.MALFORMED_JSON}, _control_in_string),
    m("nul_byte", "bytes", {R.MALFORMED_JSON, R.INVALID_UTF8}, _nul_anywhere),
    m("not_a_json_object", "bytes", {R.MALFORMED_JSON}, _wrap),
    m("whitespace_and_crlf", "frame", None, _frame),
)
_OBJECT_ORDER = ("messageId", "ids", "name", "properties", "traits", "context", "sentAt", "extra")


def event_variant(
    base: dict[str, Any], n: int, rng: random.Random
) -> tuple[bytes, tuple[str, ...], frozenset[str] | None, dict[str, Any]]:
    """One fuzzed line: 1-3 mutations on distinct slots; reasons None when still valid."""
    event = fresh(base, f"fz-{n:05d}", random_time(rng))
    count = rng.choice((1, 1, 1, 2, 2, 3))
    chosen: list[Mutation] = []
    for _ in range(50):
        if len(chosen) == count:
            break
        mutation = rng.choice(EVENT_MUTATIONS)
        if mutation.solo and (chosen or count > 1):
            continue
        if mutation.slot in {c.slot for c in chosen}:
            continue
        chosen.append(mutation)
    rank = {slot: i for i, slot in enumerate(_OBJECT_ORDER)}
    on_object = sorted(
        (c for c in chosen if c.slot not in ("bytes", "frame")),
        key=lambda c: rank.get(c.slot, len(rank)),  # ``type`` last: names depend on it
    )
    for mutation in on_object:
        mutation.apply(event, rng)
    final = {k: v for k, v in event.items() if k != RAW_KEY}
    line = serialize(event, rng)
    for slot in ("bytes", "frame"):
        for mutation in chosen:
            if mutation.slot == slot:
                line = mutation.apply(line, rng)
    faults = [c.reasons for c in chosen if c.reasons is not None]
    reasons = frozenset().union(*faults) if faults else None
    return line, tuple(c.name for c in chosen), reasons, final


def message_id_of(event: dict[str, Any]) -> str | None:
    value = event.get("messageId")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def build_first_party(landing: Landing, rng: random.Random, secrets: Secrets) -> None:
    """Fuzzed events, PII plants, nesting sweep, duplicates and file-level oddities."""
    bases = fixture_events()
    files = [
        first_party_file(DAYS[0], "fuzz-a.jsonl"),
        first_party_file(DAYS[0], "fuzz-b.jsonl.gz"),
        first_party_file(DAYS[1], "fuzz-c.ndjson"),
    ]
    valid: list[tuple[str, int, bytes, dict[str, Any]]] = []
    rejected: list[tuple[bytes, Expect]] = []
    for n in range(EVENT_VARIANTS):
        base = bases[n % len(bases)]
        line, kinds, reasons, final = event_variant(base, n, rng)
        target = files[n % len(files)]
        if rng.random() < 0.05:  # blank lines are not records
            landing.add(target, rng.choice((b"", b"   ", b"\t", b"\r")), None)
        if reasons is None:
            expect = accept(kinds, message_id_of(final))
            number = landing.add(target, line, expect)
            if not kinds or "name_huge" not in kinds:
                valid.append((target, number, line, final))
        else:
            expect = reject(reasons, kinds)
            landing.add(target, line, expect)
            rejected.append((line, expect))

    plants = first_party_file(DAYS[1], "pii.jsonl")
    for n, base in enumerate(bases):
        # rejected lines carrying contact data in traits and free text
        event = fresh(base, f"pii-{n}", random_time(rng))
        event["timestamp"] = "1970-01-01T00:00:00Z"
        event["traits"] = {"email": secrets.email(), "phone": secrets.phone()}
        props(event)["query"] = f"call {secrets.phone()} or mail {secrets.email()}"
        line = serialize(event, rng)
        landing.add(plants, line, reject({R.TIMESTAMP_OUT_OF_RANGE}, ("pii_in_rejected",)))
        half = line[: len(line) // 2]
        landing.add(plants, half, reject({R.MALFORMED_JSON, R.INVALID_UTF8}, ("pii_truncated",)))
        # valid lines: contact points are hashed, never kept
        event = fresh(base, f"pii-ok-{n}", random_time(rng))
        event["traits"] = {"email": secrets.email(), "phone": secrets.phone()}
        landing.add(plants, serialize(event, rng), accept(("pii_in_valid",), f"pii-ok-{n}"))
    for cut in range(-4, 30, 2):
        # an e-mail and a phone straddling the 4096th character of a quarantined line
        event = fresh(bases[2], f"pii-cut-{cut}", random_time(rng))
        event["timestamp"] = "1970-01-01T00:00:00Z"
        address = secrets.email()
        secrets.cut_local_parts.append(address.split("@")[0])
        event["properties"] = {"pad": "", "email": address, "note": f"tel {secrets.phone()}"}
        probe = json.dumps(event, separators=(",", ":"))
        pad = RAW_KEEP_CHARS - probe.index(address) - (cut % len(address))
        event["properties"]["pad"] = "x" * pad
        line = json.dumps(event, separators=(",", ":")).encode()
        landing.add(plants, line, reject({R.TIMESTAMP_OUT_OF_RANGE}, ("pii_at_4096",)))

    sweep = first_party_file(DAYS[2], "nesting.jsonl")
    for depth in NESTING_SWEEP:
        event = fresh(bases[2], f"nest-{depth}", random_time(rng))
        event["properties"] = {"deep": raw_literal(event, nested_text(depth))}
        expect = Expect(EITHER, frozenset({R.MALFORMED_JSON.value}), ("deep_nesting",))
        landing.add(sweep, serialize(event, rng), expect)
        if depth % 10 == 0:  # nested in a field the parser ignores
            event = fresh(bases[0], f"nest-top-{depth}", random_time(rng))
            event["fuzz"] = raw_literal(event, nested_text(depth))
            landing.add(sweep, serialize(event, rng), expect)

    # duplicates: exact copies are dropped (counted), same messageId + other body conflicts
    resend = first_party_file(DAYS[2], "zz-resend.jsonl")
    for target, _, line, _final in rng.sample(valid, 12):
        landing.add(rng.choice((target, resend)), line, Expect(DUPLICATE, kinds=("exact_copy",)))
    for _, _, _line, final in rng.sample(valid, 12):
        changed = copy.deepcopy(final)
        props(changed)["resent"] = True
        if isinstance(changed.get("messageId"), str) and rng.random() < 0.5:
            changed["messageId"] = f" {changed['messageId']} "
        elif isinstance(changed.get("messageId"), int):
            changed["messageId"] = str(changed["messageId"])
        landing.add(resend, serialize(changed, rng), reject({R.DUPLICATE_CONFLICT}, ("conflict",)))
    for line, expect in rng.sample(rejected, 8):  # bad lines are never deduplicated
        landing.add(resend, line, expect)

    # file-level oddities
    good = fresh(bases[0], "file-bom", random_time(rng))
    bom = first_party_file(DAYS[0], "bom.jsonl")
    # a byte-order mark at the start of a file is not part of the first line
    landing.add(bom, b"\xef\xbb\xbf" + serialize(good, rng), accept(("file_bom",)))
    crlf = first_party_file(DAYS[0], "crlf.json")
    no_newline = first_party_file(DAYS[1], "no-final-newline.jsonl")
    for n in range(5):
        for target in (crlf, no_newline):
            event = fresh(bases[n], f"{'crlf' if target == crlf else 'nonl'}-{n}", random_time(rng))
            suffix = b"\r" if target == crlf else b""
            landing.add(target, serialize(event, rng) + suffix, accept(("file_framing",)))
    landing.no_final_newline.add(no_newline)
    # a .gz file that is not gzip: one row stands for the unreadable file
    not_gzip = first_party_file(DAYS[1], "not-gzip.jsonl.gz")
    landing.raw[not_gzip] = serialize(fresh(bases[1], "not-gzip", random_time(rng)), rng)
    landing.expect[(not_gzip, 1)] = reject({R.UNREADABLE_FILE}, ("not_gzip",))
    landing.touch(first_party_file(DAYS[1], "empty.jsonl"))
    for _ in range(5):
        landing.add(first_party_file(DAYS[1], "blank.jsonl"), b"  \r", None)
    # not landing files: never read, so nothing from them may show up
    landing.files[first_party_file(DAYS[0], "_SUCCESS")] = [b"garbage"]
    landing.files[first_party_file(DAYS[0], ".part-0.jsonl")] = [b"{garbage"]
    landing.files[first_party_file(DAYS[0], "notes.txt")] = [b"{garbage"]


# ------------------------------------------------------------------------------------------
# partner rows, built from each partner's spec


def render_time(naive: datetime, spec: PartnerTime) -> str:
    """A wall-clock time as the partner writes it (epoch formats read ``naive`` as UTC)."""
    if spec.format in ("epoch_millis", "epoch_seconds"):
        unit = timedelta(milliseconds=1) if spec.format == "epoch_millis" else timedelta(seconds=1)
        return str((naive - datetime(1970, 1, 1)) // unit)
    if spec.format == "iso8601":
        return naive.isoformat()
    return naive.strftime(spec.format.replace("%Y", f"{naive.year:04d}"))


def local_naive(when: datetime, spec: PartnerTime) -> datetime:
    if spec.format in ("epoch_millis", "epoch_seconds"):
        return when.astimezone(UTC).replace(tzinfo=None)
    return when.astimezone(ZoneInfo(spec.timezone)).replace(tzinfo=None)


def valid_identifier(id_type: str, rng: random.Random) -> str:
    if id_type in ("email_sha256", "phone_sha256"):
        return hashlib.sha256(rng.randbytes(16)).hexdigest()
    if id_type == "advertising_id":
        return str(uuid.UUID(int=rng.getrandbits(128)))
    return f"uid{rng.getrandbits(64):x}"


def invalid_identifier(id_type: str, rng: random.Random, secrets: Secrets) -> str:
    good = valid_identifier(id_type, rng)
    # (an e-mail is printable ASCII: a valid partner_uid, so it is planted in hashes only)
    common = (secrets.phone(), "ctl\x07id", "nul\x00id", "é" * 8)
    if id_type in ("email_sha256", "phone_sha256"):
        specific: tuple[str, ...] = (secrets.email(), "zz" + good[2:], good[:40], good + "0")
    elif id_type == "advertising_id":
        specific = (secrets.email(), "not-a-maid", good.replace("-", ""), "{" + good + "}")
    else:
        specific = ("has space", "x" * 129, "tab\there", "del\x7f")
    return rng.choice((*common, *specific))


def valid_cells(spec: PartnerSpec, rng: random.Random, n: int) -> dict[str, str]:
    cells = {column: f"v{n}" for column in spec.columns}
    for ident in spec.identifiers:
        cells[ident.column] = valid_identifier(ident.id_type, rng)
    cells[spec.time.column] = render_time(local_naive(random_time(rng), spec.time), spec.time)
    codes = sorted(spec.taxonomy) or ["code"]
    if spec.segments.separator:
        picked = rng.sample(codes, k=min(len(codes), rng.randrange(1, 4)))
        cells[spec.segments.column] = spec.segments.separator.join(picked)
    else:
        cells[spec.segments.column] = rng.choice(codes)
    if spec.score is not None:
        cells[spec.score.column] = f"{rng.uniform(0, spec.score.max):.3f}"
    return cells


def join(spec: PartnerSpec, cells: dict[str, str]) -> bytes:
    return spec.delimiter.join(cells[c] for c in spec.columns).encode("utf-8")


CellMutator = Callable[[PartnerSpec, dict[str, str], random.Random, Secrets], None]
LineMutator = Callable[[PartnerSpec, bytes, random.Random], bytes]


@dataclass(frozen=True)
class RowMutation:
    name: str
    slot: str
    reasons: frozenset[str] | None
    cells: CellMutator | None = None
    line: LineMutator | None = None


def rm(
    name: str,
    slot: str,
    reasons: set[R] | None,
    cells: CellMutator | None = None,
    line: LineMutator | None = None,
) -> RowMutation:
    frozen = None if reasons is None else frozenset(r.value for r in reasons)
    return RowMutation(name, slot, frozen, cells, line)


def _ids_empty(spec: PartnerSpec, cells: dict[str, str], rng: random.Random, s: Secrets) -> None:
    for ident in spec.identifiers:
        cells[ident.column] = rng.choice(("", "  "))


def _id_bad(spec: PartnerSpec, cells: dict[str, str], rng: random.Random, s: Secrets) -> None:
    ident = rng.choice(spec.identifiers)
    cells[ident.column] = invalid_identifier(ident.id_type, rng, s)


def _id_odd(spec: PartnerSpec, cells: dict[str, str], rng: random.Random, s: Secrets) -> None:
    ident = rng.choice(spec.identifiers)
    value = cells[ident.column]
    if ident.id_type in ("email_sha256", "phone_sha256", "advertising_id"):
        value = rng.choice((value.upper(), f"  {value} "))
    else:
        value = f" {value}\t"
    cells[ident.column] = value
    if len(spec.identifiers) > 1 and rng.random() < 0.5:  # one identifier is enough
        other = rng.choice([i for i in spec.identifiers if i.column != ident.column])
        cells[other.column] = ""


def _time_setter(values: Callable[[PartnerSpec, random.Random], str]) -> CellMutator:
    def apply(spec: PartnerSpec, cells: dict[str, str], rng: random.Random, s: Secrets) -> None:
        cells[spec.time.column] = values(spec, rng)

    return apply


def _time_garbage(spec: PartnerSpec, rng: random.Random) -> str:
    iso = "2026-01-05T10:00:00Z" if spec.time.format != "iso8601" else "2026/01/05 10:00"
    return rng.choice(("", "yesterday", "n/a", "2026-13-45T25:61:00", "0x1F", "nan", "1e400", iso))


def _time_old(spec: PartnerSpec, rng: random.Random) -> str:
    naive = rng.choice(
        (
            datetime(1970, 1, 1, 8),
            datetime(1989, 12, 31, 8),
            datetime(1900, 6, 1),
            datetime(1, 3, 1),
        )
    )
    return render_time(naive, spec.time)


def _time_future(spec: PartnerSpec, rng: random.Random) -> str:
    naive = rng.choice((datetime(2099, 1, 1), datetime(9999, 12, 30), datetime(2030, 6, 1)))
    return render_time(naive, spec.time)


def _time_edge(spec: PartnerSpec, rng: random.Random) -> str:
    """Year 1 / 9999 wall clock: in a zone east of UTC it has no UTC datetime."""
    return render_time(rng.choice((datetime(1, 1, 1), datetime(9999, 12, 31, 23))), spec.time)


def _score_setter(values: tuple[str, ...]) -> CellMutator:
    def apply(spec: PartnerSpec, cells: dict[str, str], rng: random.Random, s: Secrets) -> None:
        if spec.score is not None:
            cells[spec.score.column] = rng.choice(values)

    return apply


def _segments_odd(spec: PartnerSpec, cells: dict[str, str], rng: random.Random, s: Secrets) -> None:
    sep = spec.segments.separator or " "
    quoted = f'"A{spec.delimiter}B"' if spec.delimiter != '"' else "AB"
    cells[spec.segments.column] = rng.choice(
        ("", sep * 3, "UNKNOWN_CODE", sep.join(f"c{i}" for i in range(300)), "Ω≈ç", quoted, 'a"b')
    )


def _oversized(spec: PartnerSpec, cells: dict[str, str], rng: random.Random, s: Secrets) -> None:
    cells[spec.segments.column] = "s" * rng.randrange(OVERSIZED, 3 * OVERSIZED)


def _extra_column(spec: PartnerSpec, line: bytes, rng: random.Random) -> bytes:
    return line + spec.delimiter.encode() + rng.choice((b"extra", b"", b"1"))


def _missing_column(spec: PartnerSpec, line: bytes, rng: random.Random) -> bytes:
    return line.rsplit(spec.delimiter.encode(), 1)[0]


def _wrong_delimiter(spec: PartnerSpec, line: bytes, rng: random.Random) -> bytes:
    other = rng.choice([d for d in (",", ";", "\t", "|") if d != spec.delimiter])
    return line.replace(spec.delimiter.encode(), other.encode())


def _open_quote(spec: PartnerSpec, line: bytes, rng: random.Random) -> bytes:
    cells = line.split(spec.delimiter.encode())
    at = rng.randrange(len(cells))
    cells[at] = b'"' + cells[at]
    return spec.delimiter.encode().join(cells)


def _garbage_after_quote(spec: PartnerSpec, line: bytes, rng: random.Random) -> bytes:
    cells = line.split(spec.delimiter.encode())
    at = rng.randrange(len(cells))
    cells[at] = b'"' + cells[at] + b'"x'
    return spec.delimiter.encode().join(cells)


def _truncate_row(spec: PartnerSpec, line: bytes, rng: random.Random) -> bytes:
    last = line.rfind(spec.delimiter.encode())
    return line[: rng.randrange(1, last + 1)] if last > 1 else line[:1]


def _row_invalid_utf8(spec: PartnerSpec, line: bytes, rng: random.Random) -> bytes:
    return _invalid_utf8(line, rng)


def _control_in_id(
    spec: PartnerSpec, cells: dict[str, str], rng: random.Random, s: Secrets
) -> None:
    ident = rng.choice(spec.identifiers)
    value = cells[ident.column]
    at = rng.randrange(1, len(value))
    ctrl = rng.choice(("\x00", "\x01", "\x07", "\x1b", "\x7f", "\x0b"))
    cells[ident.column] = value[:at] + ctrl + value[at:]


def _row_frame(spec: PartnerSpec, line: bytes, rng: random.Random) -> bytes:
    return line + b"\r"


def _first_cell_reasons(spec: PartnerSpec) -> frozenset[str] | None:
    """What a junk prefix on the first cell (a BOM mid-file) does to an otherwise valid row."""
    first = spec.columns[0]
    if first in {i.column for i in spec.identifiers}:
        return frozenset({R.INVALID_IDENTIFIER.value})
    if first == spec.time.column:
        return frozenset({R.INVALID_TIMESTAMP.value})
    if spec.score is not None and first == spec.score.column:
        return frozenset({R.WRONG_TYPE.value})
    return None


HEADER_AS_ROW = {R.INVALID_IDENTIFIER.value, R.INVALID_TIMESTAMP.value, R.WRONG_TYPE.value}


def _bom_prefix(spec: PartnerSpec, line: bytes, rng: random.Random) -> bytes:
    return b"\xef\xbb\xbf" + line


ROW_MUTATIONS: tuple[RowMutation, ...] = (
    rm("identifiers_empty", "ids", {R.MISSING_IDENTIFIER}, cells=_ids_empty),
    rm("identifier_wrong_format", "ids", {R.INVALID_IDENTIFIER}, cells=_id_bad),
    rm("identifier_control_char", "ids", {R.INVALID_IDENTIFIER}, cells=_control_in_id),
    rm("identifier_case_or_padding", "ids", None, cells=_id_odd),
    rm("time_unparseable", "time", {R.INVALID_TIMESTAMP}, cells=_time_setter(_time_garbage)),
    rm("time_too_old", "time", {R.TIMESTAMP_OUT_OF_RANGE}, cells=_time_setter(_time_old)),
    rm("time_far_future", "time", {R.TIMESTAMP_OUT_OF_RANGE}, cells=_time_setter(_time_future)),
    rm(
        "time_beyond_utc_range",
        "time",
        {R.INVALID_TIMESTAMP, R.TIMESTAMP_OUT_OF_RANGE},
        cells=_time_setter(_time_edge),
    ),
    rm(
        "score_not_a_number",
        "score",
        {R.WRONG_TYPE},
        cells=_score_setter(("high", "1.2.3", "0x1", "--", "5%")),
    ),
    rm(
        "score_odd_but_numeric",
        "score",
        None,
        cells=_score_setter(("", "nan", "inf", "-3", "1e3", " 0.5 ", "1e400")),
    ),
    rm("segments_odd", "segments", None, cells=_segments_odd),
    rm("oversized", "segments", {R.OVERSIZED}, cells=_oversized),
    rm("extra_column", "shape", {R.MALFORMED_ROW}, line=_extra_column),
    rm("missing_column", "shape", {R.MALFORMED_ROW}, line=_missing_column),
    rm("wrong_delimiter", "shape", {R.MALFORMED_ROW}, line=_wrong_delimiter),
    rm("quote_left_open", "shape", {R.MALFORMED_ROW}, line=_open_quote),
    rm("text_after_closing_quote", "shape", {R.MALFORMED_ROW}, line=_garbage_after_quote),
    rm("truncated", "shape", {R.MALFORMED_ROW}, line=_truncate_row),
    rm("invalid_utf8_bytes", "bytes", {R.INVALID_UTF8}, line=_row_invalid_utf8),
    rm("crlf", "frame", None, line=_row_frame),
)


def row_variant(
    spec: PartnerSpec, n: int, rng: random.Random, secrets: Secrets
) -> tuple[bytes, tuple[str, ...], frozenset[str] | None]:
    cells = valid_cells(spec, rng, n)
    pool = [r for r in ROW_MUTATIONS if spec.score is not None or r.slot != "score"]
    count = rng.choice((1, 1, 2, 2, 3))
    chosen: list[RowMutation] = []
    for _ in range(50):
        if len(chosen) == count:
            break
        mutation = rng.choice(pool)
        if mutation.slot not in {c.slot for c in chosen}:
            chosen.append(mutation)
    for mutation in chosen:
        if mutation.cells is not None:
            mutation.cells(spec, cells, rng, secrets)
    line = join(spec, cells)
    for slot in ("shape", "bytes", "frame"):
        for mutation in chosen:
            if mutation.slot == slot and mutation.line is not None:
                line = mutation.line(spec, line, rng)
    faults = [c.reasons for c in chosen if c.reasons is not None]
    if "\n" in line.decode("utf-8", errors="replace"):
        raise AssertionError("a partner row may not contain a newline")
    return line, tuple(c.name for c in chosen), frozenset().union(*faults) if faults else None


def build_partners(
    landing: Landing, specs: dict[str, PartnerSpec], rng: random.Random, secrets: Secrets
) -> None:
    for name, spec in sorted(specs.items()):
        header = spec.delimiter.join(spec.columns).encode()
        main = partner_file(name, DAYS[0], f"{name}-fuzz.csv")
        landing.add(main, header if spec.header else b"", None)
        valid: list[bytes] = []
        for n in range(PARTNER_VARIANTS):
            if rng.random() < 0.05:
                landing.add(main, rng.choice((b"", b"  ", b"\r", b"\t")), None)
            line, kinds, reasons = row_variant(spec, n, rng, secrets)
            if reasons is None:
                landing.add(main, line, accept(kinds))
                valid.append(line)
            else:
                landing.add(main, line, reject(reasons, kinds))
        # the header again, a BOM and a PII-bearing row cut at 4096 characters mid-file
        landing.add(main, header, reject(HEADER_AS_ROW, ("header_again",)))
        bom_row = _bom_prefix(spec, join(spec, valid_cells(spec, rng, 10_000)), rng)
        landing.add(main, bom_row, _maybe_reject(_first_cell_reasons(spec), "bom_mid_file"))
        for cut in range(-2, 24, 3):
            cells = valid_cells(spec, rng, 20_000 + cut)
            address = secrets.email()
            secrets.cut_local_parts.append(address.split("@")[0])
            first_id = spec.identifiers[0].column
            cells[first_id] = ""
            cells[spec.columns[-1]] = address
            probe = join(spec, cells).decode()
            cells[first_id] = "z" * (RAW_KEEP_CHARS - probe.index(address) - (cut % len(address)))
            landing.add(main, join(spec, cells), reject({R.INVALID_IDENTIFIER}, ("pii_at_4096",)))
        # exact copies of accepted rows are duplicates, in the same or a later file
        later = partner_file(name, DAYS[2], f"{name}-resend.csv")
        landing.add(later, header if spec.header else b"", None)
        for line in rng.sample(valid, 8):
            landing.add(rng.choice((main, later)), line, Expect(DUPLICATE, kinds=("exact_copy",)))

        # file-level: BOM before the header, no header, blank first line, CRLF, empty
        if spec.header:
            bom = partner_file(name, DAYS[1], f"{name}-bom.csv")
            landing.add(bom, b"\xef\xbb\xbf" + header, None)  # the header, BOM dropped
            landing.add(bom, join(spec, valid_cells(spec, rng, 35_000)), accept(("bom_header",)))
            headless = partner_file(name, DAYS[1], f"{name}-headless.csv")
            first = join(spec, valid_cells(spec, rng, 30_000))
            landing.add(headless, first, reject({R.MALFORMED_ROW}, ("missing_header",)))
            late = partner_file(name, DAYS[1], f"{name}-blank-first.csv")
            landing.add(late, b"", None)
            landing.add(late, header, reject(HEADER_AS_ROW, ("header_on_line_2",)))
            padded_header = f" {spec.delimiter} ".join(spec.columns).encode() + b" \r"
            landing.add(partner_file(name, DAYS[1], f"{name}-spaced.csv"), padded_header, None)
            landing.touch(partner_file(name, DAYS[1], f"{name}-header-only.csv"))
            landing.files[partner_file(name, DAYS[1], f"{name}-header-only.csv")] = [header]
        crlf = partner_file(name, DAYS[1], f"{name}-crlf.csv")
        landing.add(crlf, (header if spec.header else b"") + b"\r", None)
        for n in range(5):
            row = join(spec, valid_cells(spec, rng, 40_000 + n)) + b"\r"
            landing.add(crlf, row, accept(("crlf_file",)))
            for target in (
                partner_file(name, DAYS[1], f"{name}-headless.csv"),
                partner_file(name, DAYS[1], f"{name}-blank-first.csv"),
                partner_file(name, DAYS[1], f"{name}-spaced.csv"),
            ):
                if spec.header:
                    landing.add(target, join(spec, valid_cells(spec, rng, 50_000 + n)), accept(()))
        landing.touch(partner_file(name, DAYS[2], f"{name}-empty.csv"))


def _maybe_reject(reasons: frozenset[str] | None, kind: str) -> Expect:
    return accept((kind,)) if reasons is None else reject(reasons, (kind,))


# ------------------------------------------------------------------------------------------
# plain valid lines mixed in


def add_filler(landing: Landing, specs: dict[str, PartnerSpec], rng: random.Random) -> None:
    bases = fixture_events()
    for n in range(FILLER_EVENTS):
        target = first_party_file(DAYS[0], "fuzz-a.jsonl" if n % 2 else "fuzz-b.jsonl.gz")
        event = fresh(bases[n % len(bases)], f"filler-{n:06d}", random_time(rng))
        landing.add(target, serialize(event, rng), accept(("filler",), f"filler-{n:06d}"))
    for name, spec in sorted(specs.items()):
        target = partner_file(name, DAYS[0], f"{name}-fuzz.csv")
        for n in range(FILLER_ROWS):
            row = join(spec, valid_cells(spec, rng, 100_000 + n))
            landing.add(target, row, accept(("filler",)))


# ------------------------------------------------------------------------------------------
# the run


@dataclass
class Fuzzed:
    settings: Settings
    landing: Landing
    secrets: Secrets
    result: IngestResult
    seconds: float
    bronze: dict[tuple[str, int], dict[str, Any]]
    quarantine: dict[tuple[str, int], dict[str, Any]]
    bronze_rows: int
    quarantine_rows: int


@pytest.fixture(scope="module")
def fuzzed(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    home = tmp_path_factory.mktemp("fuzz")
    settings = load_config(home=home, environ=GATE_OVERRIDE)
    specs = load_partner_specs(settings.partners_conf_dir)
    assert specs, "no partner layouts configured"
    rng = random.Random(SEED)
    secrets = Secrets()
    landing = Landing(settings.landing_dir)
    build_first_party(landing, rng, secrets)
    build_partners(landing, specs, rng, secrets)
    add_filler(landing, specs, rng)
    landing.write()

    started = time.perf_counter()
    result = run_stage(INGEST, settings, IngestRequest(), spark=spark)
    seconds = time.perf_counter() - started

    lake = Lake(settings.lake_dir)
    keys = ["source_file", "source_line", "source", "message_id"]
    bronze_list = [r.asDict() for r in lake.read(spark, "bronze/events").select(*keys).collect()]
    quarantine_list = [
        r.asDict()
        for r in lake.read(spark, "bronze/quarantine")
        .select(*keys, "reason", "raw_masked")
        .collect()
    ]
    yield Fuzzed(
        settings,
        landing,
        secrets,
        result,
        seconds,
        {(r["source_file"], r["source_line"]): r for r in bronze_list},
        {(r["source_file"], r["source_line"]): r for r in quarantine_list},
        len(bronze_list),
        len(quarantine_list),
    )


def _where(expect: Expect) -> str:
    return f"{expect.outcome} {sorted(expect.reasons)} after {list(expect.kinds)}"


def test_the_corpus_is_large_and_varied(fuzzed: Fuzzed) -> None:
    expected = fuzzed.landing.records().values()
    first_party = [e for k, e in fuzzed.landing.records().items() if k[0].startswith("first_")]
    partners = [e for k, e in fuzzed.landing.records().items() if k[0].startswith("partners/")]
    assert sum(e.malformed for e in first_party) >= MIN_EVENT_MALFORMED
    assert sum(e.malformed for e in partners) >= MIN_PARTNER_MALFORMED
    kinds = Counter(kind for e in expected for kind in e.kinds)
    assert {m.name for m in EVENT_MUTATIONS} <= set(kinds), "every event mutation is used"
    assert {r.name for r in ROW_MUTATIONS} <= set(kinds), "every row mutation is used"
    reasons = {reason for e in expected for reason in e.reasons}
    assert reasons >= {r.value for r in R}, "every quarantine reason can occur"


def test_ingest_survives_and_accounts_for_every_line(fuzzed: Fuzzed) -> None:
    result, expected = fuzzed.result, fuzzed.landing.records()
    outcomes = Counter(e.outcome for e in expected.values())
    assert result.read == len(expected)
    assert result.read == result.accepted + result.quarantined + result.duplicates
    assert result.duplicates == outcomes[DUPLICATE]
    assert result.accepted + result.quarantined == len(expected) - outcomes[DUPLICATE]
    assert outcomes[ACCEPTED] <= result.accepted <= outcomes[ACCEPTED] + outcomes[EITHER]
    assert sum(result.by_reason.values()) == result.quarantined
    # the only gate check relaxed for this run: the default ceiling would refuse the batch
    default = load_config(home=fuzzed.settings.home, environ={}).ingest.quarantine_ceiling
    assert result.quarantined / result.read > default
    assert result.gate_report is not None and Path(result.gate_report).is_dir()
    # the tables hold exactly the lines counted, each once, in one table only
    assert fuzzed.bronze_rows == len(fuzzed.bronze) == result.accepted
    assert fuzzed.quarantine_rows == len(fuzzed.quarantine) == result.quarantined
    assert not set(fuzzed.bronze) & set(fuzzed.quarantine)
    stored = set(fuzzed.bronze) | set(fuzzed.quarantine)
    duplicates = {k for k, e in expected.items() if e.outcome == DUPLICATE}
    assert stored == set(expected) - duplicates, "a line went missing or appeared from nowhere"
    print(f"\nfuzz ingest: {result.summary()} in {fuzzed.seconds:.1f}s")


def test_every_malformed_variant_is_quarantined_with_an_allowed_reason(fuzzed: Fuzzed) -> None:
    wrong = {}
    for key, expect in fuzzed.landing.records().items():
        if expect.outcome not in (QUARANTINED, EITHER):
            continue
        row = fuzzed.quarantine.get(key)
        if row is None:
            if expect.outcome == QUARANTINED:
                wrong[key] = (_where(expect), "not in quarantine")
            continue
        if not row["reason"] or row["reason"] not in expect.reasons:
            wrong[key] = (_where(expect), row["reason"])
    assert wrong == {}


def test_no_valid_line_is_lost_or_quarantined(fuzzed: Fuzzed) -> None:
    lost = {}
    for key, expect in fuzzed.landing.records().items():
        if expect.outcome != ACCEPTED:
            continue
        row = fuzzed.bronze.get(key)
        if row is None:
            found = fuzzed.quarantine.get(key)
            lost[key] = (_where(expect), found and found["reason"])
        elif expect.message_id is not None and row["message_id"] != expect.message_id:
            lost[key] = (_where(expect), f"message_id {row['message_id']!r}")
    assert lost == {}


def test_conflicting_duplicates_keep_their_message_id(fuzzed: Fuzzed) -> None:
    conflicts = [
        fuzzed.quarantine[k]
        for k, e in fuzzed.landing.records().items()
        if e.kinds == ("conflict",)
    ]
    assert conflicts and all(r["reason"] == R.DUPLICATE_CONFLICT.value for r in conflicts)
    accepted_ids = {r["message_id"] for r in fuzzed.bronze.values()}
    assert all(r["message_id"] in accepted_ids for r in conflicts)


def test_no_plaintext_personal_data_in_the_lake(fuzzed: Fuzzed, tmp_path: Path) -> None:
    secrets = fuzzed.secrets.tokens()
    assert len(fuzzed.secrets.emails) > 50 and len(fuzzed.secrets.phones) > 20
    lake = Lake(fuzzed.settings.lake_dir)
    # Every table's rows as text (nested values included), scanned like pii_scan scans
    # files; the tables of this run are small, so delta-rs reads them on the driver.
    tables = lake.tables()
    assert {"bronze/events", "bronze/quarantine"} <= {t.name for t in tables}
    for info in tables:
        rows = lake.read_arrow(info.name).to_pylist()
        text = "\n".join(json.dumps(row, default=str, ensure_ascii=False) for row in rows)
        (tmp_path / f"{info.name.replace('/', '.')}.jsonl").write_text(text)
    assert scan_files(tmp_path, secrets) == []
    assert scan_files(fuzzed.settings.lake_dir, secrets) == []  # logs, checkpoints, files
    assert scan_files(fuzzed.settings.landing_dir, secrets), "the scan finds the input's PII"
    assert scan_files(fuzzed.settings.reports_dir, secrets) == []
    # an address cut by the 4096-character limit of a quarantined line leaks no part either
    texts = [(r["raw_masked"] or "").lower() for r in fuzzed.quarantine.values()]
    leaked = [p for p in fuzzed.secrets.cut_local_parts if any(p in text for text in texts)]
    assert leaked == []
