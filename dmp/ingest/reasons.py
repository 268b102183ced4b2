"""Machine-readable reasons a landing record is quarantined instead of ingested."""

from __future__ import annotations

from enum import StrEnum


class QuarantineReason(StrEnum):
    """Why a record went to ``bronze/quarantine``.

    A record is checked in the order the members are listed; the first failing check
    names the reason, so a record with several faults has exactly one reason.
    """

    UNREADABLE_FILE = "unreadable_file"
    """The file could not be read from this line on (a truncated or corrupt gzip stream);
    one row stands for the unreadable rest, the lines before it are ingested."""
    INVALID_UTF8 = "invalid_utf8"
    """The line is not valid UTF-8, or a JSON string in it escapes a lone UTF-16 surrogate
    (``"\\ud800"``: text with no UTF-8 form; found once the JSON is parsed)."""
    OVERSIZED = "oversized"
    """The line is longer than ``ingest.max_record_bytes``."""
    MALFORMED_JSON = "malformed_json"
    """Not parseable as a JSON object (includes truncated lines)."""
    UNKNOWN_TYPE = "unknown_type"
    """``type`` is missing or not one of track, identify, page, screen, alias, group."""
    MISSING_MESSAGE_ID = "missing_message_id"
    """``messageId`` is absent, null or empty."""
    MISSING_TIMESTAMP = "missing_timestamp"
    """``timestamp`` is absent or null."""
    INVALID_TIMESTAMP = "invalid_timestamp"
    """``timestamp`` is not an ISO-8601 string (wrong JSON type or unparseable)."""
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"
    """Before ``ingest.min_event_time`` (1990-01-01) or more than a day after ingestion."""
    MISSING_IDENTIFIER = "missing_identifier"
    """Neither ``userId`` nor ``anonymousId`` (nor, for alias, ``previousId``) is present."""
    WRONG_TYPE = "wrong_type"
    """A known field has the wrong JSON type (e.g. ``properties.price`` is ``"abc"``)."""
    NEGATIVE_VALUE = "negative_value"
    """A price, revenue, total or quantity is negative."""
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    """A price, revenue or total above ``ingest.max_amount``, or a quantity above
    ``ingest.max_quantity``."""
    DUPLICATE_CONFLICT = "duplicate_conflict"
    """A ``messageId`` already ingested from the same source with a different body."""
    MALFORMED_ROW = "malformed_row"
    """Partner CSV: wrong number of columns or unparseable row."""
    INVALID_IDENTIFIER = "invalid_identifier"
    """Partner CSV: identifier not in the format its type requires (e.g. not 64 hex chars)."""


RECORD_CHECK_ORDER: tuple[QuarantineReason, ...] = tuple(QuarantineReason)
"""The order in which first-party checks are applied (the enum's declaration order)."""
