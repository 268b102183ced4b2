"""Profiles and segments on the shared generated world."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F

from dmp.driver import run_stage
from dmp.errors import UserError
from dmp.lake import Lake
from dmp.segments.entry import SEGMENTS, SegmentsRequest
from tests.integration.conftest import Stages


def test_profiles_match_the_planted_world(stages: Stages) -> None:
    """Regression guards on the small world (the 10k-person world is the benchmark)."""
    checks = stages.profiles.truth_checks
    assert checks["top interest is a planted top category"] >= 0.7
    assert checks["gift category in top interests"] <= 0.25
    for flag in ("bot", "coupon abuse"):
        assert checks[f"{flag} precision"] >= 0.9, flag
        assert checks[f"{flag} recall"] >= 0.9, flag
    # bursty but human: hundreds of pages an hour, no cart; the old hourly-rate rule took
    # them for bots
    assert checks["bingers flagged"] == 0.0
    assert checks["regular people flagged"] < 0.02


def test_one_row_per_person_and_the_contract_columns(spark, stages: Stages) -> None:
    lake = Lake(stages.world.settings.lake_dir)
    snapshot = lake.read(spark, "silver/profiles").filter(F.col("as_of") == F.lit(stages.as_of))
    assert snapshot.count() == stages.profiles.persons
    assert snapshot.select("person_id").distinct().count() == stages.profiles.persons
    for column in (
        "person_id", "as_of", "user_ids", "first_seen_at", "last_seen_at", "orders_count",
        "revenue_total", "first_order_at", "last_order_at", "recency_days", "lifecycle_stage",
        "rfm_score", "vip_level", "consent_advertising", "consent_email", "consent_sms",
        "category_affinity", "top_interests", "purchase_cycles", "influence_score",
        "partner_segments", "bot_flag", "coupon_abuse_flag", "tags",
    ):  # fmt: skip
        assert column in snapshot.columns, column
    assert snapshot.filter(F.col("recency_days") < 0).count() == 0


def test_two_as_of_dates_keep_two_snapshots(spark, stages: Stages) -> None:
    lake = Lake(stages.world.settings.lake_dir)
    history = lake.history("silver/profiles")
    # the early snapshot was written first; reading that version gives exactly it
    early_version = stages.early_profiles.version
    early_then = lake.read(spark, "silver/profiles", version=early_version)
    early_now = lake.read(spark, "silver/profiles").filter(
        F.col("as_of") == F.lit(stages.early_as_of)
    )
    as_json = lambda frame: frame.select(F.to_json(F.struct(*frame.columns)).alias("row"))  # noqa: E731
    assert as_json(early_then).exceptAll(as_json(early_now)).count() == 0
    assert as_json(early_now).exceptAll(as_json(early_then)).count() == 0
    assert {str(d) for d in lake.partition_values("silver/profiles", "as_of")} == {
        stages.early_as_of.isoformat(),
        stages.as_of.isoformat(),
    }
    assert len(history) >= 2
    moved = early_now.select("person_id", F.col("lifecycle_stage").alias("before")).join(
        lake.read(spark, "silver/profiles")
        .filter(F.col("as_of") == F.lit(stages.as_of))
        .select("person_id", "previous_lifecycle_stage"),
        "person_id",
    )
    assert moved.filter(F.col("before") != F.col("previous_lifecycle_stage")).count() == 0


def test_segment_sizes_and_overlaps_agree_with_the_profiles(spark, stages: Stages) -> None:
    lake = Lake(stages.world.settings.lake_dir)
    snapshot = lake.read(spark, "silver/profiles").filter(F.col("as_of") == F.lit(stages.as_of))
    from dmp.segments.spec import load_segment_file

    for segment in load_segment_file(stages.segment_file).segments:
        expected = snapshot.filter(F.coalesce(F.expr(segment.where), F.lit(False))).count()
        assert stages.segments.sizes[segment.name] == expected, segment.name
    overlaps = lake.read(spark, "gold/segment_overlaps").filter(
        F.col("as_of") == F.lit(stages.as_of)
    )
    diagonal = {
        r["segment_a"]: r["overlap"]
        for r in overlaps.filter(F.col("segment_a") == F.col("segment_b")).collect()
    }
    assert diagonal == {k: v for k, v in stages.segments.sizes.items() if v}
    assert stages.segments.overlap_plot and Path(stages.segments.overlap_plot).exists()
    assert stages.segments.silhouette is not None and stages.segments.clusters


def test_an_unknown_column_is_refused_before_reading_data(
    spark, stages: Stages, tmp_path: Path
) -> None:
    bad = tmp_path / "segments.yaml"
    bad.write_text('segments:\n  - {name: typo, where: "vip_levl >= 4"}\n')
    settings = stages.world.settings
    with pytest.raises(UserError, match=r"segment 'typo': unknown column 'vip_levl'.*vip_level"):
        run_stage(SEGMENTS, settings, SegmentsRequest(as_of=stages.as_of, file=bad), spark=spark)
