"""Normalisation, hashing and IP truncation against the platforms' published examples."""

from __future__ import annotations

import hashlib
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmp.privacy import (
    normalize_birth_year,
    normalize_city,
    normalize_country,
    normalize_email,
    normalize_gender,
    normalize_name,
    normalize_phone,
    normalize_state,
    normalize_zip,
    sha256_hex,
    truncate_ip,
    uid2_hash,
)
from dmp.privacy.rules import phone_region

# --- published examples --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Google Data Manager "Format user data": gmail/googlemail dots and +suffix removed...
        ("cloudy.sanfrancisco+shopping@gmail.com", "cloudysanfrancisco@gmail.com"),
        # ...other domains keep dots and plus signs, everything lower-cased.
        ("user.name+NYC@Example.com", "user.name+nyc@example.com"),
        # googlemail.com gets the same treatment and keeps its domain.
        ("Cloudy.SanFrancisco+x@GoogleMail.com", "cloudysanfrancisco@googlemail.com"),
        ("  dana@example.com\t", "dana@example.com"),
    ],
)
def test_google_email_examples(raw: str, expected: str) -> None:
    assert normalize_email(raw, "google") == expected


@pytest.mark.parametrize(
    ("raw", "normalized", "hex_digest", "uid2"),
    [
        # UID2 "Normalization and Encoding": email hash encoding table.
        (
            "user@example.com",
            "user@example.com",
            "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514",
            "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=",
        ),
        # UID2 "Normalization Examples for Email".
        (
            "MYEMAIL@example.com",
            "myemail@example.com",
            "16c18d336f0b250f0e2d907452ceb9658a74ecdae8bc94864c23122a72cc27a5",
            "FsGNM28LJQ8OLZB0Us65ZYp07NrovJSGTCMSKnLMJ6U=",
        ),
        (
            "My.Email@example.com",
            "my.email@example.com",
            "e22b53bc6f871274f3a62ab37a3caed7214fc14d676215a96a242fcfada1c81f",
            "4itTvG+HEnTzpiqzejyu1yFPwU1nYhWpaiQvz62hyB8=",
        ),
        (
            "JaneSaoirse+Work@example.com",
            "janesaoirse+work@example.com",
            "28aaee4815230cd3b4ebd88c515226550666e91ac019929e3adac3f66c288180",
            "KKruSBUjDNO069iMUVImVQZm6RrAGZKeOtrD9mwogYA=",
        ),
        (
            "JANE.SAOIRSE@gmail.com",
            "janesaoirse@gmail.com",
            "92ee26057ed9dea2535d6c8b141d48373932476599196e00352254896db5888f",
            "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=",
        ),
        (
            "JaneSaoirse+Work@gmail.com",
            "janesaoirse@gmail.com",
            "92ee26057ed9dea2535d6c8b141d48373932476599196e00352254896db5888f",
            "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=",
        ),
    ],
)
def test_uid2_email_examples(raw: str, normalized: str, hex_digest: str, uid2: str) -> None:
    assert normalize_email(raw, "uid2") == normalized
    assert sha256_hex(normalized) == hex_digest
    assert uid2_hash(normalized) == uid2


def test_uid2_gmail_rules_apply_to_gmail_com_only() -> None:
    assert normalize_email("jane.doe+alias@gmail.com", "uid2") == "janedoe@gmail.com"
    assert normalize_email("jane.doe+alias@googlemail.com", "uid2") == (
        "jane.doe+alias@googlemail.com"
    )


def test_uid2_phone_examples() -> None:
    # UID2 "Phone Number Normalization" and "Phone Number Hash Encoding".
    assert normalize_phone("1 (234) 567-8901") == "+12345678901"
    assert normalize_phone("(02) 1234 5678", default_country_code="61") == "+61212345678"
    assert sha256_hex("+12345678901") == (
        "10e6f0b47054a83359477dcb35231db6de5c69fb1816e1a6b98e192de9e5b9ee"
    )
    assert uid2_hash("+12345678901") == "EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4="


