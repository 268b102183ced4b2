"""The Spark expressions of dmp.privacy give exactly what the pure-Python reference gives."""

from __future__ import annotations

import ipaddress
import json
import random
import threading
import time
from collections.abc import Callable

import pytest
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

import dmp.privacy as privacy
from tests.hostile_text import hostile_lines
from tests.privacy_key import TEST_ID_KEY

pytestmark = pytest.mark.spark

SEED = 20260105

# --- a messy corpus ------------------------------------------------------------------------

_SPACES = ["", "", " ", "  ", "\t", "\u00a0", "\u200b", "\ufeff", "\r\n", "\u3000"]
_EDGE_CASES: list[str | None] = [
    None,
    "",
    " ",
    "\t\n",
    "\u00a0\u2003",
    "null",
    "N/A",
    "-",
    "0",
    "@",
    "😀",
    "İSTANBUL",
    "ΟΔΥΣΣΕΥΣ",
    "Straße",
    "ǅemal",
    "１２３４５６７",
    "٠١٢٣٤٥٦٧٨٩",
    "a\x00b",
    "jane@example.com\njoe@example.com",
    "x" * 300,
    "9" * 40,
    "+",
    "00",
    "(0)",
    ":::",
    "::ffff:1.2.3.4",
    "1.2.3.4.5",
    "1::2::3",
    "fe80::1%eth0",
    "415 555 0132 jo@x415 555 0132",
    "a@a'@gmail.com",
    "\"hi\\njane@example.com\" 'o'neil@x.com' ren\\u00e9e@x.com",
    "<email:1a2b3c4d> <phone:12345678>",
    "mailto:jane&#64;example.com?cc=bob%40example.com",
    # identifiers that carry an e-mail or phone, and opaque ids that must stay as they are
    "mailto:Jane@Example.com",
    "Jane Doe <jane@example.com>",
    "jane@example.com.",
    "jane@example.com;",
    " jane@localhost ",
    "<jane@example.com>",
    "Jane <no-address> jane@example.com",
    "<>@",
    "tel:+1 (415) 555-0132",
    "TEL:4155550132",
    "4155550132",
    "+44 20 7946 0018",
    "u_123",
    "550e8400-e29b-41d4-a716-446655440000",
    "12345678-1234-1234-1234-123456789012",
    "x" * 64 + "@example.com",
    "1" * 60,
    # personal keys and IP addresses in free text, and look-alikes that must stay
    '{"name":"Jane \\"JD\\" Doe","first_name":"Jane","lastName":"Doe"}',
    '"{\\"address\\":\\"12 Baker St\\",\\"dob\\":\\"1985-03-02\\"}"',
    "name=Jane Doe&ip=10.0.0.1&x=1",
    '{"birthday":19850302,"street":"1 Main St","city":"Springfield"}',
    '{"name":"<name:1a2b3c4d>","ip":<ip:12345678>}',
    "client 203.0.113.77:443 and 2001:DB8::1, ::ffff:192.0.2.1; v1.2.3.4",
    "versions 1.2.3 1.2.3.4.5 at 12:30:45 Foo::Bar deadbeef:cafe",
    '{"product_name":"Monopoly","filename":"a.pdf","zip":"94103","name":""}',
    '{"Full-Name" : "Jane',
]
_SOUP = (
    *"aj.@ 1234567890-()+\\u%40e'\"x<>:=",
    *("name", '"ip":', "dob=", "::", "1.2.3.4", "ffff:"),
    *("@gmail.com", "\\u0040", "415 555 0132", "<phone:12345678>", "2026-01-05"),
    "550e8400-e29b-41d4-a716-446655440000",
)


_NAMES = (
    *("John", "mary-jane", "O'Neil", "José", "ZOË", "Łukasz", "Ψάρης", "Дмитрий", "李 小龍"),
    *("محمد", "R2-D2", "van  der Berg", "ǅemal", "e\u0301lise", "Σίσυφος", "İlker"),
)
_PLACES_AND_TRAITS = (
    *("New York", "São Paulo", "St. Louis", "Winston-Salem", "Île-de-France", "CA", "N.Y."),
    *("District of Columbia", "Bayern", "US", "u.s.", "UK", "de", "XX", "Germany", "USA"),
    *("United States", "deu", "gbr ", "XXX"),
    *("94303", "94303-5300", "SW1A 1AA", "wc2h  8lg", "K1A 0B1", "n/a", "1011 AB"),
    *("F", "female", "Male", "x", "1985", "1985-03-02", "1899", "85", "2026-01-05T10:00Z"),
)


