"""Masking of personal data inside free text (quarantined raw lines, ``properties_json``).

A raw line that fails ingestion is kept for diagnosis, but it must not carry personal data
into ``bronze/quarantine``. :func:`mask_pii` replaces every e-mail-looking,
phone-looking and IP-address substring, and every value under a key that names personal
data (names, street addresses, birthdays, IP addresses), with a token such as
``<email:1a2b3c4d>``: the first 8 hex characters of the SHA-256 of the normalised value, so
an analyst can see that two lines carry the same address, or look up a known address,
without seeing it.

Rules for the new kinds (the same in the Spark twin):

- Personal keys (:data:`dmp.privacy._patterns.PERSONAL_KEY`): ``name``, ``first_name`` /
  ``firstName`` / ``first-name`` and the other name parts, ``username``, ``address``,
  ``street``, ``address_line1``..3, ``birthday``, ``birth_date``, ``date_of_birth``,
  ``dob``, ``ip``, ``ip_address``, ``client_ip``, ``remote_addr`` -- in JSON (also
  escaped JSON) and ``key=value`` / ``key: value`` text, case-insensitive. The value (a
  quoted string up to its closing quote or 512 characters, or an unquoted run up to
  ``, ; & " { } [ ] < >``, a backslash or the end of the line, at most 128 characters)
  becomes ``<name:...>``, ``<address:...>``, ``<birthday:...>`` or ``<ip:...>``, hashed
  lower-cased as written. The key stays readable. A bare ``name`` key is masked too, so a
  product's or an app's name in a quarantined line is masked: over-masking a diagnostic
  is the accepted price of never leaking a person's name. City, region, postcode and
  country are coarse and stay readable.
- IP addresses anywhere in text: a dotted quad without leading zeros, or IPv6 text, that is
  not part of a longer dotted or colon-separated run, becomes ``<ip:...>``. A four-part
  version number such as ``1.2.3.4`` looks exactly like an IPv4 address and is masked
  (wherever it is, also under a ``version`` key); three-part versions (``1.2.3``) and
  longer dotted runs (``1.2.3.4.5``) stay readable.

Design choices (the Spark twin :func:`dmp.privacy.columns.mask_pii_col` does exactly the
same, so both give identical output):

- Detection is deliberately greedy: a leaked address is worse than a masked non-address.
  E-mails are found also with their ``@`` written as a JSON ``\\u0040`` escape (any number
  of backslashes), ``%40`` or ``&#64;``, and when a truncated line ends right after ``@``.
  Phone numbers are any 7+ digits separated by at most three of space . - ( ) / each, with an
  optional leading ``+`` -- so epoch milliseconds (``1700000000000``), long order ids,
  prices with 7+ digits, IPv4 addresses and digit runs inside hex digests are masked too.
  That is the accepted trade-off.
- UUIDs, ISO-8601 dates and timestamps (``2026-01-05T10:00:00.000Z``), d/m/y dates and
  earlier mask tokens are recognised first and left readable; a phone number can never start
  inside one, and masking masked text changes nothing.
- The token hashes the e-mail (its escapes undone) lower-cased, which is
  :func:`~dmp.privacy.normalize.normalize_email`'s ``basic`` rule, and the phone number as
  :func:`~dmp.privacy.normalize.normalize_phone` (libphonenumber, E.164, default country 1)
  normalises it, so ``+1 (415) 555-0132`` and ``415.555.0132`` share a token; a number it
  rejects (7 digits, say, or one that is not valid in its country) is hashed as its digits.
- Each match is replaced where it was found (never by a search-and-replace of its text,
  which could hit a different, overlapping match).
- The patterns run in linear time and never repeat a group an input-dependent number of
  times (which would overflow Java's regex stack and kill the Spark application), so a
  huge or hostile line is safe. The price: an e-mail glued to a word by a JSON escape
  (``hi\\njane@x.com``) is masked together with that word.
"""

from __future__ import annotations

import hashlib
import re

from dmp.privacy import _patterns as p
from dmp.privacy.normalize import normalize_phone

_PII_IN_TEXT = re.compile(p.PII_IN_TEXT)
_KEY_HINT = re.compile(p.PERSONAL_KEY_HINT)
_IP_HINT = re.compile(p.IP_HINT)
_KEY_VALUE = re.compile(p.KEY_VALUE_IN_TEXT)
_AT_FORMS = re.compile(p.AT_FORMS)
_READABLE = re.compile(p.READABLE_IN_TEXT)
_IP = re.compile(p.IP_IN_TEXT)
_PHONE = re.compile(p.PHONE_IN_TEXT)
_KEY_KINDS = (
    (re.compile(p.NAME_KEYS), "name"),
    (re.compile(p.ADDRESS_KEYS), "address"),
    (re.compile(p.BIRTHDAY_KEYS), "birthday"),
)
# Every text PII_IN_TEXT can change holds an @ (or the start of an escaped one: %, &, a
# backslash, the full-width @) or seven ASCII digits. Most text has none; then masking is
# skipped (the same answer, without the costly scan).
_AT_STARTS = ("@", "\uff20", "%", "&", "\\")
_DIGITS = "0123456789"


