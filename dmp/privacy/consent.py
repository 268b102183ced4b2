"""Consent per purpose from the latest statements: the one rule profiles and exports share.

Which statement is the latest: a statement counts at the moment it was made on the device
(``event_time``), but never later than the moment dmp received it (``received_at``, else
``ingested_at``), so a device whose clock runs ahead cannot overrule later statements; ties
go to the later receipt, then to the larger ``message_id``, so the choice is deterministic.

No statement means the configured default for the purpose and the person's region (their
latest declared country), which is "no consent" unless configured otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

ANY_REGION = "*"


def statement_time(events: DataFrame) -> Column:
    """When a statement counts: device time, capped at the time dmp received it."""
    received = _received(events)
    if received is None:
        return F.col("event_time")
    return F.least(F.col("event_time"), F.coalesce(received, F.col("event_time")))


def statement_order(events: DataFrame) -> Column:
    """Sort key of statements: counted time, then receipt, then message id (deterministic)."""
    received = _received(events)
    keys = [statement_time(events)]
    if received is not None:
        keys.append(received)
    if "message_id" in events.columns:
        keys.append(F.col("message_id"))
    return F.struct(*keys)


def stated_until(events: DataFrame, day: date) -> DataFrame:
    """Events whose statements count by the end of ``day`` (UTC)."""
    end = datetime.combine(day + timedelta(days=1), time.min)
    return events.filter(statement_time(events) < F.lit(end))


def default_for(
    purpose: str,
    default: bool,
    defaults: Mapping[str, Mapping[str, bool]],
    country: Column,
) -> Column:
    """The consent assumed for a person who never stated one for ``purpose``.

    Args:
        purpose: The consent purpose.
        default: The default for every purpose and region not configured otherwise.
        defaults: purpose -> region (ISO country code, or ``*`` for any) -> consent.
        country: The person's latest declared country.
    """
    by_region = {k.upper(): v for k, v in defaults.get(purpose, {}).items()}
    value: Column = F.lit(by_region.get(ANY_REGION, default))
    for region, granted in sorted(by_region.items()):
        if region != ANY_REGION:
            value = F.when(F.upper(country) == region, F.lit(granted)).otherwise(value)
    return value


def latest_consent(
    events: DataFrame,
    purposes: Sequence[str],
    default: bool,
    defaults: Mapping[str, Mapping[str, bool]] | None = None,
) -> DataFrame:
    """Consent per person and purpose: the latest statement, else the default.

    Args:
        events: Attributed events (``person_id``, ``event_time``, ``consent_<purpose>``;
            ``received_at``, ``ingested_at``, ``message_id`` and ``country`` when present).
        purposes: Purposes to evaluate.
        default: Consent of a person with no statement, where ``defaults`` says nothing.
        defaults: Per purpose and region overrides of ``default``.

    Returns:
        ``person_id``, and ``consent_<purpose>`` and ``consent_<purpose>_stated`` for each
        purpose.
    """
    order = statement_order(events)
    columns = [
        F.max_by(F.col(f"consent_{p}"), F.when(F.col(f"consent_{p}").isNotNull(), order)).alias(
            f"_{p}"
        )
        for p in purposes
    ]
    if "country" in events.columns:
        columns.append(
            F.max_by(F.col("country"), F.when(F.col("country").isNotNull(), order)).alias(
                "_country"
            )
        )
    else:
        columns.append(F.lit(None).cast("string").alias("_country"))
    latest = events.groupBy("person_id").agg(*columns)
    out = [F.col("person_id")]
    for purpose in purposes:
        fallback = default_for(purpose, default, defaults or {}, F.col("_country"))
        out.append(F.coalesce(F.col(f"_{purpose}"), fallback).alias(f"consent_{purpose}"))
        out.append(F.col(f"_{purpose}").isNotNull().alias(f"consent_{purpose}_stated"))
    return latest.select(*out)


def _received(events: DataFrame) -> Column | None:
    present = [F.col(c) for c in ("received_at", "ingested_at") if c in events.columns]
    if not present:
        return None
    return present[0] if len(present) == 1 else F.coalesce(*present)