def _random_email(rng: random.Random) -> str:
    local = rng.choice(["jane", "Jane.Doe", "j.o.h.n", "bob+promo", "x_y-z", "o'neil", "renée"])
    local += rng.choice(["", str(rng.randrange(1000)), ".work", "+tag.with.dots", "+"])
    domain = rng.choice(
        ["gmail.com", "GMAIL.COM", "googlemail.com", "example.com", "mail.example.co.uk"] * 2
        + ["exämple.de", "localhost", "example..com", ".example.com", "例え.jp", "x.y"]
    )
    shapes = ["{l}@{d}"] * 6 + ["{l}@@{d}", "{l} @{d}", "{l}", "<{l}@{d}>"]
    address = rng.choice(shapes)
    return rng.choice(_SPACES) + address.format(l=local, d=domain) + rng.choice(_SPACES)


def _random_phone(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 16)))
    # Half the area codes are assigned ones, so many numbers are valid for libphonenumber.
    area = rng.choice(["415", "212", "604", "800", *(str(rng.randint(100, 999)) for _ in "xxxx")])
    nanp = f"{area}{rng.randint(100, 999)}{rng.randint(0, 9999):04d}"
    shapes = [
        "+1 ({a}) {b}-{c}",
        "{a}.{b}.{c}",
        "1-{a}-{b}-{c}",
        "({a}){b}-{c}",
        "+44 (0){a} {b} {c}",
        "00{a}{b}{c}",
        "0{a} {b} {c}",
        "8 ({a}) {b}-{c}",
        "06 {a} {b} {c}",
        "+{d}",
        "{d}",
        "0{d}",
        "{a}-{b}-{c} ext 12",
        "(+{a}) {b} {c}",
        "+0{a}{b}{c}",
        "{a}/{b}{c}",
    ]
    shape = rng.choice(shapes)
    text = shape.format(a=nanp[:3], b=nanp[3:6], c=nanp[6:], d=digits)
    return rng.choice(_SPACES) + text + rng.choice(_SPACES)


def _random_name(rng: random.Random) -> str:
    first = rng.choice(_NAMES)
    prefix = rng.choice(["", "", "Mr. ", "mrs ", "Dr ", "Prof. "])
    suffix = rng.choice(["", "", " Jr.", ", III", " PhD", " sr"])
    return rng.choice(_SPACES) + prefix + first + suffix + rng.choice(_SPACES)


def _random_place(rng: random.Random) -> str:
    return rng.choice(_PLACES_AND_TRAITS)


def _random_ip(rng: random.Random) -> str:
    if rng.random() < 0.4:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
            rng.getrandbits(32)
        )
        text = str(address)
    else:
        hextets = [rng.choice([0, 0, rng.getrandbits(16)]) for _ in range(8)]
        address = ipaddress.IPv6Address(":".join(f"{h:x}" for h in hextets))
        text = rng.choice([address.compressed, address.exploded, address.exploded.upper()])
    return rng.choice(_SPACES) + text + rng.choice(_SPACES)


def _random_line(rng: random.Random) -> str:
    email = _random_email(rng).strip()
    phone = _random_phone(rng).strip()
    record = {
        "type": "identify",
        "messageId": "550e8400-e29b-41d4-a716-446655440000",
        "timestamp": "2026-01-05T10:00:00.000Z",
        "traits": {"email": email, "phone": phone, "name": _random_name(rng).strip()},
        "context": {"ip": _random_ip(rng).strip(), "epoch": 1700000000000},
        "properties": {
            "price": 19.99,
            "note": f"call {phone} or mail {email} from {_random_ip(rng).strip()}",
            rng.choice(["address", "street", "birthday", "dob", "version"]): rng.choice(
                ["12 Baker St", "1985-03-02", "1.2.3.4", "19850302", ""]
            ),
        },
    }
    line = json.dumps(record, ensure_ascii=rng.random() < 0.5)
    variant = rng.randrange(6)
    if variant == 1:
        line = line.replace("@", "\\u0040")
    elif variant == 2:
        line = json.dumps(line)
    elif variant == 3:
        line = line[: rng.randrange(len(line))]
    elif variant == 4:
        line = line.replace("@", "%40")
    return line


