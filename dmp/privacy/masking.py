"""Masking of e-mail addresses and phone numbers inside free text (quarantined raw lines).

A raw line that fails ingestion is kept for diagnosis, but it must not carry personal data
into ``bronze/quarantine``. :func:`mask_pii` replaces every e-mail-looking and
phone-looking substring with a token such as ``<email:1a2b3c4d>``: the first 8 hex
characters of the SHA-256 of the normalised value, so an analyst can see that two lines
carry the same address, or look up a known address, without seeing it.

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
  :func:`~dmp.privacy.normalize.normalize_phone` (E.164, default country 1) normalises it,
  so ``+1 (415) 555-0132`` and ``415.555.0132`` share a token; a number it rejects (7
  digits, say) is hashed as its digits.
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
    return False


_ESCAPED_EMAIL_PUNCTUATION = tuple(
    (re.compile(pat), rep) for pat, rep in p.ESCAPED_EMAIL_PUNCTUATION
)
_NON_DIGIT = re.compile("[^0-9]")


def mask_pii(text: str | None) -> str | None:
    """Replace every e-mail address and phone number in free text with a hashed token.

    Works on any text -- JSON, truncated or malformed JSON, JSON escaped once or several
    times, CSV, log lines -- and never raises for a string.

    Args:
        text: Free text such as a quarantined raw line, or ``None``.

    Returns:
        The text with e-mails replaced by ``<email:xxxxxxxx>`` and phone numbers by
        ``<phone:xxxxxxxx>``; ``None`` for ``None``.

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
    if email := match.group(p.EMAIL_GROUP):
        return f"<email:{_email_token_hash(email)}>"
    if phone := match.group(p.PHONE_GROUP):
        return f"<phone:{_phone_token_hash(phone)}>"
    return match.group(0)


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


def _phone_token_hash(found: str) -> str:
    key = normalize_phone(found) or _NON_DIGIT.sub("", found)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