def test_google_phone_example() -> None:
    # Google: "the US phone number (800)555-0100 should be ... normalized to +18005550100".
    assert normalize_phone("(800)555-0100") == "+18005550100"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (415) 555-0132", "14155550132"),
        # Meta help centre examples ("must include a country code").
        ("1-234-567-8910", "12345678910"),
        ("12345678910", "12345678910"),
        ("+44 844 412 4653", "448444124653"),
    ],
)
def test_meta_phone_examples(raw: str, expected: str) -> None:
    assert normalize_phone(raw, "meta") == expected


def test_meta_email_keeps_gmail_dots_and_tags() -> None:
    assert normalize_email("  Jane.Doe+Promo@GMail.com ", "meta") == "jane.doe+promo@gmail.com"
    assert normalize_email("Jane.Doe+Promo@GMail.com", "basic") == "jane.doe+promo@gmail.com"


# --- e-mail edge cases ---------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["basic", "meta", "google", "uid2"])
@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "\u00a0\u200b",
        "plainaddress",
        "@example.com",
        "jane@",
        "jane@@example.com",
        "jane@exa@mple.com",
        "jane doe@example.com",
        "jane@exam ple.com",
        "jane@localhost",
        "jane@.example.com",
        "jane@example..com",
        "jane@example.com.",
        "<jane@example.com>",
        "jane@example.com, bob@example.com",
        "jane\n@example.com",
    ],
)
def test_invalid_emails_are_none(raw: str | None, rule: str) -> None:
    assert normalize_email(raw, rule) is None  # type: ignore[arg-type]


def test_email_whitespace_and_unicode() -> None:
    assert normalize_email("\u00a0\ufeffJane@Example.COM\u200b\r\n") == "jane@example.com"
    assert normalize_email("JOSÉ@Exämple.de") == "josé@exämple.de"


def test_gmail_local_part_that_becomes_empty_is_invalid() -> None:
    assert normalize_email("+promo@gmail.com", "google") is None
    assert normalize_email("...@gmail.com", "uid2") is None
    assert normalize_email("+promo@gmail.com", "meta") == "+promo@gmail.com"


@pytest.mark.parametrize(
    ("function", "kwargs"),
    [
        (normalize_email, {"rule": "facebook"}),
        (normalize_phone, {"rule": "E164"}),
        (normalize_name, {"rule": "tiktok"}),
        (normalize_zip, {"rule": "uk"}),
        (normalize_phone, {"default_country_code": "0"}),
        (normalize_phone, {"default_country_code": "1234"}),
        (normalize_phone, {"default_country_code": "uk"}),
    ],
)
def test_unknown_rules_raise_a_clear_error(function: object, kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="expected"):
        function("x", **kwargs)  # type: ignore[operator]


# --- phones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+1 (415) 555-0132", "1", "+14155550132"),
        ("415.555.0132", "1", "+14155550132"),
        ("415 555 0132", "1", "+14155550132"),
        (" 1-415-555-0132 ", "1", "+14155550132"),
        ("(+1) 415 555 0132", "1", "+14155550132"),
        ("+86 138 0013 8000", "1", "+8613800138000"),
        ("0086 13800138000", "1", "+8613800138000"),
        ("00 44 20 7946 0018", "1", "+442079460018"),
        ("+44 (0)20 7946 0018", "1", "+442079460018"),
        ("020 7946 0018", "44", "+442079460018"),
        ("(0) 20 7946 0018", "44", "+442079460018"),
        ("+44 20 7946 0018", "86", "+442079460018"),
        ("138 0013 8000", "86", "+8613800138000"),
        ("06 12 34 56 78", "33", "+33612345678"),
        ("8 (912) 345-67-89", "7", "+79123456789"),
        ("06 1 234 5678", "36", "+3612345678"),
        ("06 6988 1234", "39", "+390669881234"),
        ("030/1234567", "+49", "+49301234567"),
        ("+49 (0)30 1234567", "1", "+49301234567"),
        ("011 44 20 7946 0018", "1", "+442079460018"),  # NANP's international prefix
        ("(416) 555-0199", "1", "+14165550199"),  # Canada, read with NANP's main region
        ("(03) 9123 4567", "61", "+61391234567"),
        ("090-1234-5678", "81", "+819012345678"),
    ],
)
def test_phone_formats(raw: str, country: str, expected: str) -> None:
    assert normalize_phone(raw, "e164", country) == expected
    assert normalize_phone(raw, "meta", country) == expected[1:]


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "  ",
        "555-0132",  # 7 digits: no area code
        "+1 555 0132",  # too short
        "+1234567890123456",  # 16 digits: longer than E.164 allows
        "12345",
        "415 555 0132 ext 12",
        "1-800-FLOWERS",
        "+0 415 555 0132",
        "415+555+0132",
        "(015) 555-0132",  # NANP area codes never start with 0 or 1
        "(415) 155-0132",  # nor exchange codes
        "+1 415 555 013",
        "4155550132@example.com",
        "00",
        "++14155550132",
        "65 1243 5678 90",  # national for default 1 but 12 digits
        "+1 415 555 0132 x12",
        "+999 1234 5678",  # no country has calling code 999
        "+65 1243 5678",  # Singapore numbers never start with 1
        # A Chinese mobile number without its country code: read as national NANP it would
        # be +1 383 950 6172, a number in no assigned area code (the hand rules hashed it).
        "13839506172",
    ],
)
def test_invalid_phones_are_none(raw: str | None) -> None:
    assert normalize_phone(raw) is None
    assert normalize_phone(raw, "meta") is None