def _corpus() -> list[str | None]:
    rng = random.Random(SEED)
    values = list(_EDGE_CASES)
    for make in (_random_email, _random_phone, _random_name, _random_place, _random_ip):
        values += [make(rng) for _ in range(120)]
    values += [_random_line(rng) for _ in range(150)]
    values += ["".join(rng.choices(_SOUP, k=rng.randint(1, 30))) for _ in range(100)]
    return values


CORPUS = _corpus()

# --- pairs of (Spark expression, pure reference) -------------------------------------------

Pair = tuple[Callable[[Column], Column], Callable[[str | None], str | None]]

PAIRS: dict[str, Pair] = {
    **{
        f"email_{rule}": (
            lambda c, rule=rule: privacy.email_normalized(c, rule),
            lambda v, rule=rule: privacy.normalize_email(v, rule),
        )
        for rule in ("basic", "meta", "google", "uid2")
    },
    **{
        f"phone_{rule}_{country}": (
            lambda c, rule=rule, country=country: privacy.phone_normalized(c, rule, country),
            lambda v, rule=rule, country=country: privacy.normalize_phone(v, rule, country),
        )
        for rule in ("e164", "meta")
        for country in ("1", "44", "86", "7", "36", "39")
    },
    **{
        f"name_{rule}": (
            lambda c, rule=rule: privacy.name_normalized(c, rule),
            lambda v, rule=rule: privacy.normalize_name(v, rule),
        )
        for rule in ("meta", "google")
    },
    **{
        f"zip_{rule}": (
            lambda c, rule=rule: privacy.zip_normalized(c, rule),
            lambda v, rule=rule: privacy.normalize_zip(v, rule),
        )
        for rule in ("meta", "google")
    },
    "gender": (privacy.gender_normalized, privacy.normalize_gender),
    "birth_year": (privacy.birth_year_normalized, privacy.normalize_birth_year),
    "city": (privacy.city_normalized, privacy.normalize_city),
    "state": (privacy.state_normalized, privacy.normalize_state),
    "country": (privacy.country_normalized, privacy.normalize_country),
    "sha256_hex": (privacy.sha256_hex_col, privacy.sha256_hex),
    "uid2_hash": (privacy.uid2_hash_col, privacy.uid2_hash),
    "truncate_ip": (privacy.truncate_ip_col, privacy.truncate_ip),
    "mask_pii": (privacy.mask_pii_col, privacy.mask_pii),
    "email_in_identifier": (privacy.email_in_identifier_col, privacy.email_in_identifier),
    **{
        f"pseudonymous_id_{country}": (
            lambda c, country=country: privacy.pseudonymous_id_col(c, country, key=TEST_ID_KEY),
            lambda v, country=country: privacy.pseudonymous_id(v, country, key=TEST_ID_KEY),
        )
        for country in ("1", "44")
    },
    # a short key, and one longer than SHA-256's 64-byte block (hashed first, RFC 2104)
    **{
        f"hmac_{name}": (
            lambda c, key=key: privacy.hmac_sha256_hex_col(c, key),
            lambda v, key=key: privacy.hmac_sha256_hex(v, key),
        )
        for name, key in (("test_key", TEST_ID_KEY), ("long_key", "ключ".encode() * 20))
    },
    "uid2_of_uid2_email": (
        lambda c: privacy.uid2_hash_col(privacy.email_normalized(c, "uid2")),
        lambda v: privacy.uid2_hash(privacy.normalize_email(v, "uid2")),
    ),
}


@pytest.fixture(scope="module")
def results(spark: SparkSession) -> list[dict[str, str | None]]:
    frame = spark.createDataFrame([(i, v) for i, v in enumerate(CORPUS)], "i int, raw string")
    columns = [spark_fn(F.col("raw")).alias(name) for name, (spark_fn, _) in PAIRS.items()]
    rows = frame.select("i", *columns).orderBy("i").collect()
    return [row.asDict() for row in rows]


def test_corpus_is_large_and_messy() -> None:
    assert len(CORPUS) >= 800
    assert None in CORPUS
    assert sum(1 for v in CORPUS if v and privacy.normalize_email(v)) >= 40
    assert sum(1 for v in CORPUS if v and privacy.normalize_phone(v)) >= 40
    assert sum(1 for v in CORPUS if v and privacy.truncate_ip(v)) >= 100
    assert sum(1 for v in CORPUS if v and privacy.mask_pii(v) != v) >= 150


