"""The hand-written phone normaliser dmp used before libphonenumber, frozen for comparison.

A verbatim copy (patterns inlined) of ``normalize_phone`` as of commit 20a636a: NANP
lengths and area/exchange codes plus a table of national trunk prefixes. It is kept only so
that ``bench_phones.py`` can time the new path against it and show where the two disagree;
nothing in ``dmp/`` imports it.
"""

from __future__ import annotations

import re

_WS = r"\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
_WHITESPACE_CHARS = (
    "\t\n\x0b\x0c\r \x1c\x1d\x1e\x1f\x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200C))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_PHONE_SYNTAX = re.compile(rf"(?:\+|\(\+)?[0-9()./\-{_WS}]+")
_PHONE_PLUS_PREFIX = re.compile(r"^\(?\+")
_PARENTHESISED_TRUNK_ZERO = re.compile(rf"\([{_WS}]*0[{_WS}]*\)")
_NON_DIGIT = re.compile("[^0-9]")
_E164 = re.compile(r"[1-9][0-9]{7,14}")
_NANP = re.compile(r"1[2-9][0-9]{2}[2-9][0-9]{6}")
_NATIONAL_TRUNK_PREFIX = {"7": "8", "36": "06", "39": "", "378": "", "379": ""}


def normalize_phone_by_hand(
    raw: str | None, rule: str = "e164", default_country_code: str = "1"
) -> str | None:
    """The old ``dmp.privacy.normalize_phone`` (rule and country code not re-validated)."""
    country_code = default_country_code.removeprefix("+")
    if raw is None:
        return None
    text = raw.strip(_WHITESPACE_CHARS)
    if _PHONE_SYNTAX.fullmatch(text) is None:
        return None
    digits = _NON_DIGIT.sub("", _PARENTHESISED_TRUNK_ZERO.sub("", text))
    number: str | None
    if _PHONE_PLUS_PREFIX.match(text):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    else:
        number = _national_to_international(digits, country_code)
    if number is None or _E164.fullmatch(number) is None:
        return None
    if number.startswith("1") and _NANP.fullmatch(number) is None:
        return None
    return f"+{number}" if rule == "e164" else number


def _national_to_international(digits: str, country_code: str) -> str | None:
    if country_code == "1":
        if len(digits) == 11 and digits.startswith("1"):
            return digits
        return f"1{digits}" if len(digits) == 10 else None
    trunk = _NATIONAL_TRUNK_PREFIX.get(country_code, "0")
    if trunk and digits.startswith(trunk):
        digits = digits[len(trunk) :]
    return country_code + digits