def test_national_number_with_default_country_is_not_guessed_as_international() -> None:
    # A number without + or 00 is national (documented): for default 1 this is +1 651...
    assert normalize_phone("65 1243 5678") == "+16512435678"
    assert normalize_phone("+65 6123 4567") == "+6561234567"


@pytest.mark.parametrize(
    ("code", "region"), [("1", "US"), ("+44", "GB"), ("7", "RU"), ("39", "IT"), ("86", "CN")]
)
def test_default_country_code_reads_national_numbers_in_its_main_region(
    code: str, region: str
) -> None:
    assert phone_region(code) == region


@pytest.mark.parametrize("code", ["999", "800", "379"])
def test_unassigned_or_non_geographic_default_country_codes_raise(code: str) -> None:
    with pytest.raises(ValueError, match="no country dials national numbers"):
        normalize_phone("4155550132", "e164", code)


# --- names and places ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "meta", "google"),
    [
        ("John", "john", "john"),
        ("  Mary-Jane  ", "maryjane", "mary-jane"),
        ("O'Neil", "oneil", "o'neil"),
        ("Mrs. Jane", "jane", "jane"),
        ("Dr Jane", "jane", "jane"),
        ("Smith Jr.", "smith", "smith"),
        ("Smith, III", "smith", "smith"),
        ("van  der Berg", "vanderberg", "van der berg"),
        ("José", "josé", "josé"),
        ("ZOË", "zoë", "zoë"),
        ("Ñúñez", "ñúñez", "ñúñez"),
        ("Łukasz", "łukasz", "łukasz"),
        ("Ψάρης", "ψάρης", "ψάρης"),
        ("Дмитрий", "дмитрий", "дмитрий"),
        ("李 小龍", "李小龍", "李 小龍"),
        ("محمد", "محمد", "محمد"),
        ("R2-D2", "rd", "r2-d2"),
        ("Mrs.", "mrs", "mrs."),
        (None, None, None),
        ("", None, None),
        ("  \t ", None, None),
        ("1234", None, "1234"),
        ("-.'", None, "-.'"),
    ],
)
def test_names(raw: str | None, meta: str | None, google: str | None) -> None:
    assert normalize_name(raw, "meta") == meta
    assert normalize_name(raw, "google") == google


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("F", "f"), (" female ", "f"), ("Woman", "f"), ("m", "m"), ("MALE", "m"), ("x", None)],
)
def test_gender(raw: str, expected: str | None) -> None:
    assert normalize_gender(raw) == expected
    assert normalize_gender(None) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1985", "1985"),
        (1985, "1985"),
        (" 1900 ", "1900"),
        ("1985-03-02", "1985"),
        ("1985-03-02T10:00:00Z", "1985"),
        ("85", None),
        ("1899", None),
        ("2100", None),
        ("19850", None),
        ("abcd", None),
        (None, None),
    ],
)
def test_birth_year(raw: str | int | None, expected: str | None) -> None:
    assert normalize_birth_year(raw) == expected


