"""Identifiers that carry an e-mail or phone are pseudonymised; opaque ids stay as they are."""

from __future__ import annotations

import hashlib
import hmac
from functools import partial

import pytest

from dmp.privacy import (
    email_in_identifier,
    hmac_sha256_hex,
    normalize_email,
    normalize_phone,
    phone_in_identifier,
    sha256_hex,
)
from dmp.privacy import pseudonymous_id as keyed_pseudonymous_id
from dmp.privacy.hashing import EMAIL_ID_PREFIX, PHONE_ID_PREFIX
from tests.privacy_key import TEST_ID_KEY

pseudonymous_id = partial(keyed_pseudonymous_id, key=TEST_ID_KEY)


def keyed(text: str) -> str:
    return str(hmac_sha256_hex(text, TEST_ID_KEY))


PLAIN_EMAIL_ID = EMAIL_ID_PREFIX + keyed("jane@example.com")
PLAIN_PHONE_ID = PHONE_ID_PREFIX + keyed("+14155550132")


@pytest.mark.parametrize(
    "form",
    [
        "jane@example.com",
        "Jane@Example.COM",
        " jane@example.com\u00a0",
        "mailto:jane@example.com",
        "MAILTO:Jane@Example.com",
        "Jane Doe <jane@example.com>",
        '"Doe, Jane" <jane@example.com>',
        "<jane@example.com>",
        "jane@example.com.",
        "jane@example.com;",
        "jane@example.com, ",
        "mailto:Jane Doe <jane@example.com>;",
    ],
)
def test_every_email_form_gets_the_plain_address_id(form: str) -> None:
    assert pseudonymous_id(form) == PLAIN_EMAIL_ID
    assert email_in_identifier(form) == normalize_email("jane@example.com")


def test_an_address_without_a_dotted_domain_is_hashed_too() -> None:
    value = pseudonymous_id("jane@localhost")
    assert value == EMAIL_ID_PREFIX + keyed("jane@localhost")
    assert "jane" not in str(value)


@pytest.mark.parametrize(
    "form",
    ["+1 (415) 555-0132", "tel:+14155550132", "TEL:415-555-0132", "4155550132", "1.415.555.0132"],
)
def test_every_phone_form_gets_the_e164_id(form: str) -> None:
    assert pseudonymous_id(form, "1") == PLAIN_PHONE_ID


def test_national_phone_ids_use_the_default_country_code() -> None:
    uk = PHONE_ID_PREFIX + keyed(str(normalize_phone("020 7946 0018", "e164", "44")))
    assert pseudonymous_id("020 7946 0018", "44") == uk
    assert pseudonymous_id("+44 20 7946 0018", "1") == uk
    assert phone_in_identifier("020 7946 0018", "44") == "+442079460018"


@pytest.mark.parametrize(
    "opaque",
    [
        "u_123",
        "u00010007",
        "550e8400-e29b-41d4-a716-446655440000",
        "12345678-1234-1234-1234-123456789012",
        "bx0a1b2c3d4e5f6a7b8c9d",
        "anonymous",
        "0",
        "-1",
        "123456",
        "order 2026-01-05",
    ],
)
def test_opaque_ids_stay_as_they_are(opaque: str) -> None:
    assert pseudonymous_id(opaque) == opaque
    assert email_in_identifier(opaque) is None
    assert phone_in_identifier(opaque) is None


def test_none_stays_none() -> None:
    assert pseudonymous_id(None) is None
    assert email_in_identifier(None) is None
    assert phone_in_identifier(None) is None


def test_an_angle_pair_without_an_address_does_not_hide_one() -> None:
    # The bracketed part is used only when it holds the address.
    assert email_in_identifier("jane@example.com <home>") == "jane@example.com <home>"
    assert pseudonymous_id("jane@example.com <home>") != "jane@example.com <home>"


def test_internal_ids_are_keyed_hmac_not_plain_sha256() -> None:
    # RFC 4231 test case 2: the keyed hash is standard HMAC-SHA256.
    assert hmac_sha256_hex("what do ya want for nothing?", b"Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    # A dictionary of plain SHA-256 hashes of addresses does not reverse the ids...
    assert EMAIL_ID_PREFIX + str(sha256_hex("jane@example.com")) != PLAIN_EMAIL_ID
    # ...and another key gives other ids, while the same key always gives the same one.
    other = keyed_pseudonymous_id("jane@example.com", key=b"another-secret-of-16-chars")
    assert other != PLAIN_EMAIL_ID
    assert pseudonymous_id("jane@example.com") == PLAIN_EMAIL_ID
    expected = hmac.new(TEST_ID_KEY, b"jane@example.com", hashlib.sha256).hexdigest()
    assert "email-hmac:" + expected == PLAIN_EMAIL_ID
