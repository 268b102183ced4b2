"""Persona clustering on degenerate but valid snapshots: a result or a note, never a JVM error."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import DataFrame, SparkSession

from dmp.config import load_config
from dmp.segments.clusters import cluster_features, fit_clusters
from dmp.segments.settings import ClusterSettings
from dmp.segments.stage import SegmentResult, _personas

pytestmark = pytest.mark.spark

SCHEMA = (
    "person_id string, tags array<string>, category_affinity map<string,double>, "
    "bot_flag boolean, shared_identity boolean, price_index double, orders_count long, "
    "revenue_total double, app_share double, active_days_30d int"
)


def _profiles(spark: SparkSession, people: int, groups: int = 1) -> DataFrame:
    rows = [
        (f"p{i}", ["vip"] if i % groups else ["new"], {"shoes": float(i % groups)}, False, False,
         0.5 + (i % groups), i % groups, 10.0 * (i % groups), 0.0, 3 * (i % groups))
        for i in range(people)
    ]  # fmt: skip
    return spark.createDataFrame(rows, SCHEMA)


def test_persona_step_notes_a_homogeneous_snapshot(spark: SparkSession) -> None:
    settings = load_config(environ={})
    result = SegmentResult(as_of=date(2026, 1, 5))
    with _personas(settings, _profiles(spark, 150), result.as_of, result) as personas:
        assert personas is None
    assert result.persona_note is not None and "too alike" in result.persona_note
    assert result.silhouette is None  # undefined for one cluster; MLlib's evaluator would fail
    assert "persona clusters" in result.summary()


@pytest.mark.parametrize("people", [0, 1])
def test_persona_step_notes_too_few_people(spark: SparkSession, people: int) -> None:
    settings = load_config(environ={})
    result = SegmentResult(as_of=date(2026, 1, 5))
    with _personas(settings, _profiles(spark, people), result.as_of, result) as personas:
        assert personas is None
    assert result.persona_note is not None and result.persona_note.startswith("skipped:")


def test_two_behaviours_still_cluster(spark: SparkSession) -> None:
    features = cluster_features(_profiles(spark, 60, groups=2), ["shoes"])
    _, silhouette, found = fit_clusters(features, ClusterSettings(k=2, max_iterations=5))
    assert found == 2 and silhouette is not None and silhouette > 0.9