def test_birth_year_from_date() -> None:
    from datetime import date

    assert normalize_birth_year(date(1985, 3, 2)) == "1985"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("New York", "newyork"),
        ("São Paulo", "sãopaulo"),
        ("St. Louis", "stlouis"),
        ("Winston-Salem", "winstonsalem"),
        ("Paris 75001", "paris"),
        ("123", None),
        (None, None),
    ],
)
def test_city(raw: str | None, expected: str | None) -> None:
    assert normalize_city(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CA", "ca"),
        ("California", "ca"),
        ("new york", "ny"),
        ("District of Columbia", "dc"),
        ("N.Y.", "ny"),
        ("Île-de-France", "îledefrance"),
        ("Bayern", "bayern"),
        ("", None),
        (None, None),
    ],
)
def test_state(raw: str | None, expected: str | None) -> None:
    assert normalize_state(raw) == expected


@pytest.mark.parametrize(
    ("raw", "meta", "google"),
    [
        ("94303", "94303", "94303"),
        ("94303-5300", "94303", "94303-5300"),
        ("943035300", "94303", "943035300"),
        ("SW1A 1AA", "sw1a1", "SW1A 1AA"),
        ("wc2h  8lg", "wc2h8", "WC2H 8LG"),
        ("M1 1AE", "m11", "M1 1AE"),
        ("K1A 0B1", "k1a0b1", "K1A 0B1"),
        ("1011 AB", "1011ab", "1011 AB"),
        ("100-0001", "100-0001", "100-0001"),
        ("n/a", None, None),
        ("none", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_zip(raw: str | None, meta: str | None, google: str | None) -> None:
    assert normalize_zip(raw, "meta") == meta
    assert normalize_zip(raw, "google") == google


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("US", "us"),
        (" u.s. ", "us"),
        ("de", "de"),
        ("UK", "gb"),
        ("GB", "gb"),
        ("XX", None),
        ("USA", "us"),
        ("deu", "de"),
        ("United States", "us"),
        ("united kingdom", "gb"),
        ("Germany", None),
        ("XXX", None),
        (None, None),
    ],
)
def test_country(raw: str | None, expected: str | None) -> None:
    assert normalize_country(raw) == expected


# --- hashes --------------------------------------------------------------------------------


def test_sha256_hex_is_lowercase_hex_of_utf8() -> None:
    assert sha256_hex("abc") == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert sha256_hex("josé") == hashlib.sha256("josé".encode()).hexdigest()
    assert sha256_hex(None) is None
    assert uid2_hash(None) is None


@given(st.text())
def test_uid2_hash_is_base64_of_the_raw_digest(value: str) -> None:
    import base64

    encoded = uid2_hash(value)
    assert encoded is not None and len(encoded) == 44 and encoded.endswith("=")
    assert base64.b64decode(encoded).hex() == sha256_hex(value)


# --- IP addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        (" 10.1.2.3 ", "10.1.2.0"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
        ("2001:DB8:85A3:08D3:1319:8A2E:0370:7348", "2001:db8:85a3::"),
        ("2001:db8::1", "2001:db8::"),
        ("2001::1", "2001::"),
        ("2001:0:85a3::1", "2001:0:85a3::"),
        ("0:db8::", "0:db8::"),
        ("::1", "::"),
        ("::", "::"),
        ("::1:2:3:4:5:6", "0:0:1::"),
        ("1:2:3:4:5:6:7::", "1:2:3::"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3::"),
        ("::ffff:203.0.113.77", "::"),
        ("256.1.1.1", None),
        ("1.2.3", None),
        ("1.2.3.04", None),
        ("fe80::1%eth0", None),
        ("1:2:3:4:5:6:7:8:9", None),
        ("1::2::3", None),
        ("12345::", None),
        ("localhost", None),
        ("", None),
        (None, None),
    ],
)
def test_truncate_ip(raw: str | None, expected: str | None) -> None:
    assert truncate_ip(raw) == expected


@given(st.ip_addresses())
def test_truncate_ip_keeps_the_network_prefix(address: ipaddress._BaseAddress) -> None:
    truncated = truncate_ip(str(address))
    assert truncated is not None
    prefix = 24 if address.version == 4 else 48
    assert (
        ipaddress.ip_address(truncated)
        == ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address
    )
    assert truncate_ip(truncated) == truncated
