"""Schemas of ``bronze/events`` and ``bronze/quarantine`` (the canonical event contract)."""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")

PRODUCT_TYPE = pa.struct(
    [
        ("product_id", pa.string()),
        ("sku", pa.string()),
        ("category", pa.string()),
        ("brand", pa.string()),
        ("name", pa.string()),
        ("price", pa.float64()),
        ("quantity", pa.int32()),
    ]
)

# Identifier columns, normalised; personal identifiers only as SHA-256 hex digests.
IDENTIFIER_COLUMNS: tuple[str, ...] = (
    "user_id",
    "anonymous_id",
    "previous_id",
    "device_id",
    "advertising_id",
    "partner_uid",
    "email_sha256",
    "phone_sha256",
)

EVENT_FIELDS: list[tuple[str, pa.DataType]] = [
    ("source", pa.string()),
    ("message_id", pa.string()),
    ("message_hash", pa.string()),
    ("event_type", pa.string()),
    ("event_name", pa.string()),
    ("event_time", _TS),
    ("sent_at", _TS),
    ("received_at", _TS),
    ("channel", pa.string()),
    # identifiers
    ("user_id", pa.string()),
    ("anonymous_id", pa.string()),
    ("previous_id", pa.string()),
    ("device_id", pa.string()),
    ("advertising_id", pa.string()),
    ("partner_uid", pa.string()),
    ("email_sha256", pa.string()),  # trim + lower-case (Meta, partners)
    ("email_sha256_google", pa.string()),  # + gmail/googlemail dot and +tag removal
    ("email_sha256_uid2", pa.string()),  # + gmail dot and +tag removal
    ("phone_sha256", pa.string()),  # digits with country code (Meta)
    ("phone_sha256_e164", pa.string()),  # E.164 with + (Google, UID2)
    ("first_name_sha256", pa.string()),  # Meta rules
    ("last_name_sha256", pa.string()),
    ("first_name_sha256_google", pa.string()),
    ("last_name_sha256_google", pa.string()),
    # declared demographics (identify traits)
    ("gender", pa.string()),
    ("birth_year", pa.int32()),
    ("city", pa.string()),
    ("state", pa.string()),
    ("country", pa.string()),
    ("postal_code", pa.string()),
    ("city_tier", pa.int32()),
    # consent as stated on this event (null = not stated)
    ("consent_advertising", pa.bool_()),
    ("consent_email", pa.bool_()),
    ("consent_push", pa.bool_()),
    ("consent_sms", pa.bool_()),
    # context
    ("ip_truncated", pa.string()),
    ("user_agent", pa.string()),
    ("locale", pa.string()),
    ("timezone", pa.string()),
    ("library_name", pa.string()),
    ("library_version", pa.string()),
    ("os_name", pa.string()),
    ("device_type", pa.string()),
    ("device_model", pa.string()),
    ("app_version", pa.string()),
    ("page_path", pa.string()),
    ("page_url", pa.string()),
    ("page_referrer", pa.string()),
    ("page_title", pa.string()),
    ("campaign_source", pa.string()),
    ("campaign_medium", pa.string()),
    ("campaign_name", pa.string()),
    # e-commerce properties
    ("product_id", pa.string()),
    ("sku", pa.string()),
    ("category", pa.string()),
    ("brand", pa.string()),
    ("product_name", pa.string()),
    ("price", pa.float64()),
    ("quantity", pa.int32()),
    ("currency", pa.string()),
    ("order_id", pa.string()),
    ("revenue", pa.float64()),
    ("total", pa.float64()),
    ("discount", pa.float64()),
    ("coupon", pa.string()),
    ("search_query", pa.string()),
    ("rating", pa.float64()),
    ("share_via", pa.string()),
    ("referrer_user_id", pa.string()),
    ("products", pa.list_(PRODUCT_TYPE)),
    # partner rows
    ("partner_segments", pa.list_(pa.string())),
    ("partner_score", pa.float64()),
    # everything else in properties, PII-masked
    ("properties_json", pa.string()),
    # lineage
    ("landing_date", pa.date32()),
    ("source_file", pa.string()),
    ("source_line", pa.int64()),
]

EVENT_PARTITION = "event_date"
EVENTS_SCHEMA = pa.schema([*EVENT_FIELDS, (EVENT_PARTITION, pa.date32())])
"""``bronze/events``; ``ingested_at`` and ``run_id`` are added by the stage."""

# What the parsers emit per input line: the event columns plus the verdict.
PARSED_SCHEMA = pa.schema(
    [
        *EVENT_FIELDS,
        (EVENT_PARTITION, pa.date32()),
        ("reason", pa.string()),
        ("raw_masked", pa.string()),
        ("raw_bytes", pa.int64()),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("landing_date", pa.date32()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("reason", pa.string()),
        ("message_id", pa.string()),
        ("raw_masked", pa.string()),
        ("raw_bytes", pa.int64()),
        ("ingested_at", _TS),
        ("run_id", pa.string()),
    ]
)
