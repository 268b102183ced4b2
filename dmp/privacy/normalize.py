"""Pure-Python normalisation of personal data to each ad platform's published rules.

This module is the reference that the Spark expressions in :mod:`dmp.privacy.columns` must
match value for value. Every function returns ``None`` for a missing, empty or invalid value
rather than raising, because invalid contact data is common and must simply not be hashed.

Sources (checked 2026):

- Google Data Manager API / Customer Match, "Format user data"
  (https://developers.google.com/data-manager/api/devguides/concepts/formatting) and Google's
  reference ``googleads/data-manager-python`` ``datamanager_util/format.py``.
- Meta Marketing API, "Customer File Custom Audiences", *Hashing and normalizing data*
  (https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences), and
  Meta's ``facebook-python-business-sdk`` ``serverside/normalize.py``.
- UID2, "Normalization and Encoding"
  (https://unifiedid.com/docs/getting-started/gs-normalization-encoding).
- Phone numbers are parsed and validated by Google's libphonenumber (``phonenumbers``),
  whose per-country metadata replaces hand-written trunk and length rules.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

import phonenumbers

from dmp.privacy import _patterns as p
from dmp.privacy.rules import (
    EmailRule,
    NameRule,
    PhoneRule,
    ZipRule,
    check_rule,
    phone_region,
)

_EMAIL = re.compile(p.EMAIL)
_PHONE_SYNTAX = re.compile(p.PHONE_SYNTAX)
_PHONE_PLUS_PREFIX = re.compile(p.PHONE_PLUS_PREFIX)
_NON_DIGIT = re.compile("[^0-9]")
_HONORIFIC_PREFIX = re.compile(p.HONORIFIC_PREFIX)
_GENERATIONAL_SUFFIX = re.compile(p.GENERATIONAL_SUFFIX)
_INTERNAL_WHITESPACE = re.compile(p.INTERNAL_WHITESPACE)
_BIRTH_YEAR = re.compile(p.BIRTH_YEAR)
_US_ZIP = re.compile(p.US_ZIP)
_UK_POSTCODE = re.compile(p.UK_POSTCODE)
_POSTCODE = re.compile(p.POSTCODE_CHARS)
_POSTCODE_SPACED = re.compile(p.POSTCODE_CHARS_SPACED)
_HAS_DIGIT = re.compile("[0-9]")
_MAILTO_PREFIX = re.compile(p.MAILTO_PREFIX)
_NAMED_ADDRESS = re.compile(p.NAMED_ADDRESS)
_TEL_PREFIX = re.compile(p.TEL_PREFIX)

_FEMALE = frozenset({"f", "female", "w", "woman"})
_MALE = frozenset({"m", "male", "man"})


def trim(raw: str) -> str:
    """Strip leading and trailing whitespace, including Unicode spaces, ZWSP and BOM.

    Args:
        raw: Any string.

    Returns:
        ``raw`` without the characters of ``_patterns.WHITESPACE_CHARS`` at either end.
    """
    return raw.strip(p.WHITESPACE_CHARS)


def normalize_email(raw: str | None, rule: EmailRule = "basic") -> str | None:
    """Normalise an e-mail address for hashing under an ad platform's rule.

    All rules trim surrounding whitespace and lower-case the address, then reject anything
    that is not a single ``local@domain`` address (no ``@`` or several, empty local part,
    domain without a dot or with an empty label, whitespace or control characters inside).

    - ``basic`` / ``meta``: nothing more. Meta: "Trim leading and trailing white space and
      convert all characters to lowercase"; Meta does not remove gmail dots or ``+tags``.
    - ``google``: for ``gmail.com`` and ``googlemail.com`` addresses remove everything from
      the first ``+`` of the local part and all dots of the local part (Google:
      ``cloudy.sanfrancisco+shopping@gmail.com`` -> ``cloudysanfrancisco@gmail.com``). The
      domain is kept as written: Google's rules and reference code never rewrite
      ``googlemail.com`` to ``gmail.com``. Other domains keep dots and ``+`` (Google:
      ``user.name+NYC@Example.com`` -> ``user.name+nyc@example.com``).
    - ``uid2``: the same, but for ``gmail.com`` only, as UID2 documents
      (``jane.doe+alias@gmail.com`` -> ``janedoe@gmail.com``).

    An address whose gmail local part is empty after this (``+tag@gmail.com``) is invalid.

    Args:
        raw: The address as captured, or ``None``.
        rule: Which platform's rule to apply.

    Returns:
        The normalised address, or ``None`` if ``raw`` is missing or not an e-mail address.

    Raises:
        ValueError: If ``rule`` is not a known e-mail rule.
    """
    check_rule(rule, EmailRule, "e-mail")
    if raw is None:
        return None
    address = trim(raw).lower()
    if _EMAIL.fullmatch(address) is None:
        return None
    local, domain = address.split("@")
    if (rule == "google" and domain in p.GMAIL_DOMAINS) or (
        rule == "uid2" and domain == "gmail.com"
    ):
        local = local.split("+", 1)[0].replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


def normalize_phone(
    raw: str | None, rule: PhoneRule = "e164", default_country_code: str = "1"
) -> str | None:
    """Normalise a phone number to E.164 (Google, UID2) or Meta's digits-only form.

    The number is read and checked by Google's libphonenumber (the ``phonenumbers``
    package), which knows every country's numbering plan:

    1. Trim, then reject anything but digits, spaces and ``( ) . - /`` after an optional
       leading ``+`` (or ``(+``): extensions (``ext 12``, ``x12``, ``;ext=``) and vanity
       numbers (``1-800-FLOWERS``) are rejected rather than guessed at, because the number
       they stand for is not the person's own line.
    2. A number starting with ``+`` is international. So is one starting with ``00`` (the
       ITU international prefix, used in most of the world: ``0044 20 ...``); other
       international prefixes of the default region (``011`` in NANP) are understood too.
       Any other number is national and is read with the numbering plan of the region of
       ``default_country_code`` (:func:`~dmp.privacy.rules.phone_region`), which knows its
       trunk prefix (``0`` in most countries, ``8`` in Russia, ``06`` in Hungary, none in
       Italy, whose ``0`` stays, ``1`` in NANP) and a printed ``(0)`` marker.
    3. The number must be valid in its country (``phonenumbers.is_valid_number``: a known
       country code, the right length and an assigned number range, e.g. NANP area and
       exchange codes that do not start with 0 or 1). Merely *possible* numbers are
       rejected: a hash of a number that cannot exist never matches, and it would join
       people on junk. Validity follows the installed ``phonenumbers`` metadata, which
       gains newly assigned ranges in its releases (pinned to one major version).

    Google: "Use the E.164 format. Include the plus sign (+) and the country code", e.g.
    ``(800)555-0100`` -> ``+18005550100``. UID2: ``[+][country code][subscriber number]``,
    e.g. ``(02) 1234 5678`` in Sydney -> ``+61212345678``. Meta: "Remove symbols, letters,
    and any leading zeroes" and include the country code, e.g. ``+1 (415) 555-0132`` ->
    ``14155550132``.

    Results are cached per (text, region): the same numbers recur across events.

    Args:
        raw: The number as captured, or ``None``.
        rule: ``"e164"`` for ``+`` and digits, ``"meta"`` for digits only.
        default_country_code: Country calling code for national numbers (``"1"``, ``"44"``;
            a leading ``+`` is accepted).

    Returns:
        The normalised number, or ``None`` if ``raw`` is missing or not a valid number.

    Raises:
        ValueError: If ``rule`` or ``default_country_code`` is invalid.
    """
    check_rule(rule, PhoneRule, "phone")
    region = phone_region(default_country_code)
    if raw is None:
        return None
    text = trim(raw)
    if len(text) > _MAX_PHONE_TEXT:
        return None
    e164 = _e164(text, region)
    if e164 is None or rule == "e164":
        return e164
    return e164[1:]


# libphonenumber refuses longer input itself; the bound also keeps the cache's keys small.
_MAX_PHONE_TEXT = 250


@lru_cache(maxsize=1 << 15)
def _e164(text: str, region: str) -> str | None:
    if _PHONE_SYNTAX.fullmatch(text) is None:
        return None
    # The parser is handed bare digits (the syntax check leaves only separators besides
    # them): it reads them as it reads the punctuated text, in half the time.
    digits = _NON_DIGIT.sub("", text)
    if _PHONE_PLUS_PREFIX.match(text):
        digits = "+" + digits
    elif digits.startswith("00"):
        digits = "+" + digits[2:]
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_in_identifier(raw: str | None) -> str | None:
    """The e-mail address an identifier carries, in the form its pseudonym is hashed from.

    Any identifier with an ``@`` is taken to carry an address (a leaked address is worse
    than a hashed handle). It is trimmed and lower-cased, a ``mailto:`` scheme is dropped,
    ``Display Name <address>`` gives the address between the brackets (when that holds the
    ``@``), and whitespace, ``.``, ``;`` and ``,`` are stripped from both ends. A valid
    address therefore comes out exactly as :func:`normalize_email` (``basic``) gives it,
    so every form of it shares one pseudonym; a domain without a dot (``jane@localhost``)
    is kept as it is rather than rejected.

    >>> email_in_identifier("Jane Doe <Jane@Example.com>")
    'jane@example.com'
    >>> email_in_identifier("mailto:jane@example.com;")
    'jane@example.com'
    >>> email_in_identifier("u_123") is None
    True

    Args:
        raw: An identifier as captured (a user id, anonymous id, partner id), or ``None``.

    Returns:
        The address text to hash, or ``None`` if the identifier has no ``@``.
    """
    if raw is None:
        return None
    text = _MAILTO_PREFIX.sub("", trim(raw).lower())
    named = _NAMED_ADDRESS.fullmatch(text)
    if named is not None and "@" in named.group(1):
        text = named.group(1)
    text = text.strip(p.IDENTIFIER_EDGE_CHARS)
    return text if "@" in text else None


def phone_in_identifier(raw: str | None, default_country_code: str = "1") -> str | None:
    """The phone number an identifier is, in E.164, or ``None`` if it is not one.

    An optional ``tel:`` scheme is dropped; the rest must be a number
    :func:`normalize_phone` accepts with the configured default country code. So
    ``+1 (415) 555-0132``, ``tel:+14155550132`` and a national ``4155550132`` (country code
    1) all give ``+14155550132``. A digits-only id of a phone number's length is therefore
    treated as a phone number: it cannot be told apart from one, and hashing an opaque id
    loses nothing but readability. Ids with letters (``u_123``, UUIDs) never match.

    Args:
        raw: An identifier as captured, or ``None``.
        default_country_code: Country calling code for national numbers.

    Returns:
        The E.164 number, or ``None``.
    """
    if raw is None:
        return None
    return normalize_phone(_TEL_PREFIX.sub("", trim(raw)), "e164", default_country_code)


def letters_only(text: str) -> str:
    """Keep only Unicode letters and combining marks (categories L* and M*).

    Args:
        text: Any string.

    Returns:
        ``text`` without spaces, punctuation, digits, symbols and control characters.
    """
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LM")


def normalize_name(raw: str | None, rule: NameRule = "meta") -> str | None:
    """Normalise a first or last name (Meta FN/LN, Google First Name/Last Name).

    Both rules trim, lower-case (Unicode-aware, accents kept) and drop a leading honorific
    (``Mr``, ``Mrs``, ``Ms``, ``Dr``, ...) and a trailing generational suffix or degree
    (``Jr``, ``Sr``, ``II``-``IV``, ``PhD``, ...): Google says "Don't include prefixes such
    as Mrs." / "suffixes such as Jr.", and a title can never match Meta's records either.

    - ``meta``: keep letters only. Meta: "Use a-z only. Lowercase only, no punctuation.
      Special characters in UTF-8 format" -- non-ASCII letters are kept as UTF-8, while
      spaces, hyphens, apostrophes and digits are removed (``Mary-Jane O'Neil`` ->
      ``maryjaneoneil``).
    - ``google``: "Convert to lowercase", "Trim leading and trailing whitespace"; runs of
      inner whitespace are collapsed to one space and punctuation is kept.

    Args:
        raw: The name as captured, or ``None``.
        rule: Which platform's rule to apply.

    Returns:
        The normalised name, or ``None`` if nothing is left.

    Raises:
        ValueError: If ``rule`` is not a known name rule.
    """
    check_rule(rule, NameRule, "name")
    if raw is None:
        return None
    name = trim(raw).lower()
    name = _GENERATIONAL_SUFFIX.sub("", _HONORIFIC_PREFIX.sub("", name))
    name = letters_only(name) if rule == "meta" else _INTERNAL_WHITESPACE.sub(" ", name)
    return name or None


def normalize_gender(raw: str | None) -> str | None:
    """Normalise a gender to Meta's GEN values (``f`` or ``m``).

    Meta: "Use these values: m for male and f for female." Accepted inputs, ignoring case and
    surrounding whitespace: ``f``, ``female``, ``w``, ``woman`` and ``m``, ``male``, ``man``;
    anything else is not matchable and gives ``None``.

    Args:
        raw: The gender as captured, or ``None``.

    Returns:
        ``"f"``, ``"m"`` or ``None``.
    """
    if raw is None:
        return None
    value = trim(raw).lower()
    if value in _FEMALE:
        return "f"
    return "m" if value in _MALE else None


def normalize_birth_year(raw: str | int | date | None) -> str | None:
    """Normalise a year of birth to Meta's DOBY form (``YYYY``).

    Meta: "Use the YYYY format from 1900 to current year." Accepts a year (string or int) or
    an ISO date/date-time whose year is used. The upper bound is 2099 rather than the current
    year, so the result never depends on the wall clock.

    Args:
        raw: A year, an ISO date string, a ``datetime.date``, or ``None``.

    Returns:
        The four-digit year, or ``None`` if ``raw`` is not a year 1900-2099.
    """
    if raw is None:
        return None
    match = _BIRTH_YEAR.fullmatch(trim(str(raw)))
    return match.group(1) if match else None


def normalize_city(raw: str | None) -> str | None:
    """Normalise a city to Meta's CT form.

    Meta: "Use a-z only. Lowercase only, no punctuation, no special characters, no white
    space" (with non-ASCII letters kept in UTF-8): ``São Paulo`` -> ``sãopaulo``,
    ``St. Louis`` -> ``stlouis``. Google Customer Match does not use a city.

    Args:
        raw: The city as captured, or ``None``.

    Returns:
        The normalised city, or ``None`` if no letters are left.
    """
    if raw is None:
        return None
    return letters_only(trim(raw).lower()) or None


def normalize_state(raw: str | None) -> str | None:
    """Normalise a state or region to Meta's ST form.

    Meta: "Use the 2-character ANSI abbreviation code, lowercase. Normalize states outside
    U.S. in lowercase, no punctuation, no special characters, no white space." US state and
    territory names are mapped to their code (``New York`` -> ``ny``); anything else is
    lower-cased to letters only (``Île-de-France`` -> ``îledefrance``).

    Args:
        raw: The state as captured, or ``None``.

    Returns:
        The normalised state, or ``None`` if no letters are left.
    """
    if raw is None:
        return None
    letters = letters_only(trim(raw).lower())
    return p.US_STATES.get(letters, letters) or None


def normalize_zip(raw: str | None, rule: ZipRule = "meta") -> str | None:
    """Normalise a ZIP or postal code (Meta ZIP, hashed; Google Zip, sent in plain text).

    A postal code must contain a digit and only ASCII letters, digits, dashes and spaces.

    - ``meta``: "Use lowercase, no white space. Use only the first 5 digits for U.S. Use
      Area/District/Sector format for the UK": ``94303-5300`` -> ``94303``,
      ``SW1A 1AA`` -> ``sw1a1``, ``K1A 0B1`` -> ``k1a0b1``.
    - ``google``: trimmed, upper-cased, single spaces (``wc2h  8lg`` -> ``WC2H 8LG``); US
      ZIP+4 is kept, which Google says "may improve your match rate".

    Args:
        raw: The postal code as captured, or ``None``.
        rule: Which platform's rule to apply.

    Returns:
        The normalised postal code, or ``None`` if ``raw`` is missing or not a postal code.

    Raises:
        ValueError: If ``rule`` is not a known ZIP rule.
    """
    check_rule(rule, ZipRule, "zip")
    if raw is None:
        return None
    if rule == "google":
        spaced = _INTERNAL_WHITESPACE.sub(" ", trim(raw)).lower()
        if _POSTCODE_SPACED.fullmatch(spaced) is None or not _HAS_DIGIT.search(spaced):
            return None
        return spaced.upper()
    compact = _INTERNAL_WHITESPACE.sub("", trim(raw)).lower()
    if _POSTCODE.fullmatch(compact) is None or not _HAS_DIGIT.search(compact):
        return None
    if us := _US_ZIP.fullmatch(compact):
        return us.group(1)
    if uk := _UK_POSTCODE.fullmatch(compact):
        return uk.group(1) + uk.group(2)
    return compact


def normalize_country(raw: str | None) -> str | None:
    """Normalise a country to its ISO 3166-1 alpha-2 code in lower case.

    Meta COUNTRY: "Use lowercase, 2-letter country codes in ISO 3166-1 alpha-2." Google
    Customer Match keeps Country unhashed and accepts the same two-letter codes (its
    template uses ``us``, ``cn``, ``sg``). Dots and spaces are ignored (``U.S.`` -> ``us``);
    alpha-3 codes are mapped (``USA`` -> ``us``, as in Segment's spec examples), as are
    ``UK`` and the names of the US and the UK; other country names are not guessed.

    Args:
        raw: The country code as captured, or ``None``.

    Returns:
        The lower-case alpha-2 code, or ``None`` if it is not an assigned ISO code.
    """
    if raw is None:
        return None
    code = re.sub(rf"[{p.WS}.]", "", trim(raw)).lower()
    code = p.COUNTRY_ALIASES.get(code, code)
    return code if code in p.ISO_3166_ALPHA2 else None
