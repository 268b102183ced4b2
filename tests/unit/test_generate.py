"""Tests of the world generator, checked by an independent reader of the files it writes."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dmp.generate import WorldSpec, WorldSummary, generate_world
from dmp.ingest.reasons import QuarantineReason as R

SPEC = WorldSpec(users=300, days=10, seed=7, users_per_shard=150, workers=1)
TYPES = {"track", "identify", "page", "screen", "alias", "group"}
TRACK_EVENTS = {
    "Products Searched", "Product List Viewed", "Product Viewed", "Product Added",
    "Product Removed", "Product Added to Wishlist", "Cart Viewed", "Checkout Started",
    "Order Completed", "Coupon Entered", "Coupon Applied", "Coupon Denied", "Product Shared",
    "Product Reviewed", "Signed Up",
}  # fmt: skip
PRODUCT_EVENTS = {"Product Viewed", "Product Added", "Product Removed", "Product Added to Wishlist"}
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
MAX_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WorldSummary]:
    home = tmp_path_factory.mktemp("world")
    return home, generate_world(SPEC, home)


def _truth(home: Path, name: str) -> list[dict[str, object]]:
    return pq.read_table(home / "truth" / name).to_pylist()


def _first_party_files(home: Path) -> list[Path]:
    files = sorted((home / "landing" / "first_party").glob("dt=*/events-*"))
    return sorted(files, key=lambda p: (p.parent.name, p.name))


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for raw in fh:
            yield raw.rstrip(b"\n")


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def classify(raw: bytes, seen: dict[str, bytes]) -> str | None:
    """An independent reading of the quarantine rules: the reason, "exact_duplicate" or None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return R.INVALID_UTF8
    if len(raw) > MAX_BYTES:
        return R.OVERSIZED
    try:
        obj = json.loads(text)
    except ValueError:
        return R.MALFORMED_JSON
    if not isinstance(obj, dict):
        return R.MALFORMED_JSON
    if obj.get("type") not in TYPES:
        return R.UNKNOWN_TYPE
    mid = obj.get("messageId")
    if mid is None or mid == "":
        return R.MISSING_MESSAGE_ID
    ts = obj.get("timestamp")
    if ts is None:
        return R.MISSING_TIMESTAMP
    if not isinstance(ts, str):
        return R.INVALID_TIMESTAMP
    try:
        when = _ts(ts)
    except ValueError:
        return R.INVALID_TIMESTAMP
    if when < dt.datetime(1990, 1, 1, tzinfo=dt.UTC):
        return R.TIMESTAMP_OUT_OF_RANGE
    if when > _ts(obj["receivedAt"]) + dt.timedelta(days=1):
        return R.TIMESTAMP_OUT_OF_RANGE
    if all(obj.get(k) is None for k in ("userId", "anonymousId", "previousId")):
        return R.MISSING_IDENTIFIER
    if any(k in obj and not isinstance(obj[k], str) for k in ("userId", "anonymousId")):
        return R.WRONG_TYPE
    props = obj.get("properties", {})
    if not isinstance(props, dict) or not isinstance(obj.get("context"), dict):
        return R.WRONG_TYPE
    items = [props, *props.get("products", [])]
    amounts = [i[k] for i in items for k in ("price", "quantity", "revenue", "total") if k in i]
    if not all(_is_number(a) for a in amounts):
        return R.WRONG_TYPE
    if any(a < 0 for a in amounts):
        return R.NEGATIVE_VALUE
    if mid in seen:
        return "exact_duplicate" if seen[mid] == raw else R.DUPLICATE_CONFLICT
    seen[mid] = raw
    return None


