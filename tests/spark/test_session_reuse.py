"""A stage started inside a running session (a notebook's, the suite's) keeps its sizing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dmp.config import load_config
from dmp.session import build_session


def test_a_running_session_keeps_its_partitions_and_gets_dmp_settings(
    spark: Any, tmp_path: Path
) -> None:
    settings = load_config(home=tmp_path, environ={})
    sized = settings.spark.model_copy(update={"shuffle_partitions": 123})
    settings = settings.model_copy(update={"spark": sized})
    spark.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    before = spark.conf.get("spark.sql.shuffle.partitions")
    adaptive = spark.conf.get("spark.sql.adaptive.enabled")
    try:
        again = build_session(settings)
        assert again is spark or again.sparkContext is spark.sparkContext
        assert spark.conf.get("spark.sql.shuffle.partitions") == before != "123"
        assert spark.conf.get("spark.sql.adaptive.enabled") == adaptive
        assert spark.conf.get("spark.sql.session.timeZone") == "UTC"  # results need UTC
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_a_statically_planned_block_restores_adaptive_execution(spark: Any) -> None:
    from pyspark.sql import functions as F

    from dmp.caching import kept
    from dmp.session import planned_statically

    adaptive = spark.conf.get("spark.sql.adaptive.enabled")
    grouped = spark.range(100).groupBy((F.col("id") % 7).alias("k")).count()
    try:
        with planned_statically(spark), kept(grouped) as held:
            assert spark.conf.get("spark.sql.adaptive.enabled") == "false"
            assert held.count() == 7
            plan = held._jdf.queryExecution().executedPlan().toString()
            assert "AdaptiveSparkPlan" not in plan
            raise RuntimeError("stage failed")
    except RuntimeError:
        pass
    assert spark.conf.get("spark.sql.adaptive.enabled") == adaptive
