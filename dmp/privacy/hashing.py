"""Pure-Python hashes of normalised personal data and truncation of IP addresses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re

from dmp.privacy import _patterns as p
from dmp.privacy.normalize import email_in_identifier, phone_in_identifier, trim

_IPV4 = re.compile(p.IPV4)

EMAIL_ID_PREFIX = "email-hmac:"
"""Prefix of the pseudonym of an identifier that carries an e-mail address."""
PHONE_ID_PREFIX = "phone-hmac:"
"""Prefix of the pseudonym of an identifier that is a phone number."""


def sha256_hex(value: str | None) -> str | None:
    """Hash a normalised value the way Meta and Google expect it.

    The SHA-256 digest of the value's UTF-8 bytes, as 64 lower-case hex characters (Meta:
    "hash ... using SHA256"; Google: "Hash using the SHA-256 algorithm. Encode the hash bytes
    using hex"). The value is hashed exactly as given: normalise it first.

    Args:
        value: A normalised value, or ``None``.

    Returns:
        The lower-case hex digest, or ``None`` for ``None``.
    """
    if value is None:
        return None
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hmac_sha256_hex(value: str | None, key: bytes) -> str | None:
    """HMAC-SHA256 (RFC 2104) of a value's UTF-8 bytes under ``key``, as lower-case hex.

    The keyed hash of internal ids: unlike a plain SHA-256 it cannot be reversed by hashing
    a list of candidate addresses without the key.

    Args:
        value: A normalised value, or ``None``.
        key: The secret key (see :mod:`dmp.privacy.secret`).

    Returns:
        The 64-character hex digest, or ``None`` for ``None``.
    """
    if value is None:
        return None
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonymous_id(
    value: str | None, default_country_code: str = "1", *, key: bytes
) -> str | None:
    """An identifier with no plaintext e-mail address or phone number in it.

    Sites often use the e-mail address or phone number as the login user id, and partners
    send them as their user id, in many forms (``mailto:jane@example.com``,
    ``Jane Doe <jane@example.com>``, ``jane@example.com;``, ``tel:+14155550132``). An
    identifier that carries an e-mail (:func:`~dmp.privacy.normalize.email_in_identifier`)
    becomes ``email-hmac:`` and the keyed hash (:func:`hmac_sha256_hex`) of the address, so
    every form of an address gives the id of the plain address; one that is a phone number
    (:func:`~dmp.privacy.normalize.phone_in_identifier`) becomes ``phone-hmac:`` and the
    keyed hash of its E.164 form. Any other identifier is returned unchanged.

    >>> pseudonymous_id("u-123", key=b"a test key of 16+ chars")
    'u-123'
    >>> key = b"a test key of 16+ chars"
    >>> pseudonymous_id("mailto:Jane@Example.com", key=key) == pseudonymous_id(
    ...     "jane@example.com", key=key
    ... )
    True

    Args:
        value: An identifier as captured, or ``None``.
        default_country_code: Country calling code for national phone numbers.
        key: The secret key of internal ids (``Settings.id_key()``).

    Returns:
        The pseudonym, the identifier unchanged, or ``None`` for ``None``.
    """
    if value is None:
        return None
    if (email := email_in_identifier(value)) is not None:
        return EMAIL_ID_PREFIX + hmac.new(key, email.encode("utf-8"), hashlib.sha256).hexdigest()
    if (phone := phone_in_identifier(value, default_country_code)) is not None:
        return PHONE_ID_PREFIX + hmac.new(key, phone.encode("utf-8"), hashlib.sha256).hexdigest()
    return value


def uid2_hash(value: str | None) -> str | None:
    """Hash a normalised e-mail or phone number the way UID2 (The Trade Desk) expects it.

    UID2: "a Base64-encoded SHA-256 hash of a normalized email address ... the Base64
    encoding is applied to the bytes of the hash value, not the hex-encoded string"; standard
    alphabet with ``=`` padding, 44 characters. Published example: ``user@example.com`` ->
    ``tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=``.

    Args:
        value: A value normalised with rule ``"uid2"`` (e-mail) or ``"e164"`` (phone).

    Returns:
        The Base64 text of the 32-byte digest, or ``None`` for ``None``.
    """
    if value is None:
        return None
    return base64.b64encode(hashlib.sha256(value.encode("utf-8")).digest()).decode("ascii")


def truncate_ip(raw: str | None) -> str | None:
    """Coarsen an IP address so it no longer identifies a household.

    IPv4 keeps its first 24 bits (``203.0.113.77`` -> ``203.0.113.0``, the convention of
    Google Analytics' IP anonymisation); IPv6 keeps its first 48 bits, printed in RFC 5952
    form (``2001:db8:85a3:8d3:1319:8a2e:370:7348`` -> ``2001:db8:85a3::``). IPv4-mapped IPv6
    addresses are treated as IPv6, so they become ``::``. Surrounding whitespace is ignored;
    zone ids (``fe80::1%eth0``), IPv4 octets with leading zeros and anything else give
    ``None``.

    Args:
        raw: An IP address as captured, or ``None``.

    Returns:
        The truncated address, or ``None`` if ``raw`` is not an IP address.
    """
    if raw is None:
        return None
    text = trim(raw).lower()
    if _IPV4.fullmatch(text):  # the common case, without ipaddress's objects
        return text[: text.rindex(".")] + ".0"
    if "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(network.network_address)