@pytest.mark.parametrize("name", list(PAIRS))
def test_spark_matches_reference(results: list[dict[str, str | None]], name: str) -> None:
    reference = PAIRS[name][1]
    mismatches = [
        (value, row[name], reference(value))
        for value, row in zip(CORPUS, results, strict=True)
        if row[name] != reference(value)
    ]
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]}"


def test_huge_values_do_not_overflow_the_regex_stack(spark: SparkSession) -> None:
    # A regex group repeated once per character overflowed Java's stack on inputs like
    # these, and a StackOverflowError in an executor kills the whole Spark application.
    values = [
        "a" * 20_000 + "@x.com",
        "a@" + ".b" * 20_000,
        "a@b" + ".c" * 20_000,
        "1 " * 20_000,
        "\\u00e9" * 20_000 + "@x.com",
        "1:" * 20_000,
    ]
    frame = spark.createDataFrame([(v,) for v in values], "raw string")
    rows = frame.select(
        *[spark_fn(F.col("raw")).alias(name) for name, (spark_fn, _) in PAIRS.items()]
    ).collect()
    for value, row in zip(values, rows, strict=True):
        for name, (_, reference) in PAIRS.items():
            assert row[name] == reference(value), (name, value[:40])


def test_integer_and_date_columns(spark: SparkSession) -> None:
    frame = spark.sql(
        "SELECT 1985 AS y, DATE'1985-03-02' AS d, TIMESTAMP'1985-03-02 10:00:00' AS t, "
        "CAST(NULL AS STRING) AS n"
    )
    row = frame.select(
        privacy.birth_year_normalized("y").alias("y"),
        privacy.birth_year_normalized("d").alias("d"),
        privacy.birth_year_normalized("t").alias("t"),
        privacy.sha256_hex_col("n").alias("n"),
        privacy.sha256_hex_col("y").alias("hy"),
    ).first()
    assert row is not None
    assert (row.y, row.d, row.t, row.n) == ("1985", "1985", "1985", None)
    assert row.hy == privacy.sha256_hex("1985")


def test_unknown_rules_raise_before_any_spark_work() -> None:
    with pytest.raises(ValueError, match="e-mail rule"):
        privacy.email_normalized("email", "facebook")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="country calling code"):
        privacy.phone_normalized("phone", "e164", "0044")


def test_published_examples_in_spark(spark: SparkSession) -> None:
    frame: DataFrame = spark.createDataFrame(
        [("cloudy.sanfrancisco+shopping@gmail.com", "(800)555-0100", "user@example.com")],
        "email string, phone string, uid2_email string",
    )
    row = frame.select(
        privacy.email_normalized("email", "google").alias("google"),
        privacy.phone_normalized("phone").alias("e164"),
        privacy.uid2_hash_col(privacy.email_normalized("uid2_email", "uid2")).alias("uid2"),
    ).first()
    assert row is not None
    assert row.google == "cloudysanfrancisco@gmail.com"
    assert row.e164 == "+18005550100"
    assert row.uid2 == "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="


def test_hostile_lines_are_linear_and_agree(spark: SparkSession) -> None:
    # Java's regex engine backtracks like Python's: the adversarial lines that took minutes
    # in Python must stay fast in the JVM too. A timer cancels the job at the budget, so a
    # regression fails instead of hanging the suite.
    lines = hostile_lines()
    frame = spark.createDataFrame(list(lines.items()), "name string, raw string")
    budget = 2.5 * len(lines)
    context = spark.sparkContext
    # The pairs whose patterns scan free text or repeat over separators, one job each.
    for pair in ("mask_pii", "name_meta", "pseudonymous_id_1"):
        spark_fn, reference = PAIRS[pair]
        # Warm up first: the first query of a big expression spends seconds in codegen.
        frame.limit(1).select(spark_fn(F.lit("a@b.c 415 555 0132"))).collect()
        context.setJobGroup("hostile-lines", pair, interruptOnCancel=True)
        timer = threading.Timer(budget, context.cancelJobGroup, ["hostile-lines"])
        started = time.perf_counter()
        timer.start()
        try:
            rows = frame.select("name", "raw", spark_fn(F.col("raw")).alias("out")).collect()
        finally:
            timer.cancel()
            context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
        assert elapsed < budget, f"{pair}: {elapsed:.1f} s for {len(lines)} lines of 8 KB"
        for row in rows:
            assert row["out"] == reference(row["raw"]), (pair, row["name"])
