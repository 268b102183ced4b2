"""The typed write modes of dmp.lake: what each means on a small driver-side table, and
mistakes refused before any data moves (no Spark needed)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from dmp.lake import (
    APPEND,
    OVERWRITE,
    REPLACE_PARTITIONS,
    Append,
    Lake,
    LakeError,
    Overwrite,
    ReplacePartition,
    ReplacePartitions,
)


def test_modes_are_values_that_compare_by_what_they_say() -> None:
    assert Append() == APPEND and Overwrite() == OVERWRITE
    assert ReplacePartitions() == REPLACE_PARTITIONS
    assert ReplacePartition({"as_of": "2026-01-05"}) == ReplacePartition({"as_of": "2026-01-05"})
    assert ReplacePartition({"as_of": "2026-01-05"}) != ReplacePartition({"as_of": "2026-01-06"})
    with pytest.raises(ValueError, match="at least one partition column"):
        ReplacePartition({})


def test_arrow_writes_append_or_overwrite_the_table(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.write_arrow(pa.table({"x": [1, 2]}), "ops/t")
    lake.write_arrow(pa.table({"x": [3]}), "ops/t", mode=APPEND)
    assert sorted(lake.read_arrow("ops/t").column("x").to_pylist()) == [1, 2, 3]
    lake.write_arrow(pa.table({"x": [4]}), "ops/t", mode=OVERWRITE)
    assert lake.read_arrow("ops/t").column("x").to_pylist() == [4]
    assert [c.version for c in lake.history("ops/t")] == [2, 1, 0]


def test_a_mode_a_write_cannot_honour_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    lake = Lake(tmp_path / "lake")
    with pytest.raises(LakeError, match="appends or overwrites"):
        lake.write_arrow(pa.table({"x": [1]}), "ops/t", mode=REPLACE_PARTITIONS)  # type: ignore[arg-type]
    with pytest.raises(LakeError, match="unknown write mode 'overwrite'"):
        lake.write(None, "ops/t", mode="overwrite")  # type: ignore[arg-type]
    assert not lake.exists("ops/t")
