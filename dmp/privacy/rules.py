"""Names of the ad-platform normalisation rules, shared by the pure and the Spark functions."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, get_args

import phonenumbers

from dmp.privacy import _patterns

EmailRule = Literal["basic", "meta", "google", "uid2"]
"""``basic``/``meta``: trim and lower-case. ``google``: also drop dots and ``+tags`` in
gmail.com and googlemail.com local parts. ``uid2``: the same for gmail.com only."""

PhoneRule = Literal["e164", "meta"]
"""``e164``: ``+`` and digits (Google, UID2). ``meta``: digits only, with country code."""

NameRule = Literal["meta", "google"]
"""``meta``: letters only. ``google``: lower-cased, trimmed, inner spaces kept (collapsed)."""

ZipRule = Literal["meta", "google"]
"""``meta``: hashed form (lower case, no spaces, US 5 digits, UK sector). ``google``: the
plain-text form Customer Match uploads unhashed (upper case, single spaces)."""


def check_rule(rule: str, allowed: object, what: str) -> None:
    """Raise a ``ValueError`` naming the valid choices when ``rule`` is not one of them.

    Args:
        rule: The rule the caller asked for.
        allowed: A ``Literal`` type listing the valid rules.
        what: What the rule is for, used in the message (e.g. ``"e-mail"``).

    Raises:
        ValueError: If ``rule`` is not one of the literal's values.
    """
    choices: tuple[str, ...] = get_args(allowed)
    if rule not in choices:
        raise ValueError(
            f"unknown {what} rule {rule!r}: expected one of {', '.join(map(repr, choices))}"
        )


def check_country_calling_code(code: str) -> str:
    """Validate a default country calling code and return it without a leading ``+``.

    Args:
        code: A country calling code such as ``"1"``, ``"44"`` or ``"+86"``.

    Returns:
        The code's digits.

    Raises:
        ValueError: If the code is not 1 to 3 digits starting with 1-9.
    """
    digits = code[1:] if isinstance(code, str) and code.startswith("+") else code
    if not isinstance(digits, str) or re.fullmatch(_patterns.COUNTRY_CALLING_CODE, digits) is None:
        raise ValueError(
            f"invalid default country calling code {code!r}: expected 1 to 3 digits such as "
            "'1' (US/Canada), '44' (UK) or '86' (China)"
        )
    return digits


@lru_cache(maxsize=64)
def phone_region(default_country_code: str) -> str:
    """The region whose national numbering plan reads phone numbers written without a country code.

    A calling code shared by several regions maps to its main region, as libphonenumber
    defines it (``"1"`` -> ``US``, ``"7"`` -> ``RU``, ``"44"`` -> ``GB``, ``"39"`` -> ``IT``).
    The region only decides how a *national* number is read (its trunk prefix, its length);
    validity is then checked against the region the number turns out to belong to, so a
    Canadian number read with ``US`` is still valid.

    Args:
        default_country_code: A country calling code such as ``"1"``, ``"44"`` or ``"+86"``.

    Returns:
        An ISO 3166-1 alpha-2 region code in upper case (libphonenumber's spelling).

    Raises:
        ValueError: If the code is malformed, unassigned (``"999"``) or non-geographic
            (``"800"``: such numbers have no national form to read).
    """
    digits = check_country_calling_code(default_country_code)
    region = phonenumbers.region_code_for_country_code(int(digits))
    if region in (phonenumbers.UNKNOWN_REGION, phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY):
        raise ValueError(
            f"invalid default country calling code {default_country_code!r}: no country dials "
            "national numbers with it; expected an assigned code such as '1' (US/Canada), "
            "'44' (UK) or '86' (China)"
        )
    return region
