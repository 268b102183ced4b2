"""The add-action checks and statistics that delta-rs does not do for us (no Spark needed)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dmp.lake._files import (
    FileStats,
    WrittenFile,
    checked_add_action,
    escape_partition_value,
    partition_folder,
    partition_value_string,
)
from dmp.lake._schema import plan_schema
from dmp.lake.errors import LakeSchemaError, LakeWriteError


def _written(root: Path, relative: str, partition: dict) -> WrittenFile:
    table = pa.table({"id": pa.array([1, 2], pa.int64())})
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / relative)
    stats = FileStats(table.schema)
    stats.update(table)
    return WrittenFile(relative, (root / relative).stat().st_size, partition, 2, stats.to_json(), 0)


def test_escaping_matches_spark() -> None:
    assert escape_partition_value("a/b=c:d%") == "a%2Fb%3Dc%3Ad%25"
    assert escape_partition_value("with space") == "with space"
    assert partition_folder(["k", "d"], {"k": "x", "d": None}) == (
        "k=x/d=__HIVE_DEFAULT_PARTITION__"
    )
    assert partition_value_string(dt.date(2024, 2, 3)) == "2024-02-03"
    assert partition_value_string(True) == "true"
    assert partition_value_string("") is None


def test_a_good_file_becomes_an_add_action(tmp_path: Path) -> None:
    written = _written(tmp_path, "day=2024-01-01/part-w1-a.parquet", {"day": "2024-01-01"})
    action = checked_add_action(str(tmp_path), written, ["day"])
    assert action.path == "day=2024-01-01/part-w1-a.parquet"
    assert json.loads(action.stats)["numRecords"] == 2


def test_wrong_size_missing_file_and_partition_keys_are_refused(tmp_path: Path) -> None:
    written = _written(tmp_path, "day=2024-01-01/part-w1-a.parquet", {"day": "2024-01-01"})
    wrong_size = WrittenFile(**{**written.__dict__, "size": written.size + 1})
    with pytest.raises(LakeWriteError, match="bytes on disk"):
        checked_add_action(str(tmp_path), wrong_size, ["day"])
    with pytest.raises(LakeWriteError, match="partition values"):
        checked_add_action(str(tmp_path), written, ["day", "hour"])
    elsewhere = WrittenFile(**{**written.__dict__, "partition_values": {"day": "2024-01-02"}})
    with pytest.raises(LakeWriteError, match="is not under day=2024-01-02/"):
        checked_add_action(str(tmp_path), elsewhere, ["day"])
    (tmp_path / written.path).unlink()
    with pytest.raises(LakeWriteError, match="vanished"):
        checked_add_action(str(tmp_path), written, ["day"])
    with pytest.raises(LakeWriteError, match="refusing"):
        checked_add_action(str(tmp_path), WrittenFile(**{**written.__dict__, "path": "../x"}), [])


def test_stats_skip_what_would_mislead() -> None:
    table = pa.table(
        {
            "n": pa.array([1.0, float("nan")]),
            "long": ["x" * 40, "y"],
            "short": ["b", None],
            "ts": pa.array(
                [dt.datetime(2024, 1, 1, 0, 0, 0, 1500), dt.datetime(2024, 1, 1)],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    stats = FileStats(table.schema)
    stats.update(table)
    parsed = json.loads(stats.to_json())
    assert "n" not in parsed["minValues"]  # NaN makes min/max meaningless
    assert "long" not in parsed["maxValues"]  # a truncated max would skip files wrongly
    assert parsed["minValues"]["short"] == "b" and parsed["nullCount"]["short"] == 1
    assert parsed["maxValues"]["ts"] == "2024-01-01T00:00:00.002Z"  # rounded up
    assert parsed["minValues"]["ts"] == "2024-01-01T00:00:00.000Z"


def test_schema_plan() -> None:
    table = pa.schema([("id", pa.int64()), ("name", pa.string())])
    plan = plan_schema("t", table, pa.schema([("id", pa.int32()), ("x", pa.float64())]), [])
    assert plan.missing == ("name",)
    assert [f.name for f in plan.new_fields] == ["x"]
    assert plan.casts == {"id": pa.int64()}
    assert plan.target.names == ["id", "name", "x"]
    with pytest.raises(LakeSchemaError, match="'name' is string in the table but double"):
        plan_schema("t", table, pa.schema([("name", pa.float64())]), [])
    with pytest.raises(LakeSchemaError, match="partition column 'ts' has type"):
        plan_schema("t", None, pa.schema([("ts", pa.timestamp("us", tz="UTC"))]), ["ts"])
    with pytest.raises(LakeSchemaError, match="not allowed"):
        plan_schema("t", table, pa.schema([("y", pa.int64())]), [], allow_new_columns=False)
