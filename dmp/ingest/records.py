"""Parse one first-party line (Segment / RudderStack spec JSON) into a canonical event row.

Pure Python, no Spark: the ingest stage runs it inside ``mapInArrow`` tasks. Each line
either becomes a row of ``bronze/events`` or gets exactly one :class:`QuarantineReason`,
checked in the order the enum declares. Personal data is normalised and hashed here and
never leaves this module in clear text.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from dmp.ingest.reasons import QuarantineReason as R
from dmp.privacy import (
    mask_pii,
    normalize_birth_year,
    normalize_city,
    normalize_country,
    normalize_email,
    normalize_gender,
    normalize_name,
    normalize_phone,
    normalize_state,
    normalize_zip,
    pseudonymous_id,
    sha256_hex,
    truncate_ip,
)

EVENT_TYPES = frozenset({"track", "identify", "page", "screen", "alias", "group"})
_RAW_KEEP_CHARS = 4096
# Masked before cutting: an e-mail (at most 254 characters) or a phone number that starts
# before the cut is masked whole instead of leaving its first part in clear text.
_RAW_MASK_MARGIN = 320
# A JSON escape of a UTF-16 surrogate; only lone ones are a problem (checked on a match).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_PROPERTIES_JSON_MAX = 8192
# Properties lifted into typed columns; the rest go to properties_json.
_TYPED_PROPERTIES = frozenset(
    {
        "product_id", "sku", "category", "brand", "name", "price", "quantity", "currency",
        "order_id", "revenue", "total", "discount", "coupon", "coupon_id", "query", "rating",
        "share_via", "referrer_user_id", "products", "path", "url", "referrer", "title",
        "email", "phone", "recipient", "share_message",
    }
)  # fmt: skip
_PII_PROPERTIES = frozenset({"email", "phone", "recipient", "share_message"})
_APP_CHANNELS = frozenset({"mobile", "app", "android", "ios"})


class _Reject(Exception):
    def __init__(self, reason: R) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class ParseContext:
    """Everything a parser needs besides the line, fixed for one ingest run.

    Attributes:
        source: ``first_party`` or a partner name.
        landing_date: The ``dt=`` partition the file landed in.
        source_file: File path relative to ``landing/``.
        min_time: Earliest acceptable event time.
        max_time: Latest acceptable event time (ingestion time + allowance).
        ingested_at: Time of this ingest run (fallback for a missing receivedAt).
        max_record_bytes: Longer lines are oversized.
        consent_purposes: dmp purpose -> accepted names (lower case).
        default_country_code: For phone numbers without a country code.
        id_key: Secret key of internal pseudonyms (e-mail and phone user ids).
        max_amount: Larger prices, revenues and totals are out of range.
        max_quantity: Larger quantities are out of range.
    """

    source: str
    landing_date: date
    source_file: str
    min_time: datetime
    max_time: datetime
    ingested_at: datetime
    max_record_bytes: int
    consent_purposes: Mapping[str, tuple[str, ...]]
    default_country_code: str
    id_key: bytes = field(repr=False)
    max_amount: float = 1_000_000
    max_quantity: int = 100_000


def parse_first_party_line(raw: bytes, line_number: int, ctx: ParseContext) -> dict[str, Any]:
    """Parse one JSON line into an event row, or a quarantine verdict.

    Args:
        raw: The line's bytes without the trailing newline.
        line_number: 1-based line number in the file.
        ctx: Run-wide parsing context.

    Returns:
        A dict with the event columns of ``PARSED_SCHEMA``; ``reason`` is None for a good
        event, else the quarantine reason with ``raw_masked`` holding the masked line.
    """
    base: dict[str, Any] = {
        "source": ctx.source,
        "landing_date": ctx.landing_date,
        "source_file": ctx.source_file,
        "source_line": line_number,
        "raw_bytes": len(raw),
        "message_hash": hashlib.sha256(raw).hexdigest()[:32],
    }
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _rejected(base, R.INVALID_UTF8, raw.decode("utf-8", errors="replace"))
    try:
        _parse_event(text, ctx, base)
    except _Reject as rejection:
        return _rejected(base, rejection.reason, text)
    base["reason"] = None
    return base


def unreadable_rest(line_number: int, error: bytes, ctx: ParseContext) -> dict[str, Any]:
    """The quarantine row standing for a file's unreadable rest from ``line_number`` on."""
    base: dict[str, Any] = {
        "source": ctx.source,
        "landing_date": ctx.landing_date,
        "source_file": ctx.source_file,
        "source_line": line_number,
        "raw_bytes": 0,
        "message_hash": hashlib.sha256(error).hexdigest()[:32],
    }
    return _rejected(base, R.UNREADABLE_FILE, error.decode("utf-8", errors="replace"))


