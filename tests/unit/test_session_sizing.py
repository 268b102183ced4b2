"""``spark.shuffle_partitions: auto`` follows the size of the data a job reads."""

from __future__ import annotations

import os
from pathlib import Path

from dmp.config import load_config
from dmp.session import shuffle_partitions


def _settings(home: Path, **spark: object):  # type: ignore[no-untyped-def]
    settings = load_config(home=home, environ={})
    return settings.model_copy(update={"spark": settings.spark.model_copy(update=spark)})


def test_a_small_root_gets_two_partitions_per_core(tmp_path: Path) -> None:
    assert _settings(tmp_path).spark.shuffle_partitions == "auto"
    assert shuffle_partitions(_settings(tmp_path)) == 2 * (os.cpu_count() or 1)


def test_partitions_grow_with_landing_and_bronze_bytes(tmp_path: Path) -> None:
    settings = _settings(tmp_path, partition_mb=1)
    landing = settings.landing_dir / "first_party" / "dt=2026-01-01"
    landing.mkdir(parents=True)
    (landing / "a.jsonl.gz").write_bytes(b"x" * (40 * 2**20))
    bronze = settings.lake_dir / "bronze" / "events" / "event_date=2026-01-01"
    bronze.mkdir(parents=True)
    (bronze / "part-0.parquet").write_bytes(b"y" * (9 * 2**20 + 1))
    assert shuffle_partitions(settings) == max(2 * (os.cpu_count() or 1), 50)


def test_a_cluster_floor_and_a_fixed_number(tmp_path: Path) -> None:
    assert shuffle_partitions(_settings(tmp_path, master="spark://10.0.0.1:7077")) == 4
    assert shuffle_partitions(_settings(tmp_path, shuffle_partitions=7)) == 7