def check_contract(obj: dict[str, object]) -> None:
    """Assert a good line meets the documented first-party contract."""
    assert UUID.match(str(obj["messageId"]))
    for key in ("timestamp", "originalTimestamp", "sentAt", "receivedAt"):
        assert ISO_MS.match(str(obj[key])), (key, obj[key])
    assert _ts(str(obj["receivedAt"])) >= _ts(str(obj["timestamp"]))
    ctx = obj["context"]
    assert isinstance(ctx, dict)
    assert set(ctx["library"]) == {"name", "version"}
    assert ctx["channel"] in ("web", "mobile")
    assert IPV4.match(ctx["ip"]) and all(int(x) < 256 for x in ctx["ip"].split("."))
    crm = ctx["library"]["name"] == "crm-import"
    if ctx["channel"] == "web" and not crm:
        assert ctx["userAgent"]
        if obj["type"] != "alias":
            assert set(ctx["page"]) == {"path", "url", "referrer"}
    if ctx["channel"] == "mobile":
        device = ctx["device"]
        assert UUID.match(device["id"]) and UUID.match(device["advertisingId"])
        assert device["type"] in ("ios", "android") and device["model"]
        assert set(ctx["app"]) >= {"name", "version", "build"} and ctx["os"]["name"]
    assert ctx["timezone"] and ctx["locale"]
    if "consent" in ctx:
        prefs = ctx["consent"]["categoryPreferences"]
        assert {k.lower() for k in prefs} == {"advertising", "email", "sms"}
        assert all(isinstance(v, bool) for v in prefs.values())
    typ = obj["type"]
    if typ in ("page", "screen"):
        assert set(obj["properties"]) == {"path", "url", "title", "category"}  # type: ignore[arg-type]
    elif typ == "identify":
        assert isinstance(obj["userId"], str) and isinstance(obj["traits"], dict)
    elif typ == "alias":
        assert obj["previousId"] and obj["userId"]
    elif typ == "track":
        event, props = obj["event"], obj["properties"]
        assert event in TRACK_EVENTS and isinstance(props, dict)
        if event in PRODUCT_EVENTS:
            assert set(props) >= {"product_id", "sku", "category", "brand", "name", "price",
                                  "quantity", "currency"}  # fmt: skip
        if event == "Order Completed":
            assert set(props) >= {"order_id", "total", "revenue", "currency", "discount"}
            assert props["products"] and all("product_id" in p for p in props["products"])


def test_same_spec_gives_identical_bytes_whatever_the_workers(
    world: tuple[Path, WorldSummary], tmp_path: Path
) -> None:
    home, _ = world
    other = tmp_path / "w2"
    calls: list[tuple[int, int]] = []
    generate_world(
        SPEC.model_copy(update={"workers": 2}), other, progress=lambda *a: calls.append(a)
    )
    assert sorted(calls) == [(1, 2), (2, 2)]
    mine = {p.relative_to(home) for p in home.rglob("*") if p.is_file()}
    theirs = {p.relative_to(other) for p in other.rglob("*") if p.is_file()}
    assert mine == theirs
    for rel in mine:
        if rel.name == "manifest.json":
            a, b = (json.loads((root / rel).read_text()) for root in (home, other))
            for m in (a, b):
                m.pop("timing")
                m["spec"].pop("workers")
            assert a == b
        else:
            assert (home / rel).read_bytes() == (other / rel).read_bytes(), rel


def test_every_line_fails_for_exactly_its_planted_reason(world: tuple[Path, WorldSummary]) -> None:
    home, summary = world
    expected = {(b["file"], b["line"]): b["expected_reason"]
                for b in _truth(home, "bad_records") if b["source"] == "first_party"}  # fmt: skip
    seen: dict[str, bytes] = {}
    found: dict[tuple[str, int], str] = {}
    duplicates = good = 0
    for path in _first_party_files(home):
        rel = path.relative_to(home).as_posix()
        for number, raw in enumerate(_lines(path), start=1):
            assert raw, "no empty lines"
            reason = classify(raw, seen)
            if reason is None:
                good += 1
                obj = json.loads(raw)
                check_contract(obj)
                assert path.parent.name == f"dt={obj['receivedAt'][:10]}"
            elif reason == "exact_duplicate":
                duplicates += 1
            else:
                found[(rel, number)] = str(reason)
    assert found == expected
    copies = sum(int(e["copies"]) - 1 for e in _truth(home, "events"))  # type: ignore[call-overload]
    assert duplicates == copies == summary.counts["exact_duplicates"] > 0
    assert good == len(_truth(home, "events")) == summary.counts["good_lines"]


def test_truth_counts_match_the_files(world: tuple[Path, WorldSummary]) -> None:
    home, summary = world
    lines = sum(1 for path in _first_party_files(home) for _ in _lines(path))
    events = _truth(home, "events")
    bad = [b for b in _truth(home, "bad_records") if b["source"] == "first_party"]
    assert lines == summary.counts["lines"] == sum(e["copies"] for e in events) + len(bad)  # type: ignore[misc]
    assert len({e["message_id"] for e in events}) == len(events)
    manifest = json.loads((home / "truth" / "manifest.json").read_text())
    assert manifest["counts"]["bad_lines"] == len(bad)
    assert sum(manifest["bad_lines_by_reason"].values()) == len(bad)
    assert 0.6 * SPEC.bad_share < len(bad) / lines < 1.5 * SPEC.bad_share
    files = _first_party_files(home)
    assert any(p.suffix == ".jsonl" for p in files) and any(p.suffix == ".gz" for p in files)
    per_person = Counter(e["person_key"] for e in events)
    persons = {p["person_key"]: p for p in _truth(home, "persons")}
    humans = [n for k, n in per_person.items() if not persons[k]["is_bot"]]
    assert 20 < sum(humans) / len(humans) / SPEC.days * 30 < 200


