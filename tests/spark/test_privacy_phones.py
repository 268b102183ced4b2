"""The Spark phone twins (pandas UDFs) give exactly what libphonenumber's Python path gives."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import dmp.privacy as privacy
from tests.privacy_key import TEST_ID_KEY

pytestmark = pytest.mark.spark

# Valid and invalid numbers of several countries, written the ways people write them.
PHONES: list[str | None] = [
    # US / Canada (NANP)
    *("+1 (415) 555-0132", "415.555.0132", "1-415-555-0132", "(+1) 415 555 0132"),
    *("(800)555-0100", "1 (234) 567-8901", "(416) 555-0199", "604 681 2368", " 4155550132 "),
    *("011 44 20 7946 0018", "(015) 555-0132", "(415) 155-0132", "555-0132"),
    *("+1 415 555 013", "13839506172", "1-800-FLOWERS"),
    # UK, with and without the (0) trunk marker and the 00 prefix
    *("+44 20 7946 0018", "+44 (0)20 7946 0018", "020 7946 0018", "(0) 20 7946 0018"),
    *("00 44 20 7946 0018", "0044 (0)20 7946 0018", "+44 844 412 4653", "+44 20 7946 001"),
    # China, Russia, Hungary, Italy, France, Germany, Australia, Japan, Singapore
    *("+86 138 0013 8000", "0086 13800138000", "138 0013 8000", "+86 138 0013 800"),
    *("8 (912) 345-67-89", "+7 912 345-67-89", "06 1 234 5678", "+36 1 234 5678"),
    *("06 6988 1234", "+39 06 6988 1234", "06 12 34 56 78", "+33 6 12 34 56 78"),
    *("030/1234567", "+49 (0)30 1234567", "(02) 1234 5678", "(03) 9123 4567"),
    *("+61 2 1234 5678", "+81 90-1234-5678"),
    *("090-1234-5678", "+65 6123 4567", "+65 1243 5678", "+999 1234 5678"),
    # extensions, tel: forms, separators and garbage
    *("415 555 0132 ext 12", "+1 415 555 0132 x12", "tel:+14155550132", "TEL:415-555-0132"),
    *("tel:+44-20-7946-0018", "tel:+1-415-555-0132;ext=12", "415+555+0132", "++14155550132"),
    *("4155550132@example.com", "+0 415 555 0132", "\u00a0+1\u00a0415\u00a0555\u00a00132\u200b"),
    *("１２３４５６７８９０", "+", "00", "(0)", "", "   ", "u_123", "9" * 40, "1 " * 300, None),
]
COUNTRIES = ("1", "44", "86", "7", "36", "39", "33", "49", "61", "81")


def test_corpus_has_valid_and_invalid_numbers_of_several_countries() -> None:
    e164 = [privacy.normalize_phone(v) for v in PHONES]
    for prefix in ("+1", "+44", "+86", "+7", "+36", "+39", "+33", "+49", "+61", "+81", "+65"):
        assert any(n is not None and n.startswith(prefix) for n in e164), prefix
    assert sum(n is None for n in e164) >= 20
    for code in COUNTRIES:
        national = [v for v in PHONES if v and v.strip()[:1] not in "+0t"]
        assert any(privacy.normalize_phone(v, "e164", code) for v in national), code


@pytest.mark.parametrize("code", COUNTRIES)
def test_spark_and_python_phone_paths_agree(spark: SparkSession, code: str) -> None:
    frame = spark.createDataFrame([(i, v) for i, v in enumerate(PHONES)], "i int, raw string")
    rows = (
        frame.select(
            "i",
            privacy.phone_normalized("raw", "e164", code).alias("e164"),
            privacy.phone_normalized("raw", "meta", code).alias("meta"),
            privacy.phone_in_identifier_col("raw", code).alias("identifier"),
            privacy.pseudonymous_id_col("raw", code, key=TEST_ID_KEY).alias("pseudonym"),
        )
        .orderBy("i")
        .collect()
    )
    got = [(r.e164, r.meta, r.identifier, r.pseudonym) for r in rows]
    expected = [
        (
            privacy.normalize_phone(v, "e164", code),
            privacy.normalize_phone(v, "meta", code),
            privacy.phone_in_identifier(v, code),
            privacy.pseudonymous_id(v, code, key=TEST_ID_KEY),
        )
        for v in PHONES
    ]
    mismatches = [(v, g, e) for v, g, e in zip(PHONES, got, expected, strict=True) if g != e]
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]}"


def test_phone_twins_take_non_string_columns(spark: SparkSession) -> None:
    row = (
        spark.range(1)
        .select(F.lit(4155550132).alias("n"))
        .select(privacy.phone_normalized("n").alias("e164"))
        .first()
    )
    assert row is not None
    assert row.e164 == "+14155550132"


def test_phone_twins_refuse_a_bad_default_country_before_spark_work() -> None:
    with pytest.raises(ValueError, match="no country dials national numbers"):
        privacy.phone_normalized("phone", "e164", "999")
    with pytest.raises(ValueError, match="no country dials national numbers"):
        privacy.phone_in_identifier_col("phone", "800")
