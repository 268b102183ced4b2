"""mask_pii also masks names, street addresses, birthdays and IP addresses, and nothing else."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from dmp.privacy import mask_pii

TOKEN = re.compile(r"<(name|address|birthday|ip|email|phone):[0-9a-f]{8}>")


def token(kind: str, value: str) -> str:
    return f"<{kind}:{hashlib.sha256(value.lower().encode()).hexdigest()[:8]}>"


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("name", "name"),
        ("first_name", "name"),
        ("firstName", "name"),
        ("LAST-NAME", "name"),
        ("full_name", "name"),
        ("username", "name"),
        ("address", "address"),
        ("street", "address"),
        ("street_address", "address"),
        ("address_line1", "address"),
        ("addressLine2", "address"),
        ("birthday", "birthday"),
        ("birth_date", "birthday"),
        ("dateOfBirth", "birthday"),
        ("dob", "birthday"),
        ("ip", "ip"),
        ("ip_address", "ip"),
        ("client_ip", "ip"),
        ("remote_addr", "ip"),
    ],
)
def test_values_under_personal_keys_are_masked(key: str, kind: str) -> None:
    value = "Jane O'Neil, 12 Baker St" if kind != "ip" else "bad-ip-value"
    line = json.dumps({key: value, "event": "Signed Up"})
    masked = mask_pii(line)
    assert masked == json.dumps({key: token(kind, value), "event": "Signed Up"})


@pytest.mark.parametrize(
    "line",
    [
        '{"traits":{"name":"Jane \\"JD\\" Doe"}}',  # escaped quotes inside the name
        json.dumps(json.dumps({"first_name": "Jane", "last_name": "Doe"})),  # escaped JSON
        json.dumps(json.dumps(json.dumps({"address": "12 Baker Street"}))),
        '{"dob":19850302}',
        '{"birthday":"1985-03-02"}',  # an ISO date is readable elsewhere, not here
        "name=Jane Doe&email_opt_in=1",
        "shipping address: 12 Baker Street",
        '{"name":"Ren\\u00e9e Dupont"}',
        '{"name":"Jane Doe',  # truncated line
        '{"Full_Name" : "Jane Doe"}',
    ],
)
def test_no_name_address_or_birthday_survives(line: str) -> None:
    masked = mask_pii(line)
    assert masked is not None
    for word in ("Jane", "Doe", "JD", "Baker", "1985", "Dupont"):
        assert word not in masked, (line, masked)
    assert mask_pii(masked) == masked


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("client 203.0.113.77 connected", "203.0.113.77"),
        ("from 10.0.0.1:8080", "10.0.0.1"),
        ('{"x":"2001:db8:85a3::8a2e:370:7334"}', "2001:db8:85a3::8a2e:370:7334"),
        ("peer=2001:DB8::1;", "2001:db8::1"),
        ("::ffff:192.0.2.1 said hi", "::ffff:192.0.2.1"),
        ("v1.2.3.4", "1.2.3.4"),  # a four-part version looks like an IPv4 address: masked
    ],
)
def test_ip_addresses_in_free_text_are_masked(text: str, address: str) -> None:
    masked = mask_pii(text)
    assert masked is not None and address.lower() not in masked.lower()
    assert token("ip", address) in masked


@pytest.mark.parametrize(
    "text",
    [
        '{"version":"1.2.3","build":"b-42"}',
        "versions 1.2.3.4.5 and 10.20.30",
        "at 12:30:45 on 2026-01-05T10:00:00Z",
        "Foo::Bar::baz and std::vector",
        '{"filename":"report.pdf","hostname":"web-1","zip":"94103","city":"Springfield"}',
        '{"product_name":"Monopoly"}',
        "skip: 5, ship: 2, tip: 3",
        '{"event":"Product Viewed","category":"Games","price":9.5}',
        "<name:1a2b3c4d> <ip:12345678> <address:abcdef01> <birthday:00000000>",
        '{"name":""}',
        "deadbeef:cafe",
    ],
)
def test_non_personal_text_stays_readable(text: str) -> None:
    assert mask_pii(text) == text


def test_the_key_stays_readable_and_equal_values_share_a_token() -> None:
    masked = mask_pii('{"name":"Jane Doe"} {"full_name":"JANE DOE"}')
    assert masked == f'{{"name":"{token("name", "jane doe")}"}} ' + (
        f'{{"full_name":"{token("name", "jane doe")}"}}'
    )
    assert TOKEN.findall(masked or "") == ["name", "name"]