def test_every_bad_kind_is_planted_and_classified(tmp_path: Path) -> None:
    spec = WorldSpec(users=200, days=6, seed=3, bad_share=0.12, partner_bad_share=0.1, workers=1)
    generate_world(spec, tmp_path)
    bad = _truth(tmp_path, "bad_records")
    kinds = {b["kind"] for b in bad if b["source"] == "first_party"}
    from dmp.generate.bad_records import BAD_KINDS

    assert kinds == set(BAD_KINDS)
    # Two reasons are not planted line by line: a file that cannot be read to its end, and
    # amounts above the configured limits (tests/unit/test_ingest_landing.py, the fuzz test).
    not_planted = {R.UNREADABLE_FILE.value, R.VALUE_OUT_OF_RANGE.value}
    assert {b["expected_reason"] for b in bad} == {r.value for r in R} - not_planted
    seen: dict[str, bytes] = {}
    expected = {(b["file"], b["line"]): b["expected_reason"] for b in bad}
    for path in _first_party_files(tmp_path):
        rel = path.relative_to(tmp_path).as_posix()
        for number, raw in enumerate(_lines(path), start=1):
            assert b"\n" not in raw
            reason = classify(raw, seen)
            if reason not in (None, "exact_duplicate"):
                assert expected.pop((rel, number)) == reason
    assert all(key[0].startswith("landing/partners/") for key in expected)


def _partner_reason(partner: str, row: str) -> str | None:
    """An independent reading of a partner row: its quarantine reason, or None when good."""
    cols = row.split("," if partner == "adnet_alpha" else ";")
    if len(cols) != (4 if partner == "adnet_alpha" else 5):
        return R.MALFORMED_ROW
    if partner == "adnet_alpha":
        ident, stamp = cols[0], cols[3]
        if not ident:
            return R.MISSING_IDENTIFIER
        if not re.fullmatch(r"[0-9a-f]{64}", ident):
            return R.INVALID_IDENTIFIER
        try:
            dt.datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S")
        except ValueError:
            return R.INVALID_TIMESTAMP
        assert 0 <= float(cols[2]) <= 1 and all(
            re.fullmatch(r"A\d{3}", s) for s in cols[1].split("|")
        )
        return None
    stamp, maid, uid = cols[0], cols[1], cols[2]
    if not maid and not uid:
        return R.MISSING_IDENTIFIER
    if not UUID.match(maid):
        return R.INVALID_IDENTIFIER
    if not stamp.isdigit():
        return R.INVALID_TIMESTAMP
    assert maid != "00000000-0000-0000-0000-000000000000"
    assert cols[3].startswith("beta.") and 0 <= int(cols[4]) <= 100
    return None


def test_partner_files_parse_and_carry_no_plaintext_pii(world: tuple[Path, WorldSummary]) -> None:
    home, summary = world
    expected = {(b["file"], b["line"]): b["expected_reason"]
                for b in _truth(home, "bad_records") if b["source"] != "first_party"}  # fmt: skip
    pii = {str(i["value"]).strip().lower() for i in _truth(home, "identifiers")
           if i["id_type"] in ("email", "phone")}  # fmt: skip
    hashes = {hashlib.sha256(v.encode()).hexdigest() for v in pii}
    found, good = {}, Counter[str]()
    for partner, header in (("adnet_alpha", "email_sha256,segments,score,seen_at"),
                            ("mobi_beta", "ts;maid;beta_uid;interest;conf")):  # fmt: skip
        files = sorted((home / "landing" / "partners" / partner).glob("dt=*/*.csv"))
        assert files
        for path in files:
            text = path.read_text()
            assert "@" not in text and not any(v in text for v in pii if len(v) > 6)
            rows = text.splitlines()
            assert rows[0] == header
            for number, row in enumerate(rows[1:], start=2):
                reason = _partner_reason(partner, row)
                if reason is None:
                    good[partner] += 1
                    if partner == "adnet_alpha":
                        assert row.split(",")[0] in hashes
                else:
                    found[(path.relative_to(home).as_posix(), number)] = str(reason)
    assert found == expected
    assert good["adnet_alpha"] == summary.counts["partner_rows_adnet_alpha"] > 0
    assert good["mobi_beta"] == summary.counts["partner_rows_mobi_beta"] > 0
    assert sum(good.values()) == len(_truth(home, "partner_rows"))


