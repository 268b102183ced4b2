"""Identity, consent and personal dimensions of a profile. Pure transforms.

Declared values come from the person's own traits (the latest stated value up to as-of);
values a partner inferred (segments named ``gender:<value>`` or ``age_band:<value>`` in a
partner taxonomy) are kept in separate ``*_inferred`` columns with their source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

_AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 17, "under_18"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 200, "65+"),
)


def age_band(birth_year: Column, as_of: date) -> Column:
    """Age band from a birth year, as of a date (age = as-of year minus birth year)."""
    age = F.lit(as_of.year) - birth_year
    band: Column = F.lit(None).cast("string")
    for low, high, name in _AGE_BANDS:
        band = F.when(age.between(low, high), F.lit(name)).otherwise(band)
    return band


def identity_columns(identity_map: DataFrame, events: DataFrame) -> DataFrame:
    """Ids held and activity span: ``person_id, user_ids, identifier_counts, registered,
    has_email, has_phone, has_advertising_id, shared_identity, first_seen_at, last_seen_at,
    events_total``."""
    held = identity_map.groupBy("person_id").agg(
        F.sort_array(F.collect_set(F.when(F.col("id_type") == "user_id", F.col("id_value")))).alias(
            "user_ids"
        ),
        F.collect_set("id_type").alias("_types"),
        F.max((F.col("link") == "shared").cast("int")).alias("_shared"),
    )
    counts = identity_map.groupBy("person_id", "id_type").agg(F.count(F.lit(1)).alias("n"))
    count_map = counts.groupBy("person_id").agg(
        F.map_from_entries(F.sort_array(F.collect_list(F.struct("id_type", "n")))).alias(
            "identifier_counts"
        )
    )
    span = events.groupBy("person_id").agg(
        F.min("event_time").alias("first_seen_at"),
        F.max("event_time").alias("last_seen_at"),
        F.count(F.lit(1)).alias("events_total"),
    )

    def has(kind: str) -> Column:
        return F.coalesce(F.array_contains("_types", kind), F.lit(False))

    return (
        span.join(held, "person_id", "left")
        .join(count_map, "person_id", "left")
        .select(
            "person_id",
            F.coalesce(F.col("user_ids"), F.array().cast("array<string>")).alias("user_ids"),
            "identifier_counts",
            (F.size(F.coalesce(F.col("user_ids"), F.array())) > 0).alias("registered"),
            has("email_sha256").alias("has_email"),
            has("phone_sha256").alias("has_phone"),
            has("advertising_id").alias("has_advertising_id"),
            F.coalesce(F.col("_shared") == 1, F.lit(False)).alias("shared_identity"),
            "first_seen_at",
            "last_seen_at",
            "events_total",
        )
    )


def declared(events: DataFrame, as_of: date) -> DataFrame:
    """Latest stated gender, birth year, city, city tier and country, with the age band."""
    fields = ("gender", "birth_year", "city", "city_tier", "country")
    latest = [
        F.max_by(F.col(name), F.when(F.col(name).isNotNull(), F.col("event_time"))).alias(name)
        for name in fields
    ]
    stated = events.groupBy("person_id").agg(*latest)
    return stated.withColumn("age_band", age_band(F.col("birth_year"), as_of))


def consent(
    events: DataFrame,
    purposes: Sequence[str],
    default: bool,
    defaults: Mapping[str, Mapping[str, bool]] | None = None,
) -> DataFrame:
    """Consent per purpose: the latest stated value up to as-of, else the default.

    The rule (which statement is the latest, the per-purpose and per-region defaults) is
    :func:`dmp.privacy.consent.latest_consent`, shared with exports.

    Returns:
        ``person_id`` and ``consent_<purpose>`` plus ``consent_<purpose>_stated`` (whether
        the person ever said so) for each purpose.
    """
    from dmp.privacy.consent import latest_consent

    return latest_consent(events, purposes, default, defaults)


def partner_dimensions(events: DataFrame) -> DataFrame:
    """Partner segments and partner-inferred demographics.

    Returns:
        ``person_id, partner_segments`` (``partner, segment, confidence, rows,
        last_seen_at``; confidence is the highest score the partner gave) and
        ``gender_inferred``, ``age_band_inferred`` with ``*_inferred_source``.
    """
    rows = events.filter(F.col("event_type") == "partner_segment").select(
        "person_id",
        F.col("source").alias("partner"),
        F.explode("partner_segments").alias("segment"),
        "partner_score",
        "event_time",
    )
    per_segment = rows.groupBy("person_id", "partner", "segment").agg(
        F.max("partner_score").alias("confidence"),
        F.count(F.lit(1)).alias("rows"),
        F.max("event_time").alias("last_seen_at"),
    )
    segments = per_segment.groupBy("person_id").agg(
        F.sort_array(
            F.collect_list(F.struct("partner", "segment", "confidence", "rows", "last_seen_at"))
        ).alias("partner_segments")
    )
    inferred = segments.select("person_id")
    for kind in ("gender", "age_band"):
        prefix = f"{kind}:"
        candidates = per_segment.filter(F.col("segment").startswith(prefix))
        best = candidates.groupBy("person_id").agg(
            F.max_by(
                F.struct(
                    F.substring(F.col("segment"), len(prefix) + 1, 64).alias("value"),
                    F.col("partner").alias("source"),
                ),
                F.struct(F.coalesce(F.col("confidence"), F.lit(0.0)), F.col("rows")),
            ).alias("_best")
        )
        inferred = inferred.join(
            best.select(
                "person_id",
                F.col("_best.value").alias(f"{kind}_inferred"),
                F.col("_best.source").alias(f"{kind}_inferred_source"),
            ),
            "person_id",
            "left",
        )
    return segments.join(inferred, "person_id", "left")
