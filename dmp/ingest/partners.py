"""Partner CSV logs: the mapping spec (``conf/partners/*.yaml``) and the row parser.

Adding a partner is a YAML file, not code: its columns, delimiter, identifier types,
timestamp format and zone, and segment taxonomy are all declared in the spec.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from dmp.errors import ConfigError
from dmp.ingest.reasons import QuarantineReason as R
from dmp.ingest.records import ParseContext, masked_excerpt
from dmp.privacy import pseudonymous_id
from dmp.spec import StrictModel, load_yaml_spec

PartnerIdType = Literal["email_sha256", "phone_sha256", "advertising_id", "partner_uid", "user_id"]
_FORMATS: dict[str, re.Pattern[str]] = {
    "email_sha256": re.compile(r"^[0-9a-f]{64}$"),
    "phone_sha256": re.compile(r"^[0-9a-f]{64}$"),
    "advertising_id": re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
    "partner_uid": re.compile(r"^[\x21-\x7e]{1,128}$"),
    "user_id": re.compile(r"^[\x21-\x7e]{1,128}$"),
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PartnerIdentifier(StrictModel):
    """One identifier column of a partner file."""

    column: str
    id_type: PartnerIdType


class PartnerTime(StrictModel):
    """When the partner saw the person: a column and how to read it."""

    column: str
    format: str = Field(
        description="strftime pattern, or iso8601, epoch_seconds, epoch_millis",
    )
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class PartnerSegments(StrictModel):
    """The column with segment codes, several per row split by ``separator``."""

    column: str
    separator: str | None = None


class PartnerScore(StrictModel):
    """A confidence column, divided by ``max`` to land in 0..1."""

    column: str
    max: float = Field(1.0, gt=0)


class PartnerSpec(StrictModel):
    """How to read one partner's CSV files from ``landing/partners/<name>/dt=.../``."""

    name: str
    description: str = ""
    delimiter: str = Field(",", min_length=1, max_length=1)
    header: bool = True
    columns: list[str] = Field(min_length=1)
    identifiers: list[PartnerIdentifier] = Field(min_length=1)
    time: PartnerTime
    segments: PartnerSegments
    score: PartnerScore | None = None
    taxonomy: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("partner names are lower-case snake_case (they become sources)")
        return value

    @model_validator(mode="after")
    def _columns_exist(self) -> PartnerSpec:
        used = [i.column for i in self.identifiers] + [self.time.column, self.segments.column]
        if self.score:
            used.append(self.score.column)
        missing = [c for c in used if c not in self.columns]
        if missing:
            raise ValueError(f"columns {missing} are used but not listed in columns")
        return self


def load_partner_specs(folder: Path) -> dict[str, PartnerSpec]:
    """Every ``*.yaml`` in ``folder``, validated; file stem must equal the partner name."""
    specs: dict[str, PartnerSpec] = {}
    for path in sorted(folder.glob("*.yaml")):
        spec = load_yaml_spec(path, PartnerSpec)
        if spec.name != path.stem:
            raise ConfigError(f"{path}: name: {spec.name!r} must match the file name")
        specs[spec.name] = spec
    return specs


def parse_partner_line(
    line: bytes, line_number: int, spec: PartnerSpec, ctx: ParseContext
) -> dict[str, Any] | None:
    """Parse one CSV line; None for the header line and blank lines.

    Returns:
        A row of ``PARSED_SCHEMA`` (``event_type`` ``partner_segment``) with ``reason``
        None, or a quarantine verdict with the masked line.
    """
    digest = hashlib.sha256(spec.name.encode() + b"\x00" + line).hexdigest()[:32]
    base: dict[str, Any] = {
        "source": spec.name,
        "landing_date": ctx.landing_date,
        "source_file": ctx.source_file,
        "source_line": line_number,
        "raw_bytes": len(line),
        "message_hash": digest,
    }
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return _reject(base, R.INVALID_UTF8, line.decode("utf-8", errors="replace"))
    if not text.strip():
        return None
    if len(line) > ctx.max_record_bytes:
        return _reject(base, R.OVERSIZED, text)
    try:
        cells = next(csv.reader([text], delimiter=spec.delimiter, strict=True))
    except (csv.Error, StopIteration):
        return _reject(base, R.MALFORMED_ROW, text)
    if spec.header and line_number == 1:
        if [c.strip() for c in cells] != spec.columns:
            return _reject(base, R.MALFORMED_ROW, text)
        return None
    if len(cells) != len(spec.columns):
        return _reject(base, R.MALFORMED_ROW, text)
    values = {name: cell.strip() for name, cell in zip(spec.columns, cells, strict=True)}

    identifiers: dict[str, str] = {}
    for identifier in spec.identifiers:
        value = values[identifier.column]
        if not value:
            continue
        if identifier.id_type in ("email_sha256", "phone_sha256", "advertising_id"):
            value = value.lower()
        if not _FORMATS[identifier.id_type].match(value):
            return _reject(base, R.INVALID_IDENTIFIER, text)
        if identifier.id_type in ("partner_uid", "user_id"):
            # an e-mail address or phone number as the id
            value = pseudonymous_id(value, ctx.default_country_code, key=ctx.id_key) or value
        identifiers[identifier.id_type] = value
    if not identifiers:
        return _reject(base, R.MISSING_IDENTIFIER, text)
    seen_at = _partner_time(values[spec.time.column], spec.time)
    if seen_at is None:
        return _reject(base, R.INVALID_TIMESTAMP, text)
    if seen_at < ctx.min_time or seen_at > ctx.max_time:
        return _reject(base, R.TIMESTAMP_OUT_OF_RANGE, text)
    score = None
    if spec.score is not None and values[spec.score.column]:
        try:
            score = min(1.0, max(0.0, float(values[spec.score.column]) / spec.score.max))
        except ValueError:
            return _reject(base, R.WRONG_TYPE, text)
    base.update(
        message_id=digest,
        event_type="partner_segment",
        event_name=spec.name,
        event_time=seen_at,
        event_date=seen_at.date(),
        received_at=ctx.ingested_at,
        channel="partner",
        partner_segments=_segments(values[spec.segments.column], spec),
        partner_score=score,
        reason=None,
        **identifiers,
    )
    return base


def _segments(cell: str, spec: PartnerSpec) -> list[str]:
    codes: Sequence[str] = (
        cell.split(spec.segments.separator) if spec.segments.separator else [cell]
    )
    named = []
    for code in (c.strip() for c in codes):
        if code:
            # Unknown codes are kept, namespaced, rather than silently dropped.
            named.append(spec.taxonomy.get(code, f"{spec.name}:{code}"))
    return sorted(set(named))


def _partner_time(value: str, time: PartnerTime) -> datetime | None:
    if not value:
        return None
    try:
        if time.format in ("epoch_millis", "epoch_seconds"):
            number = float(value)
            seconds = number / 1000 if time.format == "epoch_millis" else number
            return datetime.fromtimestamp(seconds, tz=UTC)
        if time.format == "iso8601":
            parsed = datetime.fromisoformat(value)
        else:
            parsed = datetime.strptime(value, time.format)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(time.timezone))
        # OverflowError here too: year 1 or 9999 local time may have no UTC datetime
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _reject(row: dict[str, Any], reason: R, text: str) -> dict[str, Any]:
    row.update(reason=reason.value, raw_masked=masked_excerpt(text), message_id=None)
    return row
