"""The fast path of the first-party parser: canonical lines, typed decode, reference values.

:class:`dmp.ingest.canonical.CanonicalCheck` decodes a line into typed structs in C
(``msgspec``) and accepts it when the reference parser (:mod:`dmp.ingest.records`) would
accept it as it is. For such a line the type checks, ``isinstance`` chains, dict building
and row conversion of the reference are unnecessary: this module reads the typed fields
directly and applies the reference's own value functions (trimming, limits, e-mail and phone
normalisation, hashing, masking, IP truncation), so every value is the reference's by
construction. ``tests/unit/test_ingest_fast.py`` checks every column of every canonical line
of several corpora against the reference.

A first attempt parsed canonical lines in the JVM (``from_json`` plus Spark twins of the
privacy functions): 79 string columns with Python's exact whitespace, limits and PII rules
cost about 90 µs of JVM CPU per line there, more than the reference parser itself. This
path costs a few microseconds.
"""

from __future__ import annotations

import hashlib
from typing import Any

from dmp.ingest.canonical import (
    CanonicalCheck,
    Decoded,
    _Consent,
    _ConsentManagement,
    _Context,
    _Event,
    _Properties,
    _Traits,
)
from dmp.ingest.records import (
    ParseContext,
    _amount,
    _category,
    _identifier,
    _plain_city,
    _quantity,
    _safe_text,
    _text,
)
from dmp.ingest.schema import PARSED_SCHEMA
from dmp.privacy import (
    mask_pii,
    normalize_birth_year,
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

__all__ = ["FastParser"]

COLUMNS: tuple[str, ...] = tuple(PARSED_SCHEMA.names)
_APP_CHANNELS = frozenset({"mobile", "app", "android", "ios"})
_NO_PERSONAL: dict[str, Any] = {
    "email_sha256": None, "email_sha256_google": None, "email_sha256_uid2": None,
    "phone_sha256": None, "phone_sha256_e164": None, "first_name_sha256": None,
    "last_name_sha256": None, "first_name_sha256_google": None,
    "last_name_sha256_google": None, "gender": None, "birth_year": None, "city": None,
    "state": None, "country": None, "postal_code": None, "city_tier": None,
}  # fmt: skip


class FastParser:
    """Parses the canonical lines of one ingest run.

    Args:
        check: The run's canonical check.
    """

    def __init__(self, check: CanonicalCheck) -> None:
        self.check = check

    def parse(self, raw: bytes, line_number: int, ctx: ParseContext) -> dict[str, Any] | None:
        """The reference parser's row for ``raw``, or None when the line is not canonical.

        Args:
            raw: The line's bytes without the line end.
            line_number: 1-based line number in the file.
            ctx: The file's parse context.

        Returns:
            The accepted event's columns (``PARSED_SCHEMA``, ``reason`` None), or None: the
            caller then parses the line with the reference parser.
        """
        decoded = self.check.decode(raw)
        if decoded is None:
            return None
        return _row(decoded, raw, line_number, ctx)


def _row(decoded: Decoded, raw: bytes, line_number: int, ctx: ParseContext) -> dict[str, Any]:
    event, moment = decoded.event, decoded.event_time
    context = event.context or _Context()
    properties = event.properties or _Properties()
    device = context.device
    device_id = device.id if device is not None else None
    name = event.event if event.type == "track" else event.name
    row: dict[str, Any] = {
        "source": ctx.source,
        "landing_date": ctx.landing_date,
        "source_file": ctx.source_file,
        "source_line": line_number,
        "raw_bytes": len(raw),
        "message_hash": hashlib.sha256(raw).hexdigest()[:32],
        "message_id": _identifier(event.messageId),
        "event_type": event.type,
        "event_name": name.strip() if name is not None else None,
        "event_time": moment,
        "event_date": moment.date(),
        "sent_at": decoded.sent_at,
        "received_at": decoded.received_at or ctx.ingested_at,
        "channel": _channel(event, context, device_id),
        "user_id": _pseudonym(event.userId, ctx),
        "anonymous_id": _pseudonym(event.anonymousId, ctx),
        "previous_id": _pseudonym(event.previousId, ctx) if event.type == "alias" else None,
        "device_id": _lower(_identifier(device_id)),
        "advertising_id": _lower(_identifier(device.advertisingId if device else None)),
        "partner_uid": None,
        "partner_segments": None,
        "partner_score": None,
        "properties_json": None,
        "reason": None,
        "raw_masked": None,
    }
    row.update(_personal(event.traits or context.traits, ctx))
    row.update(_consent(context.consent, context.consentManagement, ctx))
    row.update(_context(context, properties))
    row.update(_commerce(properties, ctx))
    return row


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _channel(event: _Event, context: _Context, device_id: str | None) -> str:
    stated = context.channel or event.channel
    if stated is not None:
        lowered = stated.strip().lower()
        if lowered in _APP_CHANNELS:
            return "app"
        if lowered in ("web", "browser"):
            return "web"
        if lowered == "server":
            return "server"
    if device_id:
        return "app"
    return "web" if context.userAgent else "server"


def _pseudonym(value: Any, ctx: ParseContext) -> str | None:
    return pseudonymous_id(_identifier(value), ctx.default_country_code, key=ctx.id_key)


def _personal(traits: _Traits | None, ctx: ParseContext) -> dict[str, Any]:
    """The reference's ``_personal`` (canonical lines carry at most one traits object)."""
    if traits is None:
        return _NO_PERSONAL
    address = traits.address
    first = traits.firstName or traits.first_name
    last = traits.lastName or traits.last_name
    code = ctx.default_country_code
    email, phone = traits.email, traits.phone
    tier = traits.city_tier
    birth = traits.birthday or traits.birth_year
    birth_year = normalize_birth_year(birth) if birth is not None else None
    city = (address.city if address is not None else None) or traits.city
    return {
        "email_sha256": sha256_hex(normalize_email(email, "basic")),
        "email_sha256_google": sha256_hex(normalize_email(email, "google")),
        "email_sha256_uid2": sha256_hex(normalize_email(email, "uid2")),
        "phone_sha256": sha256_hex(normalize_phone(phone, "meta", code)),
        "phone_sha256_e164": sha256_hex(normalize_phone(phone, "e164", code)),
        "first_name_sha256": sha256_hex(normalize_name(first, "meta")),
        "last_name_sha256": sha256_hex(normalize_name(last, "meta")),
        "first_name_sha256_google": sha256_hex(normalize_name(first, "google")),
        "last_name_sha256_google": sha256_hex(normalize_name(last, "google")),
        "gender": normalize_gender(traits.gender),
        "birth_year": int(birth_year) if birth_year else None,
        "city": _plain_city(city),
        "state": normalize_state(address.state if address is not None else None),
        "country": normalize_country(address.country if address is not None else None),
        "postal_code": normalize_zip(address.postalCode if address is not None else None, "meta"),
        "city_tier": tier if tier is not None and 1 <= tier <= 6 else None,
    }


def _consent(
    consent: _Consent | None, management: _ConsentManagement | None, ctx: ParseContext
) -> dict[str, Any]:
    """The reference's ``_consent``: stated preferences, then RudderStack's id lists."""
    stated: dict[str, bool | None] = dict.fromkeys(ctx.consent_purposes)
    preferences = consent.categoryPreferences if consent is not None else None
    if preferences is not None:
        lowered = {key.strip().lower(): value for key, value in preferences.items()}
        for purpose, names in ctx.consent_purposes.items():
            for name in names:
                if name in lowered:
                    stated[purpose] = lowered[name]
    if management is not None:
        allowed = {v.strip().lower() for v in management.allowedConsentIds or ()}
        denied = {v.strip().lower() for v in management.deniedConsentIds or ()}
        for purpose, names in ctx.consent_purposes.items():
            if any(n in denied for n in names):
                stated[purpose] = False
            elif any(n in allowed for n in names):
                stated[purpose] = True
    return {f"consent_{purpose}": value for purpose, value in stated.items()}


def _context(context: _Context, properties: _Properties) -> dict[str, Any]:
    library, os_info, device = context.library, context.os, context.device
    app, page, campaign = context.app, context.page, context.campaign
    return {
        "ip_truncated": truncate_ip(context.ip) if context.ip is not None else None,
        "user_agent": _safe_text(context.userAgent),
        "locale": _safe_text(context.locale, 32),
        "timezone": _safe_text(context.timezone, 64),
        "library_name": _safe_text(library.name if library else None, 64),
        "library_version": _safe_text(library.version if library else None, 32),
        "os_name": _safe_text(os_info.name if os_info else None, 32),
        "device_type": _safe_text(device.type if device else None, 32),
        "device_model": _safe_text(device.model if device else None, 64),
        "app_version": _safe_text(app.version if app else None, 32),
        "page_path": mask_pii(_safe_text(properties.path or (page.path if page else None))),
        "page_url": mask_pii(_safe_text(properties.url or (page.url if page else None), 1024)),
        "page_referrer": mask_pii(
            _safe_text(properties.referrer or (page.referrer if page else None), 1024)
        ),
        "page_title": mask_pii(_safe_text(properties.title or (page.title if page else None))),
        "campaign_source": _safe_text(campaign.source if campaign else None, 128),
        "campaign_medium": _safe_text(campaign.medium if campaign else None, 128),
        "campaign_name": _safe_text(campaign.name if campaign else None, 256),
    }


def _commerce(properties: _Properties, ctx: ParseContext) -> dict[str, Any]:
    products = None
    if properties.products is not None:
        products = [
            {
                "product_id": _identifier(item.product_id),
                "sku": _text(item.sku),
                "category": _category(item.category),
                "brand": _text(item.brand),
                "name": _text(item.name),
                "price": _amount(item.price, ctx),
                "quantity": _quantity(item.quantity, ctx),
            }
            for item in properties.products
        ]
    return {
        "product_id": _identifier(properties.product_id),
        "sku": _text(properties.sku),
        "category": _category(properties.category),
        "brand": _text(properties.brand),
        "product_name": _text(properties.name),
        "price": _amount(properties.price, ctx),
        "quantity": _quantity(properties.quantity, ctx),
        "currency": _text(properties.currency, limit=8),
        "order_id": _identifier(properties.order_id),
        "revenue": _amount(properties.revenue, ctx),
        "total": _amount(properties.total, ctx),
        "discount": _float(properties.discount),
        "coupon": _text(properties.coupon or properties.coupon_id),
        "search_query": mask_pii(_text(properties.query)),
        "rating": _float(properties.rating),
        "share_via": _text(properties.share_via),
        "referrer_user_id": _identifier(properties.referrer_user_id),
        "products": products,
    }


def _float(value: float | None) -> float | None:
    """The reference's ``_number`` for a finite JSON number (ints become floats)."""
    return float(value) if value is not None else None
