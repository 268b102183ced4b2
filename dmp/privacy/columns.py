"""Spark ``Column`` expressions that normalise, hash and mask personal data.

Each function mirrors its pure-Python reference in :mod:`dmp.privacy.normalize`,
:mod:`dmp.privacy.hashing` or :mod:`dmp.privacy.masking` and gives the same value for every
input (``tests/spark/test_privacy_columns.py`` checks this on a messy corpus). They use only
Spark's built-in functions, so they run in the JVM at full speed on any number of rows, and
they share their regular expressions with the reference (:mod:`dmp.privacy._patterns`).
The exception is phone numbers: every country's numbering plan lives in libphonenumber's
metadata, so :func:`phone_normalized`, :func:`phone_in_identifier_col` (and the phone
tokens of :func:`mask_pii_col`) are vectorised pandas UDFs that call the reference itself.
A ``null`` input, or one the rule rejects, gives ``null``.

Example (on a Spark DataFrame ``df`` with an ``email`` column)::

    df.select(uid2_hash_col(email_normalized("email", "uid2")).alias("email_uid2"))
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F

from dmp.privacy import _patterns as p
from dmp.privacy.normalize import normalize_phone, phone_in_identifier
from dmp.privacy.rules import (
    EmailRule,
    NameRule,
    PhoneRule,
    ZipRule,
    check_rule,
    phone_region,
)

ColumnOrName = Column | str

_FEMALE = ("f", "female", "w", "woman")
_MALE = ("m", "male", "man")


def _column(col: ColumnOrName) -> Column:
    return F.col(col) if isinstance(col, str) else col


def _trimmed(col: ColumnOrName) -> Column:
    return F.trim(_column(col).cast("string"), F.lit(p.WHITESPACE_CHARS))


def _letters_only(col: Column) -> Column:
    return F.regexp_replace(col, p.NON_LETTER, "")


def _whole(col: Column, pattern: str) -> Column:
    return col.rlike(p.anchored(pattern))


def email_normalized(col: ColumnOrName, rule: EmailRule = "basic") -> Column:
    """Normalise e-mail addresses; see :func:`dmp.privacy.normalize.normalize_email`.

    Args:
        col: A string column (or its name) of raw addresses.
        rule: ``"basic"``, ``"meta"``, ``"google"`` or ``"uid2"``.

    Returns:
        A string column of normalised addresses, ``null`` where invalid.

    Raises:
        ValueError: If ``rule`` is not a known e-mail rule.
    """
    check_rule(rule, EmailRule, "e-mail")
    address = F.lower(_trimmed(col))
    valid = _whole(address, p.EMAIL)
    if rule in ("basic", "meta"):
        return F.when(valid, address)
    gmail_domains = p.GMAIL_DOMAINS if rule == "google" else ("gmail.com",)
    local = F.substring_index(address, "@", 1)
    domain = F.substring_index(address, "@", -1)
    without_tag_and_dots = F.replace(F.substring_index(local, "+", 1), F.lit("."), F.lit(""))
    local = F.when(domain.isin(*gmail_domains), without_tag_and_dots).otherwise(local)
    return F.when(valid & (F.length(local) > 0), F.concat(local, F.lit("@"), domain))


def phone_normalized(
    col: ColumnOrName, rule: PhoneRule = "e164", default_country_code: str = "1"
) -> Column:
    """Normalise phone numbers; see :func:`dmp.privacy.normalize.normalize_phone`.

    The one expression here that is not built from Spark's functions: numbering plans of
    every country live in libphonenumber's metadata, which the JVM does not have, so this is
    a vectorised (Arrow) pandas UDF calling the reference itself -- the two agree by
    construction. It costs a Python round trip per batch and the reference's cached per-row
    work (see ``benchmarks/bench_phones.py``). Like every Python UDF it cannot be used
    inside a higher-order function's lambda (``transform``, ``filter``, ...).

    Args:
        col: A string column (or its name) of raw phone numbers.
        rule: ``"e164"`` (``+`` and digits) or ``"meta"`` (digits only).
        default_country_code: Country calling code for numbers without ``+`` or ``00``.

    Returns:
        A string column of normalised numbers, ``null`` where invalid.

    Raises:
        ValueError: If ``rule`` or ``default_country_code`` is invalid.
    """
    check_rule(rule, PhoneRule, "phone")
    phone_region(default_country_code)
    return _phone_udf(rule, default_country_code)(_column(col).cast("string"))


@lru_cache(maxsize=32)
def _phone_udf(rule: PhoneRule, default_country_code: str) -> Callable[[Column], Column]:
    def normalized(raw: pd.Series) -> pd.Series:
        return pd.Series(
            [normalize_phone(v, rule, default_country_code) for v in raw], dtype=object
        )

    udf: Callable[[Column], Column] = F.pandas_udf(normalized, "string")  # type: ignore[call-overload]
    return udf


def _let(value: Column, body: Callable[[Column], Column]) -> Column:
    # Inside a higher-order function's lambda nothing is shared: bind a value once by
    # passing it through a one-element array.
    return F.get(F.transform(F.array(value), body), 0)


def _phone_keys(raw: pd.Series) -> pd.Series:
    # Per row, the E.164 form (default country 1) of each match found in the text, or None:
    # the keys of the phone mask tokens, computed outside mask_pii_col's lambdas.
    return pd.Series(
        [None if found is None else [normalize_phone(m) for m in found] for found in raw],
        dtype=object,
    )


def email_in_identifier_col(col: ColumnOrName) -> Column:
    """The address an identifier carries; see :func:`dmp.privacy.normalize.email_in_identifier`.

    Args:
        col: A string column (or its name) of identifiers.

    Returns:
        A string column of address texts, ``null`` for identifiers without ``@``.
    """
    text = F.regexp_replace(F.lower(_trimmed(col)), p.MAILTO_PREFIX, "")
    named = p.anchored(p.NAMED_ADDRESS)
    inside = F.regexp_extract(text, named, 1)
    text = F.when(text.rlike(named) & inside.contains("@"), inside).otherwise(text)
    text = F.trim(text, F.lit(p.IDENTIFIER_EDGE_CHARS))
    return F.when(text.contains("@"), text)


def phone_in_identifier_col(col: ColumnOrName, default_country_code: str = "1") -> Column:
    """The E.164 number an identifier is; see :func:`~dmp.privacy.normalize.phone_in_identifier`.

    Args:
        col: A string column (or its name) of identifiers.
        default_country_code: Country calling code for national numbers.

    Returns:
        A string column of E.164 numbers, ``null`` where the identifier is not a phone.
    """
    phone_region(default_country_code)
    return _phone_in_identifier_udf(default_country_code)(_column(col).cast("string"))


@lru_cache(maxsize=32)
def _phone_in_identifier_udf(default_country_code: str) -> Callable[[Column], Column]:
    def in_identifier(raw: pd.Series) -> pd.Series:
        return pd.Series([phone_in_identifier(v, default_country_code) for v in raw], dtype=object)

    udf: Callable[[Column], Column] = F.pandas_udf(in_identifier, "string")  # type: ignore[call-overload]
    return udf


_HMAC_BLOCK_BYTES = 64  # SHA-256's block size


def hmac_sha256_hex_col(col: ColumnOrName, key: bytes) -> Column:
    """HMAC-SHA256 as lower-case hex; see :func:`dmp.privacy.hashing.hmac_sha256_hex`.

    Spark has no HMAC function, so RFC 2104 is spelled out with ``sha2`` over binary
    values: ``H((K ^ opad) || H((K ^ ipad) || m))``. The two padded keys are literals of the
    plan: treat a printed plan (``explain``) of a query using this as secret.

    Args:
        col: A column (or its name) of normalised values; non-strings are cast to string.
        key: The secret key.

    Returns:
        A string column of 64-character hex digests; ``null`` stays ``null``.
    """
    block = hashlib.sha256(key).digest() if len(key) > _HMAC_BLOCK_BYTES else key
    block = block.ljust(_HMAC_BLOCK_BYTES, b"\0")
    inner_key = bytearray(b ^ 0x36 for b in block)
    outer_key = bytearray(b ^ 0x5C for b in block)
    message = F.encode(_column(col).cast("string"), "UTF-8")
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_key), message), 256))
    return F.sha2(F.concat(F.lit(outer_key), inner), 256)


def pseudonymous_id_col(
    col: ColumnOrName, default_country_code: str = "1", *, key: bytes
) -> Column:
    """Pseudonymise e-mail and phone identifiers; see :func:`dmp.privacy.pseudonymous_id`.

    Args:
        col: A string column (or its name) of identifiers.
        default_country_code: Country calling code for national phone numbers.
        key: The secret key of internal ids (``Settings.id_key()``).

    Returns:
        A string column: ``email-hmac:<hex>``, ``phone-hmac:<hex>`` or the identifier.
    """
    from dmp.privacy.hashing import EMAIL_ID_PREFIX, PHONE_ID_PREFIX

    email = email_in_identifier_col(col)
    phone = phone_in_identifier_col(col, default_country_code)
    return (
        F.when(email.isNotNull(), F.concat(F.lit(EMAIL_ID_PREFIX), hmac_sha256_hex_col(email, key)))
        .when(phone.isNotNull(), F.concat(F.lit(PHONE_ID_PREFIX), hmac_sha256_hex_col(phone, key)))
        .otherwise(_column(col).cast("string"))
    )


def name_normalized(col: ColumnOrName, rule: NameRule = "meta") -> Column:
    """Normalise first or last names; see :func:`dmp.privacy.normalize.normalize_name`.

    Args:
        col: A string column (or its name) of raw names.
        rule: ``"meta"`` (letters only) or ``"google"`` (lower case, spaces collapsed).

    Returns:
        A string column of normalised names, ``null`` where nothing is left.

    Raises:
        ValueError: If ``rule`` is not a known name rule.
    """
    check_rule(rule, NameRule, "name")
    name = F.lower(_trimmed(col))
    name = F.regexp_replace(
        F.regexp_replace(name, p.HONORIFIC_PREFIX, ""), p.GENERATIONAL_SUFFIX, ""
    )
    if rule == "meta":
        name = _letters_only(name)
    else:
        name = F.regexp_replace(name, p.INTERNAL_WHITESPACE, " ")
    return F.when(F.length(name) > 0, name)


def gender_normalized(col: ColumnOrName) -> Column:
    """Normalise genders to ``f``/``m``; see :func:`dmp.privacy.normalize.normalize_gender`.

    Args:
        col: A string column (or its name) of raw genders.

    Returns:
        A string column of ``"f"``, ``"m"`` or ``null``.
    """
    value = F.lower(_trimmed(col))
    return F.when(value.isin(*_FEMALE), F.lit("f")).when(value.isin(*_MALE), F.lit("m"))


def birth_year_normalized(col: ColumnOrName) -> Column:
    """Normalise years of birth; see :func:`dmp.privacy.normalize.normalize_birth_year`.

    Args:
        col: A string, integer, date or timestamp column (or its name).

    Returns:
        A string column of four-digit years 1900-2099, ``null`` otherwise.
    """
    text = _trimmed(col)
    pattern = p.anchored(p.BIRTH_YEAR)
    return F.when(text.rlike(pattern), F.regexp_extract(text, pattern, 1))


def city_normalized(col: ColumnOrName) -> Column:
    """Normalise cities to Meta's CT form; see :func:`dmp.privacy.normalize.normalize_city`.

    Args:
        col: A string column (or its name) of raw city names.

    Returns:
        A string column of lower-case letters-only cities, ``null`` where nothing is left.
    """
    city = _letters_only(F.lower(_trimmed(col)))
    return F.when(F.length(city) > 0, city)


def state_normalized(col: ColumnOrName) -> Column:
    """Normalise states to Meta's ST form; see :func:`dmp.privacy.normalize.normalize_state`.

    Args:
        col: A string column (or its name) of raw states or regions.

    Returns:
        A string column of US state codes or letters-only region names, ``null`` if empty.
    """
    letters = _letters_only(F.lower(_trimmed(col)))
    us_states = F.create_map(
        *[F.lit(part) for name, code in sorted(p.US_STATES.items()) for part in (name, code)]
    )
    state = F.coalesce(F.try_element_at(us_states, letters), letters)
    return F.when(F.length(letters) > 0, state)


def zip_normalized(col: ColumnOrName, rule: ZipRule = "meta") -> Column:
    """Normalise postal codes; see :func:`dmp.privacy.normalize.normalize_zip`.

    Args:
        col: A string column (or its name) of raw ZIP or postal codes.
        rule: ``"meta"`` (hashed form) or ``"google"`` (plain-text form).

    Returns:
        A string column of normalised postal codes, ``null`` where invalid.

    Raises:
        ValueError: If ``rule`` is not a known ZIP rule.
    """
    check_rule(rule, ZipRule, "zip")
    if rule == "google":
        spaced = F.lower(F.regexp_replace(_trimmed(col), p.INTERNAL_WHITESPACE, " "))
        valid = _whole(spaced, p.POSTCODE_CHARS_SPACED) & spaced.rlike("[0-9]")
        return F.when(valid, F.upper(spaced))
    compact = F.lower(F.regexp_replace(_trimmed(col), p.INTERNAL_WHITESPACE, ""))
    valid = _whole(compact, p.POSTCODE_CHARS) & compact.rlike("[0-9]")
    us_zip = p.anchored(p.US_ZIP)
    uk_postcode = p.anchored(p.UK_POSTCODE)
    normalized = (
        F.when(compact.rlike(us_zip), F.regexp_extract(compact, us_zip, 1))
        .when(
            compact.rlike(uk_postcode),
            F.concat(
                F.regexp_extract(compact, uk_postcode, 1),
                F.regexp_extract(compact, uk_postcode, 2),
            ),
        )
        .otherwise(compact)
    )
    return F.when(valid, normalized)


def country_normalized(col: ColumnOrName) -> Column:
    """Normalise countries to ISO alpha-2; see :func:`dmp.privacy.normalize.normalize_country`.

    Args:
        col: A string column (or its name) of raw country codes.

    Returns:
        A string column of lower-case ISO 3166-1 alpha-2 codes, ``null`` otherwise.
    """
    code = F.lower(F.regexp_replace(_trimmed(col), f"[{p.WS}.]", ""))
    aliases = F.create_map(
        *[F.lit(part) for alias, iso in sorted(p.COUNTRY_ALIASES.items()) for part in (alias, iso)]
    )
    code = F.coalesce(F.try_element_at(aliases, code), code)
    return F.when(code.isin(*sorted(p.ISO_3166_ALPHA2)), code)


def sha256_hex_col(col: ColumnOrName) -> Column:
    """SHA-256 as lower-case hex; see :func:`dmp.privacy.hashing.sha256_hex`.

    Args:
        col: A column (or its name) of normalised values; non-strings are cast to string.

    Returns:
        A string column of 64-character hex digests; ``null`` stays ``null``.
    """
    return F.sha2(_column(col).cast("string"), 256)


def uid2_hash_col(col: ColumnOrName) -> Column:
    """Base64 of the raw SHA-256 digest, as UID2 expects; see :func:`~dmp.privacy.uid2_hash`.

    Args:
        col: A column (or its name) of values normalised with the ``uid2``/``e164`` rules.

    Returns:
        A string column of 44-character Base64 digests; ``null`` stays ``null``.
    """
    return F.base64(F.unhex(F.sha2(_column(col).cast("string"), 256)))


def truncate_ip_col(col: ColumnOrName) -> Column:
    """Truncate IP addresses (IPv4 /24, IPv6 /48); see :func:`dmp.privacy.truncate_ip`.

    The IPv6 address is expanded around its ``::`` to find its first three hextets, which
    are printed without leading zeros and with the trailing zero hextets compressed, as
    RFC 5952 (and Python's ``ipaddress``) print them.

    Args:
        col: A string column (or its name) of raw IP addresses.

    Returns:
        A string column of truncated addresses, ``null`` where not an IP address.
    """
    text = F.lower(_trimmed(col))
    ipv4 = F.regexp_replace(text, r"\.[0-9]+\z", ".0")

    compressed = text.contains("::")
    left = F.when(compressed, F.substring_index(text, "::", 1)).otherwise(text)
    right = F.when(compressed, F.substring_index(text, "::", -1)).otherwise(F.lit(""))
    no_groups = F.array().cast("array<string>")
    left_groups = F.when(left == "", no_groups).otherwise(F.split(left, ":"))
    right_groups = F.when(right == "", no_groups).otherwise(F.split(right, ":"))
    # An embedded IPv4 tail is one array element but two hextets wide.
    right_width = F.size(right_groups) + F.when(right.contains("."), 1).otherwise(0)
    zeros = F.array_repeat(F.lit("0"), 8 - F.size(left_groups) - right_width)
    hextets = F.when(compressed, F.concat(left_groups, zeros, right_groups)).otherwise(left_groups)
    first, second, third = (
        F.lower(F.conv(F.try_element_at(hextets, F.lit(i)), 16, 16)) for i in (1, 2, 3)
    )
    ipv6 = (
        F.when(third != "0", F.concat_ws(":", first, second, third))
        .when(second != "0", F.concat_ws(":", first, second))
        .when(first != "0", first)
        .otherwise(F.lit(""))
    )
    return F.when(_whole(text, p.IPV4), ipv4).when(
        _whole(text, p.IPV6), F.concat(ipv6, F.lit("::"))
    )


def _unescape_email(col: Column) -> Column:
    for pattern, replacement in p.ESCAPED_EMAIL_PUNCTUATION:
        col = F.regexp_replace(col, pattern, replacement)
    return col


def _token(kind: str, key: Column) -> Column:
    return F.concat(F.lit(f"<{kind}:"), F.substring(F.sha2(key, 256), 1, 8), F.lit(">"))


def _email_token(found: Column) -> Column:
    return _token("email", F.lower(_unescape_email(found)))


def _phone_token(found: Column, e164: Column) -> Column:
    return _token("phone", F.coalesce(e164, F.regexp_replace(found, "[^0-9]", "")))


def _key_value_token(found: Column) -> Column:
    pattern = p.anchored(p.KEY_VALUE_IN_TEXT)
    quoted = F.regexp_extract(found, pattern, p.KEY_VALUE_QUOTED_GROUP)
    value = F.when(quoted != "", quoted).otherwise(
        F.regexp_extract(found, pattern, p.KEY_VALUE_BARE_GROUP)
    )
    key = F.lower(F.regexp_extract(found, pattern, p.KEY_VALUE_KEY_GROUP))
    kind = (
        F.when(_whole(key, p.NAME_KEYS), F.lit("name"))
        .when(_whole(key, p.ADDRESS_KEYS), F.lit("address"))
        .when(_whole(key, p.BIRTHDAY_KEYS), F.lit("birthday"))
        .otherwise(F.lit("ip"))
    )
    token = F.concat(
        F.lit("<"), kind, F.lit(":"), F.substring(F.sha2(F.lower(value), 256), 1, 8), F.lit(">")
    )
    return F.concat(F.left(found, F.length(found) - F.length(value)), token)


def mask_pii_col(col: ColumnOrName) -> Column:
    """Mask personal data in free text; see :func:`dmp.privacy.mask_pii`.

    The same scan as the reference, done with built-ins: ``regexp_extract_all`` lists every
    match, ``split`` on the same pattern gives the text between matches, and the pieces are
    joined back with each match replaced by its token (or kept, for the readable values the
    pattern skips over). It costs two regex scans of each row plus work per match: meant
    for quarantined lines and free-text fields, not for every column of every event.

    Args:
        col: A string column (or its name) of free text such as raw JSON lines.

    Returns:
        A string column with ``<email:xxxxxxxx>`` and ``<phone:xxxxxxxx>`` tokens.
    """
    text = _column(col).cast("string")
    matches = F.regexp_extract_all(text, F.lit(p.PII_IN_TEXT), 0)
    # The phone tokens' keys come from libphonenumber (a pandas UDF), which cannot run
    # inside the lambdas below: they are computed for every match first, and only texts
    # with a match pay for the Python round trip's work.
    phone_keys_udf = F.pandas_udf(_phone_keys, "array<string>")  # type: ignore[call-overload]
    phone_keys = F.coalesce(phone_keys_udf(F.when(F.size(matches) > 0, matches)), matches)

    def masked(parts: Column) -> Column:
        between = parts["between"]
        found = F.arrays_zip(
            parts["matches"].alias("match"),
            F.slice(between, 2, F.size(between)).alias("after"),
            parts["phone_keys"].alias("phone_key"),
        )
        return F.concat(F.get(between, 0), F.array_join(F.transform(found, replaced), ""))

    def replaced(item: Column) -> Column:
        # A match is a value under a personal key, an e-mail (it has an @ in some form), a
        # readable value kept as it is, an IP address, a phone number, or else an e-mail cut
        # inside its @ at the end of a truncated line: decided in the reference's order.
        match = item["match"]
        token = (
            F.when(_whole(match, p.KEY_VALUE_IN_TEXT), _key_value_token(match))
            .when(match.rlike(p.AT_FORMS), _email_token(match))
            .when(_whole(match, p.READABLE_IN_TEXT), match)
            .when(_whole(match, p.IP_IN_TEXT), _token("ip", F.lower(match)))
            .when(_whole(match, p.PHONE_IN_TEXT), _phone_token(match, item["phone_key"]))
            .otherwise(_email_token(match))
        )
        return F.concat(token, item["after"])

    parts = F.struct(
        F.split(text, p.PII_IN_TEXT, -1).alias("between"),
        matches.alias("matches"),
        phone_keys.alias("phone_keys"),
    )
    return _let(parts, masked)
