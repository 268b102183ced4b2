"""dmp.lake against independent readers and writers (delta-rs, Polars) and the bridge's traps."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import deltalake
import pyarrow as pa
import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import LongType

from dmp.lake import (
    APPEND,
    OVERWRITE,
    REPLACE_PARTITIONS,
    Lake,
    LakeError,
    LakeSchemaError,
    LakeWriteError,
    ReplacePartition,
    TableNotFound,
)
from dmp.lake._source import WriteRequest, commit_files, remove_uncommitted_files

ROWS = [
    (1, "a", dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 8, 0, 0, 123456), 1.5, ["x", "y"]),
    (2, "b", dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 9, 0), None, []),
    (3, None, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 10, 0), 2.5, None),
    (4, "d", dt.date(2024, 1, 3), None, -1.0, ["z"]),
]
SCHEMA = "id bigint, name string, day date, ts timestamp, amount double, tags array<string>"


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def delta_rs_rows(lake: Lake, name: str, version: int | None = None) -> list[dict]:
    table = deltalake.DeltaTable(str(lake.path(name)), version=version)
    return sorted(pa.table(table.scan()).to_pylist(), key=lambda r: r["id"])


def spark_rows(lake: Lake, spark, name: str, version: int | None = None) -> list[dict]:
    frame = lake.read(spark, name, version=version)
    return sorted((r.asDict() for r in frame.collect()), key=lambda r: r["id"])


def normalise(rows: list[dict]) -> list[dict]:
    """Spark gives naive UTC datetimes; delta-rs gives aware ones."""
    out = []
    for row in rows:
        fixed = {}
        for key, value in row.items():
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            fixed[key] = value
        out.append(fixed)
    return out


def test_partitioned_write_reads_back_identically_with_delta_rs(spark, lake: Lake) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    result = lake.write(frame, "bronze/t", partition_by=["day"])
    assert (result.version, result.rows) == (0, 4)
    assert normalise(delta_rs_rows(lake, "bronze/t")) == spark_rows(lake, spark, "bronze/t")
    assert spark_rows(lake, spark, "bronze/t") == [
        dict(zip(["id", "name", "day", "ts", "amount", "tags"], r, strict=True)) for r in ROWS
    ]
    assert lake.count("bronze/t") == 4
    assert lake.partition_by("bronze/t") == ("day",)


def test_overwrite_of_one_partition_keeps_history_and_old_version(spark, lake: Lake) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    lake.write(frame, "bronze/t", partition_by=["day"])
    replacement = spark.createDataFrame([(10, "new", dt.date(2024, 1, 1), None, 0.0, None)], SCHEMA)
    result = lake.write(replacement, "bronze/t", mode=REPLACE_PARTITIONS)
    assert result.version == 1
    now = spark_rows(lake, spark, "bronze/t")
    assert [r["id"] for r in now] == [3, 4, 10]
    assert normalise(delta_rs_rows(lake, "bronze/t")) == now
    # version N-1 is still readable, by Spark and by delta-rs
    assert [r["id"] for r in spark_rows(lake, spark, "bronze/t", version=0)] == [1, 2, 3, 4]
    assert [r["id"] for r in delta_rs_rows(lake, "bronze/t", version=0)] == [1, 2, 3, 4]
    history = lake.history("bronze/t")
    assert [c.version for c in history] == [1, 0]
    assert history[0].parameters["mode"] == "Overwrite"
    assert history[0].metadata["dmp.rows"] == "1"


def test_replace_where_rejects_rows_outside_the_partition(spark, lake: Lake) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    lake.write(frame, "bronze/t", partition_by=["day"])
    with pytest.raises(LakeWriteError, match="do not match the partition"):
        lake.write(frame, "bronze/t", mode=ReplacePartition({"day": dt.date(2024, 1, 1)}))
    assert lake.version("bronze/t") == 0
    only_day = frame.filter("day = date'2024-01-02'")
    lake.write(only_day, "bronze/t", mode=ReplacePartition({"day": dt.date(2024, 1, 2)}))
    assert [r["id"] for r in spark_rows(lake, spark, "bronze/t")] == [1, 2, 3, 4]
    assert lake.version("bronze/t") == 1


def test_full_overwrite_and_append(spark, lake: Lake) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    lake.write(frame, "silver/t")
    lake.write(frame.limit(1), "silver/t")
    assert lake.count("silver/t") == 5
    lake.write(frame.filter("id > 2"), "silver/t", mode=OVERWRITE)
    assert [r["id"] for r in spark_rows(lake, spark, "silver/t")] == [3, 4]


def test_table_written_by_delta_rs_reads_in_spark(spark, lake: Lake) -> None:
    data = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "code": ["007", "010", None],
            "when": pa.array(
                [dt.datetime(2024, 5, 1, tzinfo=dt.UTC)] * 3, pa.timestamp("us", tz="UTC")
            ),
        }
    )
    deltalake.write_deltalake(str(lake.path("bronze/ext")), data, partition_by=["code"])
    rows = spark_rows(lake, spark, "bronze/ext")
    # "007" stays a string: the read uses the table schema, not partition inference.
    assert [r["code"] for r in rows] == ["007", "010", None]
    assert [r["id"] for r in rows] == [1, 2, 3]


def test_polars_reads_a_spark_written_partitioned_table(spark, lake: Lake) -> None:
    polars = pytest.importorskip("polars")
    lake.write(spark.createDataFrame(ROWS, SCHEMA), "bronze/t", partition_by=["day"])
    frame = polars.read_delta(str(lake.path("bronze/t"))).sort("id")
    assert frame["id"].to_list() == [1, 2, 3, 4]
    assert frame["day"].to_list() == [r[2] for r in ROWS]


def test_awkward_partition_values_round_trip(spark, lake: Lake) -> None:
    values = ["plain", "with space", "a/b", "x=y", "50%", "c:d", "007", "日本", ""]
    frame = spark.createDataFrame(list(enumerate(values)), "id bigint, key string")
    lake.write(frame, "gold/t", partition_by=["key"])
    expected = {i: (v or None) for i, v in enumerate(values)}
    from_spark = {r["id"]: r["key"] for r in spark_rows(lake, spark, "gold/t")}
    from_delta_rs = {r["id"]: r["key"] for r in delta_rs_rows(lake, "gold/t")}
    assert from_spark == expected
    assert from_delta_rs == expected


def test_failing_task_leaves_no_version_and_no_files(spark, lake: Lake) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    lake.write(frame, "bronze/t", partition_by=["day"])
    files_before = set(_data_files(lake.path("bronze/t")))

    @F.udf(LongType())
    def explode_on_three(value: int) -> int:
        if value == 3:
            raise ValueError("boom in a task")
        return value

    failing = spark.createDataFrame(ROWS * 50, SCHEMA).repartition(2)
    failing = failing.withColumn("id", explode_on_three("id"))
    with pytest.raises(LakeWriteError, match="stays at version 0"):
        lake.write(failing, "bronze/t")
    assert lake.version("bronze/t") == 0
    assert set(_data_files(lake.path("bronze/t"))) == files_before
    assert len(spark_rows(lake, spark, "bronze/t")) == 4


def test_first_write_that_fails_creates_no_table(spark, lake: Lake) -> None:
    @F.udf(LongType())
    def always_fails(value: int) -> int:
        raise RuntimeError("nope")

    frame = spark.createDataFrame(ROWS, SCHEMA).withColumn("id", always_fails("id"))
    with pytest.raises(LakeWriteError):
        lake.write(frame, "bronze/never")
    assert not lake.exists("bronze/never")
    assert _data_files(lake.path("bronze/never")) == []


def test_schema_mismatch_is_refused(spark, lake: Lake) -> None:
    lake.write(spark.createDataFrame(ROWS, SCHEMA), "bronze/t")
    wrong = spark.createDataFrame([("not-a-number",)], "id string")
    with pytest.raises(LakeSchemaError, match="column 'id' is int64 in the table but string"):
        lake.write(wrong, "bronze/t")
    assert lake.version("bronze/t") == 0


def test_new_nullable_columns_are_added_on_append(spark, lake: Lake) -> None:
    lake.write(spark.createDataFrame(ROWS, SCHEMA), "bronze/t", partition_by=["day"])
    extra = spark.createDataFrame(
        [(5, dt.date(2024, 1, 4), "hello")], "id bigint, day date, note string"
    )
    lake.write(extra, "bronze/t")
    rows = spark_rows(lake, spark, "bronze/t")
    assert [r["note"] for r in rows] == [None, None, None, None, "hello"]
    assert rows[-1]["name"] is None  # a table column the data lacked is null
    assert [r.get("note") for r in delta_rs_rows(lake, "bronze/t")][-1] == "hello"
    assert "note" in lake.arrow_schema("bronze/t").names


def test_narrower_types_are_widened_to_the_table(spark, lake: Lake) -> None:
    lake.write(spark.createDataFrame(ROWS, SCHEMA), "bronze/t")
    lake.write(spark.createDataFrame([(7,)], "id int"), "bronze/t")
    assert lake.arrow_schema("bronze/t").field("id").type == pa.int64()
    assert 7 in [r["id"] for r in spark_rows(lake, spark, "bronze/t")]


def test_stats_carry_counts_min_max_and_nulls(spark, lake: Lake) -> None:
    lake.write(spark.createDataFrame(ROWS, SCHEMA).coalesce(1), "bronze/t")
    table = deltalake.DeltaTable(str(lake.path("bronze/t")))
    actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    assert len(actions) == 1
    stats = actions[0]
    assert stats["num_records"] == 4
    assert stats["null_count.name"] == 1
    assert stats["min.id"] == 1 and stats["max.id"] == 4
    assert stats["min.amount"] == -1.0 and stats["max.amount"] == 2.5
    # millisecond stats: the max is rounded up so it never falls below a real value
    assert stats["max.ts"] >= dt.datetime(2024, 1, 2, 10, 0, tzinfo=dt.UTC)
    assert stats["min.ts"] <= dt.datetime(2024, 1, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)
    assert table.count() == 4


def test_write_modes_append_replace_one_partition_and_refuse_what_cannot_be(
    spark, lake: Lake
) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    lake.write(frame.filter("id <= 2"), "bronze/t", partition_by=["day"])
    lake.write(frame.filter("id > 2"), "bronze/t", mode=APPEND)
    assert [r["id"] for r in spark_rows(lake, spark, "bronze/t")] == [1, 2, 3, 4]
    # no rows for one partition: a static overwrite empties it, a dynamic one changes nothing
    lake.write(frame.limit(0), "bronze/t", mode=REPLACE_PARTITIONS)
    assert lake.count("bronze/t") == 4 and lake.version("bronze/t") == 1
    lake.write(frame.limit(0), "bronze/t", mode=ReplacePartition({"day": dt.date(2024, 1, 1)}))
    assert [r["id"] for r in spark_rows(lake, spark, "bronze/t")] == [3, 4]
    with pytest.raises(LakeError, match=r"non-partition columns \['name'\]"):
        lake.write(frame, "bronze/t", mode=ReplacePartition({"name": "a"}))
    lake.write(frame, "silver/flat")
    with pytest.raises(LakeError, match="not partitioned"):
        lake.write(frame, "silver/flat", mode=REPLACE_PARTITIONS)
    assert lake.version("bronze/t") == 2 and lake.version("silver/flat") == 0


def test_idempotency_key_skips_a_repeated_write(spark, lake: Lake) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    first = lake.write(frame, "bronze/t", txn=("ingest-2024-01-01", 1))
    again = lake.write(frame, "bronze/t", txn=("ingest-2024-01-01", 1))
    assert not first.skipped and again.skipped
    assert lake.version("bronze/t") == 0 and lake.count("bronze/t") == 4


def test_commit_reopens_the_table_so_an_overwrite_wins_over_a_stale_view(spark, lake: Lake) -> None:
    """An append that lands between planning and commit must not survive an overwrite."""
    frame = spark.createDataFrame(ROWS, SCHEMA)
    lake.write(frame, "bronze/t")
    schema = lake.arrow_schema("bronze/t")
    request = WriteRequest(
        table_root=str(lake.path("bronze/t")),
        write_id="stale0000",
        mode="overwrite",
        target_schema=schema,
        partition_by=(),
    )
    lake.write(frame, "bronze/t")  # lands after the request was planned
    commit_files(request, [])
    assert lake.count("bronze/t") == 0


def test_orphans_of_failed_attempts_are_removed_and_committed_files_never(
    spark, lake: Lake
) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    result = lake.write(frame, "bronze/t")
    root = lake.path("bronze/t")
    write_id = lake.history("bronze/t")[0].metadata["dmp.write_id"]
    live = set(_data_files(root))
    orphan = root / f"part-{write_id}-deadbeef.snappy.parquet"
    orphan.write_bytes(b"half a file from a killed task attempt")
    removed = remove_uncommitted_files(str(root), write_id)
    assert removed == [orphan.name]
    assert set(_data_files(root)) == live  # abort after a landed commit deletes nothing
    assert result.rows == 4 and lake.count("bronze/t") == 4


def test_vacuum_removes_replaced_files(spark, lake: Lake) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    lake.write(frame, "bronze/t")
    lake.write(frame.limit(1), "bronze/t", mode=OVERWRITE)
    assert len(_data_files(lake.path("bronze/t"))) > 1
    with pytest.raises(LakeError, match="vacuum of bronze/t refused"):
        lake.vacuum("bronze/t", retention_hours=1)  # 7-day minimum unless told otherwise
    removed = lake.vacuum("bronze/t", retention_hours=0, enforce_retention=False)
    assert removed
    assert len(_data_files(lake.path("bronze/t"))) == 1
    assert lake.count("bronze/t") == 1


def test_empty_and_missing_tables(spark, lake: Lake) -> None:
    empty = spark.createDataFrame([], SCHEMA)
    lake.write(empty, "bronze/empty", partition_by=["day"])
    assert lake.read(spark, "bronze/empty").count() == 0
    assert lake.read(spark, "bronze/empty").schema.fieldNames() == [
        "id",
        "name",
        "day",
        "ts",
        "amount",
        "tags",
    ]
    with pytest.raises(TableNotFound, match="bronze/missing does not exist"):
        lake.read(spark, "bronze/missing")
    with pytest.raises(LakeError, match="invalid table name"):
        lake.path("Bronze/x y")


def test_tables_with_deletion_vectors_are_refused(spark, lake: Lake) -> None:
    data = pa.table({"id": pa.array([1], pa.int64())})
    path = str(lake.path("bronze/dv"))
    deltalake.write_deltalake(path, data, configuration={"delta.enableDeletionVectors": "true"})
    with pytest.raises(LakeError, match="deletionVectors"):
        lake.read(spark, "bronze/dv")


def test_partitioning_cannot_change(spark, lake: Lake) -> None:
    lake.write(spark.createDataFrame(ROWS, SCHEMA), "bronze/t", partition_by=["day"])
    with pytest.raises(LakeError, match="partitioned by"):
        lake.write(spark.createDataFrame(ROWS, SCHEMA), "bronze/t", partition_by=["name"])


def test_small_driver_side_tables(lake: Lake) -> None:
    rows = pa.table({"job": ["ingest"], "rows": pa.array([3], pa.int64())})
    first = lake.write_arrow(rows, "ops/runs")
    more = pa.table({"job": ["identity"], "rows": pa.array([5], pa.int64()), "note": ["x"]})
    second = lake.write_arrow(more, "ops/runs")
    assert (first.version, second.version) == (0, 1)
    back = lake.read_arrow("ops/runs").sort_by("rows").to_pylist()
    assert back == [
        {"job": "ingest", "rows": 3, "note": None},
        {"job": "identity", "rows": 5, "note": "x"},
    ]
    assert [t.name for t in lake.tables()] == ["ops/runs"]


def _data_files(root: Path) -> list[str]:
    if not root.exists():
        return []
    found = []
    for folder, dirs, names in os.walk(root):
        if "_delta_log" in dirs:
            dirs.remove("_delta_log")
        found += [os.path.relpath(os.path.join(folder, n), root) for n in names]
    return sorted(found)
