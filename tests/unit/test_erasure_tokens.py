"""An erasure by phone finds the number's mask tokens in quarantined lines, valid number or
not: masking hashes an invalid number's digits, and erasure must hash them the same way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dmp.config import load_config
from dmp.erasure.stage import ErasureRequest, _request_tokens
from dmp.privacy import mask_pii

_TOKEN = re.compile(r"<phone:[0-9a-f]{8}>")


@pytest.mark.parametrize(
    ("line", "phone"),
    [
        ("call 555-0100 after six", "555-0100"),  # too short to be valid anywhere
        ('{"phone": "555-0100", "x": 1}', "555-0100"),
        ("my number is +1 415 555 2671", "+1 415 555 2671"),  # a valid number
        ("my number is (415) 555-2671", "415-555-2671"),  # the same, written another way
        ("mobile 138 0013 8000", "13800138000"),  # a Chinese mobile, no country code
    ],
)
def test_the_phone_of_an_erasure_request_finds_its_masked_line(
    tmp_path: Path, line: str, phone: str
) -> None:
    overrides = {"DMP__INGEST__DEFAULT_COUNTRY_CODE": '"86"'} if phone.startswith("138") else {}
    settings = load_config(home=tmp_path, environ=overrides)
    masked = mask_pii(line)
    assert masked is not None and phone not in masked
    found = _TOKEN.findall(masked)
    assert found, masked
    tokens = _request_tokens(ErasureRequest(phones=[phone]), settings)
    assert set(found) <= set(tokens), (masked, tokens)


def test_another_number_is_not_found(tmp_path: Path) -> None:
    settings = load_config(home=tmp_path, environ={})
    masked = mask_pii("call 555-0199 after six")
    assert masked is not None
    tokens = _request_tokens(ErasureRequest(phones=["555-0100"]), settings)
    assert not set(_TOKEN.findall(masked)) & set(tokens)