def _rejected(row: dict[str, Any], reason: R, text: str) -> dict[str, Any]:
    """Keep lineage and the message id; every parsed value is dropped, the line masked."""
    kept = ("source", "landing_date", "source_file", "source_line", "raw_bytes", "message_hash")
    rejected = {key: row.get(key) for key in kept}
    rejected["message_id"] = row.get("message_id")
    rejected["reason"] = reason.value
    rejected["raw_masked"] = masked_excerpt(text)
    return rejected


def masked_excerpt(text: str) -> str:
    """The first ``_RAW_KEEP_CHARS`` characters of a rejected line, PII masked.

    Masking runs before the cut so that an e-mail or phone number crossing the cut is
    replaced whole (its token may be cut) rather than kept in part in clear text.
    """
    return (mask_pii(text[: _RAW_KEEP_CHARS + _RAW_MASK_MARGIN]) or "")[:_RAW_KEEP_CHARS]


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any key or string in a parsed JSON value is a lone UTF-16 surrogate.

    JSON text may escape one (``"\\ud800"``); Python decodes it into a string with no UTF-8
    form, which Arrow (and every table) rejects. Walks iteratively: the value may be
    nested as deep as ``json.loads`` allows.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def _parse_event(text: str, ctx: ParseContext, row: dict[str, Any]) -> None:
    if len(text.encode("utf-8")) > ctx.max_record_bytes:
        raise _Reject(R.OVERSIZED)
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError: JSONDecodeError, and integer literals over Python's digit limit
        raise _Reject(R.MALFORMED_JSON) from None
    if not isinstance(event, dict):
        raise _Reject(R.MALFORMED_JSON)
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(event):
        raise _Reject(R.INVALID_UTF8)
    event_type = event.get("type")
    if not isinstance(event_type, str) or event_type.strip().lower() not in EVENT_TYPES:
        raise _Reject(R.UNKNOWN_TYPE)
    event_type = event_type.strip().lower()
    message_id = _identifier(event.get("messageId"))
    if message_id is None:
        raise _Reject(R.MISSING_MESSAGE_ID)
    row["message_id"] = message_id
    row["event_type"] = event_type
    event_time = _event_time(event.get("timestamp"), ctx)

    # An e-mail or phone used as an id is pseudonymised: no plaintext contact in the lake.
    code, key = ctx.default_country_code, ctx.id_key
    user_id = pseudonymous_id(_identifier(event.get("userId")), code, key=key)
    anonymous_id = pseudonymous_id(_identifier(event.get("anonymousId")), code, key=key)
    previous_id = (
        pseudonymous_id(_identifier(event.get("previousId")), code, key=key)
        if event_type == "alias"
        else None
    )
    if user_id is None and anonymous_id is None and previous_id is None:
        raise _Reject(R.MISSING_IDENTIFIER)

    context = _object(event.get("context"))
    properties = _object(event.get("properties"))
    traits = _object(event.get("traits"))
    context_traits = _object(context.get("traits"))
    device = _object(context.get("device"))
    name = event.get("event") if event_type == "track" else event.get("name")
    if name is not None and not isinstance(name, str):
        raise _Reject(R.WRONG_TYPE)

    row.update(
        event_name=name.strip() if isinstance(name, str) else None,
        event_time=event_time,
        event_date=event_time.date(),
        sent_at=_lenient_time(event.get("sentAt")),
        received_at=_lenient_time(event.get("receivedAt")) or ctx.ingested_at,
        channel=_channel(event, context, device),
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        device_id=_lower(_identifier(device.get("id"))),
        advertising_id=_lower(_identifier(device.get("advertisingId"))),
    )
    row.update(_commerce(properties, ctx))
    row.update(_personal(traits, context_traits, ctx))
    row.update(_consent(context, ctx))
    row.update(_context(context, properties))