def test_planted_people_truths(world: tuple[Path, WorldSummary]) -> None:
    home, _ = world
    from dmp.generate.personas import PERSONAS

    persons = {p["person_key"]: p for p in _truth(home, "persons")}
    strong = {p.name: set(p.categories) for p in PERSONAS}
    gifts = [o for o in _truth(home, "orders") if o["is_gift"]]
    assert gifts
    for order in gifts:
        assert order["category"] not in strong[str(persons[str(order["person_key"])]["persona"])]
    buyers = _truth(home, "campaign_buyers")
    assert {b["window"] for b in buyers} == {"observed", "future"}
    ids = _truth(home, "identifiers")
    by_value = Counter((i["id_type"], i["value"]) for i in ids if not i["garbage"])
    assert max(n for (t, _), n in by_value.items() if t == "anonymous_id") > 5  # a cafe browser
    assert any(n in (2, 3) for (t, _), n in by_value.items() if t == "device_id")  # a tablet
    assert any(i["garbage"] and i["value"] == "00000000-0000-0000-0000-000000000000" for i in ids)
    assert any(i["garbage"] and i["id_type"] == "user_id" for i in ids)
    assert sum(p["is_bot"] for p in persons.values()) >= 1
    rings = Counter(p["abuser_group"] for p in persons.values() if p["is_coupon_abuser"])
    assert rings and all(5 <= n <= 15 for n in rings.values())
    referrals = _truth(home, "referrals")
    assert referrals
    assert all(persons[str(r["referrer_person_key"])]["registered"] for r in referrals)
    consent = _truth(home, "consent")
    assert any(not c["initial"] and c["value"] is False for c in consent)


def test_first_party_lines_carry_the_planted_messiness(world: tuple[Path, WorldSummary]) -> None:
    home, _ = world
    seen: dict[str, bytes] = {}
    consent_keys, libraries, late, signups, emails = Counter[str](), set(), 0, [], []
    for path in _first_party_files(home):
        for raw in _lines(path):
            if classify(raw, seen) is not None:
                continue
            obj = json.loads(raw)
            prefs = obj["context"].get("consent", {}).get("categoryPreferences", {"-": 0})
            consent_keys[next(iter(prefs))] += 1
            libraries.add(obj["context"]["library"]["name"])
            if obj["context"]["library"]["name"] == "crm-import":
                assert 1995 <= int(obj["timestamp"][:4]) <= 1999
            late += _ts(obj["receivedAt"]) - _ts(obj["timestamp"]) > dt.timedelta(days=1)
            if obj.get("event") == "Signed Up" and "referrer_user_id" in obj["properties"]:
                signups.append(obj["properties"]["referrer_user_id"])
            if obj["type"] == "identify" and "email" in obj["traits"]:
                emails.append(obj["traits"]["email"])
    assert {"Advertising", "advertising", "ADVERTISING", "-"} <= set(consent_keys)
    assert {"analytics.js", "analytics-ios", "analytics-android", "crm-import"} <= libraries
    assert late > 0 and signups
    assert any(e != e.strip() for e in emails) and any("+" in e for e in emails)
    assert any(e != e.lower() for e in emails)


@pytest.mark.slow
def test_bigger_world_has_persona_shares_and_campaign_buyers(tmp_path: Path) -> None:
    from dmp.generate.personas import PERSONAS

    spec = WorldSpec(users=4000, days=5, seed=11, workers=2, users_per_shard=2000)
    generate_world(spec, tmp_path)
    persons = _truth(tmp_path, "persons")
    shares = Counter(p["persona"] for p in persons)
    for persona in PERSONAS:
        assert abs(shares[persona.name] / len(persons) - persona.share) < 0.02, persona.name
    assert max(p.share for p in PERSONAS) == 0.15 and min(p.share for p in PERSONAS) == 0.03
    buyers = _truth(tmp_path, "campaign_buyers")
    windows = Counter((b["product_id"], b["window"]) for b in buyers)
    products = {b["product_id"] for b in buyers}
    assert len(products) == 5
    for product in products:
        assert windows[(product, "observed")] >= 5 and windows[(product, "future")] >= 5


def test_bingers_are_bursty_humans_and_opt_in(
    world: tuple[Path, WorldSummary], tmp_path: Path
) -> None:
    default_home, _ = world
    assert not any(p["is_binger"] for p in _truth(default_home, "persons"))
    home = tmp_path / "binge"
    generate_world(WorldSpec(users=120, days=5, seed=5, workers=1, binge_share=0.25), home)
    persons = {p["person_key"]: p for p in _truth(home, "persons")}
    bingers = {k for k, p in persons.items() if p["is_binger"]}
    assert 0.1 < len(bingers) / len(persons) < 0.4
    assert not any(persons[k]["is_bot"] or persons[k]["is_coupon_abuser"] for k in bingers)
    hourly: Counter[tuple[str, object]] = Counter()
    for event in _truth(home, "events"):
        key = str(event["person_key"])
        stamp = event["timestamp"]
        hourly[(key, stamp.replace(minute=0, second=0, microsecond=0))] += 1  # type: ignore[attr-defined]
    peak = Counter[str]()
    for (key, _), n in hourly.items():
        peak[key] = max(peak[key], n)
    # each binger has an hour of 100+ events: what the old hourly-rate bot rule flagged
    assert all(peak[k] >= 100 for k in bingers)