def may_hold_pii(text: str) -> bool:
    """Whether :func:`mask_pii` could change ``text`` (False means it returns it as is)."""
    for start in _AT_STARTS:
        if start in text:
            return True
    digits = 0
    for digit in _DIGITS:
        digits += text.count(digit)
        if digits >= 7:
            return True
    # Cheap tests first: an IP address needs "." or ":", a personal key ":" or "=" and
    # one of the keys' stems; only then the (slower) regular expressions.
    has_colon = ":" in text
    if (has_colon or "." in text) and _IP_HINT.search(text):
        return True
    if not has_colon and "=" not in text:
        return False
    lowered = text.lower()
    if not any(stem in lowered for stem in p.PERSONAL_KEY_STEMS):
        return False
    return _KEY_HINT.search(text) is not None


_ESCAPED_EMAIL_PUNCTUATION = tuple(
    (re.compile(pat), rep) for pat, rep in p.ESCAPED_EMAIL_PUNCTUATION
)
_NON_DIGIT = re.compile("[^0-9]")


def mask_pii(text: str | None) -> str | None:
    """Replace e-mails, phones, IP addresses and personal values in text with hashed tokens.

    Works on any text -- JSON, truncated or malformed JSON, JSON escaped once or several
    times, CSV, log lines -- and never raises for a string.

    Args:
        text: Free text such as a quarantined raw line, or ``None``.

    Returns:
        The text with e-mails replaced by ``<email:xxxxxxxx>``, phone numbers by
        ``<phone:xxxxxxxx>``, IP addresses by ``<ip:xxxxxxxx>`` and values under personal
        keys by ``<name:...>``, ``<address:...>``, ``<birthday:...>`` or ``<ip:...>``;
        ``None`` for ``None``.

    Example:
        >>> mask_pii('{"email":"Jane.Doe@Example.com","ts":"2026-01-05T10:00:00Z"}')
        '{"email":"<email:86e0b9e5>","ts":"2026-01-05T10:00:00Z"}'
    """
    if text is None:
        return None
    if not may_hold_pii(text):
        return text
    return _PII_IN_TEXT.sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    # Decided from the matched text alone, in the order the Spark twin decides, so the two
    # agree by construction.
    found = match.group(0)
    if key_value := _KEY_VALUE.fullmatch(found):
        value = key_value.group(p.KEY_VALUE_QUOTED_GROUP) or key_value.group(p.KEY_VALUE_BARE_GROUP)
        kind = _key_kind(key_value.group(p.KEY_VALUE_KEY_GROUP))
        return found[: len(found) - len(value)] + _token(kind, value.lower())
    if _AT_FORMS.search(found):
        return f"<email:{_email_token_hash(found)}>"
    if _READABLE.fullmatch(found):
        return found
    if _IP.fullmatch(found):
        return _token("ip", found.lower())
    if _PHONE.fullmatch(found):
        return f"<phone:{_phone_token_hash(found)}>"
    return f"<email:{_email_token_hash(found)}>"  # an e-mail cut inside its escaped @


def _key_kind(key: str) -> str:
    lowered = key.lower()
    for pattern, kind in _KEY_KINDS:
        if pattern.fullmatch(lowered):
            return kind
    return "ip"


def _token(kind: str, key: str) -> str:
    return f"<{kind}:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:8]}>"


def unescape_email(found: str) -> str:
    """Turn an e-mail found in text, possibly with escaped ``@`` or dots, into plain text.

    Args:
        found: An e-mail-looking substring as matched in text.

    Returns:
        The substring with ``\\u0040``, ``%40``, ``&#64;`` (and the same forms of ``.``,
        ``+``, ``-``, ``_``) replaced by the characters they stand for.
    """
    for pattern, replacement in _ESCAPED_EMAIL_PUNCTUATION:
        found = pattern.sub(replacement, found)
    return found


def _email_token_hash(found: str) -> str:
    # A match never has surrounding whitespace, so lower-casing is exactly the ``basic``
    # normalisation (for valid and for truncated or malformed addresses alike).
    key = unescape_email(found).lower()
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def phone_tokens(phone: str) -> set[str]:
    """The mask tokens :func:`mask_pii` can have given ``phone`` (to find it again).

    A phone number found in free text gets the token of its E.164 form, or of its digits
    when libphonenumber rejects it (an invalid or unassigned number is masked all the
    same); a value under a personal key (``"phone": "..."``) gets the token of the value
    as written, lower-cased.

    >>> sorted(phone_tokens("555-0100"))  # not a valid number anywhere: its digits count
    ['<phone:6553afa6>', '<phone:90e38c46>']
    """
    return {f"<phone:{_phone_token_hash(phone.strip())}>", _token("phone", phone.strip().lower())}


def _phone_token_hash(found: str) -> str:
    key = normalize_phone(found) or _NON_DIGIT.sub("", found)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