def _identifier(value: Any) -> str | None:
    """A string id: strings are trimmed, integers accepted, anything else is a wrong type."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Reject(R.WRONG_TYPE)
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    raise _Reject(R.WRONG_TYPE)


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Reject(R.WRONG_TYPE)
    return value


def parse_timestamp(value: str) -> datetime | None:
    """ISO-8601 text to an aware UTC datetime (naive times are taken as UTC).

    None when unparseable, or when the time has no UTC datetime (``0001-01-01T00:00+05:00``
    is in year 0 in UTC).
    """
    text = value.strip()
    if not text or len(text) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def _event_time(value: Any, ctx: ParseContext) -> datetime:
    if value is None:
        raise _Reject(R.MISSING_TIMESTAMP)
    if not isinstance(value, str):
        raise _Reject(R.INVALID_TIMESTAMP)
    parsed = parse_timestamp(value)
    if parsed is None:
        raise _Reject(R.INVALID_TIMESTAMP)
    if parsed < ctx.min_time or parsed > ctx.max_time:
        raise _Reject(R.TIMESTAMP_OUT_OF_RANGE)
    return parsed


def _lenient_time(value: Any) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


def _channel(event: dict[str, Any], context: dict[str, Any], device: dict[str, Any]) -> str:
    stated = context.get("channel") or event.get("channel")
    if isinstance(stated, str):
        lowered = stated.strip().lower()
        if lowered in _APP_CHANNELS:
            return "app"
        if lowered in ("web", "browser"):
            return "web"
        if lowered == "server":
            return "server"
    if device.get("id"):
        return "app"
    return "web" if context.get("userAgent") else "server"


def _number(value: Any) -> float | None:
    """A finite number: JSON numbers and numeric strings; anything else is a wrong type."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Reject(R.WRONG_TYPE)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range, as infinity below
            raise _Reject(R.WRONG_TYPE) from None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _Reject(R.WRONG_TYPE) from None
    else:
        raise _Reject(R.WRONG_TYPE)
    if not math.isfinite(number):
        raise _Reject(R.WRONG_TYPE)
    return number


def _non_negative(value: Any) -> float | None:
    number = _number(value)
    if number is not None and number < 0:
        raise _Reject(R.NEGATIVE_VALUE)
    return number


def _amount(value: Any, ctx: ParseContext) -> float | None:
    number = _non_negative(value)
    if number is not None and number > ctx.max_amount:
        raise _Reject(R.VALUE_OUT_OF_RANGE)
    return number


def _quantity(value: Any, ctx: ParseContext) -> int | None:
    number = _non_negative(value)
    if number is None:
        return None
    if not number.is_integer():
        raise _Reject(R.WRONG_TYPE)
    if number > ctx.max_quantity:
        raise _Reject(R.VALUE_OUT_OF_RANGE)
    return int(number)


def _text(value: Any, *, limit: int = 512) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise _Reject(R.WRONG_TYPE)
    stripped = value.strip()
    return stripped[:limit] if stripped else None


