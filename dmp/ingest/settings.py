"""Settings of the ingest stage (the ``ingest:`` section of the config)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from dmp.spec import StrictModel


class IngestSettings(StrictModel):
    """How landing files become ``bronze/events`` and ``bronze/quarantine``.

    Attributes:
        consent_purposes: dmp purpose -> names accepted in
            ``context.consent.categoryPreferences`` (compared case-insensitively).
        consent_default: Consent assumed for a purpose a person never stated; applied
            when profiles are built and exports evaluate consent (bronze keeps "not
            stated" as null). No consent unless configured.
        consent_defaults: Per purpose, per region (the person's declared country, ISO
            code, or ``"*"`` for any) overrides of ``consent_default``.
        max_record_bytes: Longer lines are quarantined as ``oversized``.
        min_event_time: Earlier timestamps are quarantined (the Unix epoch is a client bug;
            historical imports from the 1990s are legitimate).
        max_future_hours: Timestamps later than ingestion time plus this are quarantined.
        default_country_code: Calling code for phone numbers written without one.
        dedupe_window_days: Look this many days back in bronze for duplicate message ids;
            None compares against all of bronze.
        max_amount: Prices, revenues and totals above this are quarantined as
            ``value_out_of_range`` (a client bug or a test order, not a purchase).
        max_quantity: Quantities above this are quarantined the same way.
        quarantine_ceiling: The bronze gate fails when a larger share of read records is
            quarantined.
        volume_band: Accepted rows of a run versus the previous run, as ratios.
        volume_severity: ``warning`` (default: a small late file must not block) or
            ``error`` to fail the gate outside the band.
        first_party_dir: Folder under ``landing/`` with ``dt=YYYY-MM-DD`` partitions.
        partners_dir: Folder under ``landing/`` with one folder per partner.
    """

    consent_purposes: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "advertising": ["advertising"],
            "email": ["email"],
            "push": ["push", "push_notifications"],
            "sms": ["sms"],
        }
    )
    consent_default: bool = False
    consent_defaults: dict[str, dict[str, bool]] = Field(default_factory=dict)
    max_record_bytes: int = Field(64 * 1024, ge=1024)
    min_event_time: date = date(1990, 1, 1)
    max_future_hours: int = Field(24, ge=0)
    default_country_code: str = "1"
    dedupe_window_days: int | None = Field(None, ge=1)
    max_amount: float = Field(1_000_000, gt=0)
    max_quantity: int = Field(100_000, ge=1, le=2**31 - 1)
    quarantine_ceiling: float = Field(0.05, ge=0, le=1)
    volume_band: tuple[float, float] = (0.2, 5.0)
    volume_severity: Literal["warning", "error"] = "warning"
    first_party_dir: str = "first_party"
    partners_dir: str = "partners"