def _commerce(properties: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
    products_raw = properties.get("products")
    products = None
    if products_raw is not None:
        if not isinstance(products_raw, list):
            raise _Reject(R.WRONG_TYPE)
        products = []
        for item in products_raw:
            if not isinstance(item, dict):
                raise _Reject(R.WRONG_TYPE)
            products.append(
                {
                    "product_id": _identifier(item.get("product_id")),
                    "sku": _text(item.get("sku")),
                    "category": _category(item.get("category")),
                    "brand": _text(item.get("brand")),
                    "name": _text(item.get("name")),
                    "price": _amount(item.get("price"), ctx),
                    "quantity": _quantity(item.get("quantity"), ctx),
                }
            )
    extra = {k: v for k, v in properties.items() if k not in _TYPED_PROPERTIES}
    return {
        "product_id": _identifier(properties.get("product_id")),
        "sku": _text(properties.get("sku")),
        "category": _category(properties.get("category")),
        "brand": _text(properties.get("brand")),
        "product_name": _text(properties.get("name")),
        "price": _amount(properties.get("price"), ctx),
        "quantity": _quantity(properties.get("quantity"), ctx),
        "currency": _text(properties.get("currency"), limit=8),
        "order_id": _identifier(properties.get("order_id")),
        "revenue": _amount(properties.get("revenue"), ctx),
        "total": _amount(properties.get("total"), ctx),
        "discount": _number(properties.get("discount")),
        "coupon": _text(properties.get("coupon") or properties.get("coupon_id")),
        "search_query": mask_pii(_text(properties.get("query"))),
        "rating": _number(properties.get("rating")),
        "share_via": _text(properties.get("share_via")),
        "referrer_user_id": _identifier(properties.get("referrer_user_id")),
        "products": products,
        "properties_json": _masked_json(extra),
    }


def _category(value: Any) -> str | None:
    text = _text(value)
    return text.lower() if text else None


def _masked_json(extra: dict[str, Any]) -> str | None:
    if not extra:
        return None
    try:
        text = json.dumps(extra, separators=(",", ":"), ensure_ascii=False, default=str)
    except RecursionError:
        # Nested about as deep as json.loads accepts: too deep to keep, like one level more.
        raise _Reject(R.MALFORMED_JSON) from None
    return mask_pii(text[:_PROPERTIES_JSON_MAX])


def _personal(
    traits: dict[str, Any], context_traits: dict[str, Any], ctx: ParseContext
) -> dict[str, Any]:
    """Hash contact points and keep declared demographics; clear text never leaves."""
    merged = {**context_traits, **traits}
    address = merged.get("address")
    address = address if isinstance(address, dict) else {}
    email = merged.get("email") if isinstance(merged.get("email"), str) else None
    phone = merged.get("phone") if isinstance(merged.get("phone"), str | int) else None
    phone_text = str(phone) if phone is not None else None
    first = merged.get("firstName") or merged.get("first_name")
    last = merged.get("lastName") or merged.get("last_name")
    first = first if isinstance(first, str) else None
    last = last if isinstance(last, str) else None
    code = ctx.default_country_code
    tier = merged.get("city_tier")
    birth = merged.get("birthday") or merged.get("birth_year")
    birth_year = normalize_birth_year(birth) if isinstance(birth, str | int) else None
    return {
        "email_sha256": sha256_hex(normalize_email(email, "basic")),
        "email_sha256_google": sha256_hex(normalize_email(email, "google")),
        "email_sha256_uid2": sha256_hex(normalize_email(email, "uid2")),
        "phone_sha256": sha256_hex(normalize_phone(phone_text, "meta", code)),
        "phone_sha256_e164": sha256_hex(normalize_phone(phone_text, "e164", code)),
        "first_name_sha256": sha256_hex(normalize_name(first, "meta")),
        "last_name_sha256": sha256_hex(normalize_name(last, "meta")),
        "first_name_sha256_google": sha256_hex(normalize_name(first, "google")),
        "last_name_sha256_google": sha256_hex(normalize_name(last, "google")),
        "gender": normalize_gender(_str_or_none(merged.get("gender"))),
        "birth_year": int(birth_year) if birth_year else None,
        "city": _plain_city(address.get("city") or merged.get("city")),
        "state": normalize_state(_str_or_none(address.get("state"))),
        "country": normalize_country(_str_or_none(address.get("country"))),
        "postal_code": normalize_zip(_str_or_none(address.get("postalCode")), "meta"),
        "city_tier": int(tier) if isinstance(tier, int) and 1 <= tier <= 6 else None,
    }  # fmt: skip


def _plain_city(value: Any) -> str | None:
    """City as people write it (trimmed, title case) for profiles; exports re-normalise."""
    if not isinstance(value, str) or not normalize_city(value):
        return None
    return " ".join(value.split()).title()[:80]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _consent(context: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
    stated: dict[str, bool | None] = dict.fromkeys(ctx.consent_purposes)
    consent = context.get("consent")
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if isinstance(preferences, dict):
        lowered = {str(k).strip().lower(): v for k, v in preferences.items()}
        for purpose, names in ctx.consent_purposes.items():
            for name in names:
                if name in lowered:
                    stated[purpose] = consent_flag(lowered[name])
    # RudderStack: context.consentManagement {allowedConsentIds, deniedConsentIds}
    management = context.get("consentManagement")
    if isinstance(management, dict):
        allowed = _lowered_ids(management.get("allowedConsentIds"))
        denied = _lowered_ids(management.get("deniedConsentIds"))
        for purpose, names in ctx.consent_purposes.items():
            if any(n in denied for n in names):
                stated[purpose] = False
            elif any(n in allowed for n in names):
                stated[purpose] = True
    return {f"consent_{purpose}": value for purpose, value in stated.items()}


# How consent managers and hand-written integrations spell a yes or a no.
_GRANTED = frozenset(
    {"true", "t", "yes", "y", "1", "on", "granted", "grant", "allow", "allowed", "accept",
     "accepted", "opt-in", "opt_in", "optin", "opted-in", "given", "consented", "enabled"}
)  # fmt: skip
_DENIED = frozenset(
    {"false", "f", "no", "n", "0", "off", "denied", "deny", "disallow", "disallowed", "reject",
     "rejected", "declined", "decline", "opt-out", "opt_out", "optout", "opted-out",
     "withdrawn", "revoked", "refused", "disabled"}
)  # fmt: skip


def consent_flag(value: Any) -> bool | None:
    """A stated consent value as a boolean; None when it says neither yes nor no.

    Booleans, numbers (0 is no, any other number yes) and the usual words of consent
    managers ("granted"/"denied", "on"/"off", "1"/"0", "opt-out", ...; any case) count as a
    statement, so a withdrawal sent as ``"denied"`` or ``"0"`` is not mistaken for silence.

    >>> [consent_flag(v) for v in (True, "0", " Denied ", "on", 2, "maybe", None)]
    [True, False, False, True, True, None, None]
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _GRANTED:
            return True
        if word in _DENIED:
            return False
    return None


def _lowered_ids(value: Any) -> set[str]:
    if isinstance(value, list):
        return {str(v).strip().lower() for v in value if isinstance(v, str | int)}
    return set()


def _context(context: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    library = _object_or_empty(context.get("library"))
    os_info = _object_or_empty(context.get("os"))
    device = _object_or_empty(context.get("device"))
    app = _object_or_empty(context.get("app"))
    page = _object_or_empty(context.get("page"))
    campaign = _object_or_empty(context.get("campaign"))
    ip = context.get("ip")
    return {
        "ip_truncated": truncate_ip(ip) if isinstance(ip, str) else None,
        "user_agent": _safe_text(context.get("userAgent")),
        "locale": _safe_text(context.get("locale"), 32),
        "timezone": _safe_text(context.get("timezone"), 64),
        "library_name": _safe_text(library.get("name"), 64),
        "library_version": _safe_text(library.get("version"), 32),
        "os_name": _safe_text(os_info.get("name"), 32),
        "device_type": _safe_text(device.get("type"), 32),
        "device_model": _safe_text(device.get("model"), 64),
        "app_version": _safe_text(app.get("version"), 32),
        "page_path": mask_pii(_safe_text(properties.get("path") or page.get("path"))),
        "page_url": mask_pii(_safe_text(properties.get("url") or page.get("url"), 1024)),
        "page_referrer": mask_pii(
            _safe_text(properties.get("referrer") or page.get("referrer"), 1024)
        ),
        "page_title": mask_pii(_safe_text(properties.get("title") or page.get("title"))),
        "campaign_source": _safe_text(campaign.get("source"), 128),
        "campaign_medium": _safe_text(campaign.get("medium"), 128),
        "campaign_name": _safe_text(campaign.get("name"), 256),
    }


def _object_or_empty(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _safe_text(value: Any, limit: int = 512) -> str | None:
    """Context text: lenient (wrong types are dropped, not quarantined) and trimmed."""
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    return stripped[:limit] if stripped else None
