"""Data files of a Delta table: partition paths, per-file statistics and add actions.

delta-rs validates almost nothing it is handed (see STACK-NOTES.md), so every add action
is built and checked here: the raw relative path, Hive-escaped partition folders, the exact
size from ``stat``, every partition key, and statistics with ``numRecords``, min/max and
null counts.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dmp.lake.errors import LakeWriteError

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_STRING_STATS_MAX_CHARS = 32
# Spark's ExternalCatalogUtils.escapePathName set, so Spark reads the values back unchanged.
_ESCAPED = set("\"#%'*/:=?\\\x7f{[]^") | {chr(c) for c in range(1, 32)}


def escape_partition_value(value: str) -> str:
    """Escape a partition value for a folder name exactly like Spark and Hive do."""
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


def partition_value_string(value: Any) -> str | None:
    """The Delta log's string form of a partition value.

    None and the empty string are both the null partition, as in Hive, Spark and Delta.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        raise LakeWriteError("timestamp partition columns are not supported")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def partition_folder(partition_by: Sequence[str], values: Mapping[str, str | None]) -> str:
    """Relative folder ``k1=v1/k2=v2`` for a file's partition values ('' when unpartitioned)."""
    parts = []
    for column in partition_by:
        value = values[column]
        shown = HIVE_NULL if value is None or value == "" else escape_partition_value(value)
        parts.append(f"{escape_partition_value(column)}={shown}")
    return "/".join(parts)


@dataclass
class ColumnStats:
    """Running min/max/null count of one column across the batches of one file."""

    null_count: int = 0
    minimum: Any = None
    maximum: Any = None
    usable: bool = True

    def update(self, array: pa.Array | pa.ChunkedArray) -> None:
        """Fold one more slice of the column into the statistics."""
        self.null_count += array.null_count
        if not self.usable or array.null_count == len(array):
            return
        if pa.types.is_floating(array.type) and pc.any(pc.is_nan(array)).as_py():
            self.usable = False
            return
        bounds = pc.min_max(array)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is None:
            return
        self.minimum = low if self.minimum is None else min(self.minimum, low)
        self.maximum = high if self.maximum is None else max(self.maximum, high)


@dataclass
class FileStats:
    """Statistics of one data file in the shape Delta's ``stats`` JSON wants."""

    schema: pa.Schema
    num_records: int = 0
    columns: dict[str, ColumnStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in self.schema:
            if not pa.types.is_struct(f.type):
                self.columns[f.name] = ColumnStats(usable=_has_min_max(f.type))

    def update(self, table: pa.Table) -> None:
        """Fold the rows of ``table`` (already in the file schema) into the statistics."""
        self.num_records += table.num_rows
        for name, stats in self.columns.items():
            stats.update(table.column(name))

    def to_json(self) -> str:
        """Delta ``stats`` string: numRecords, minValues, maxValues, nullCount."""
        minimum: dict[str, Any] = {}
        maximum: dict[str, Any] = {}
        nulls: dict[str, int] = {}
        for name, stats in self.columns.items():
            nulls[name] = stats.null_count
            if not stats.usable or stats.minimum is None:
                continue
            low = _stat_value(stats.minimum, round_up=False)
            high = _stat_value(stats.maximum, round_up=True)
            if low is not None and high is not None:
                minimum[name], maximum[name] = low, high
        return json.dumps(
            {
                "numRecords": self.num_records,
                "minValues": minimum,
                "maxValues": maximum,
                "nullCount": nulls,
            },
            separators=(",", ":"),
        )


def _has_min_max(dtype: pa.DataType) -> bool:
    return (
        pa.types.is_integer(dtype)
        or pa.types.is_floating(dtype)
        or pa.types.is_string(dtype)
        or pa.types.is_date32(dtype)
        or pa.types.is_timestamp(dtype)
    )


def _stat_value(value: Any, *, round_up: bool) -> Any:
    if isinstance(value, str):
        # A truncated max would be smaller than the real one and skip files wrongly.
        return value if len(value) <= _STRING_STATS_MAX_CHARS else None
    if isinstance(value, dt.datetime):
        # Delta keeps millisecond stats: floor the minimum, ceil the maximum.
        micros = value.microsecond % 1000
        if round_up and micros:
            value = value + dt.timedelta(microseconds=1000 - micros)
        else:
            value = value - dt.timedelta(microseconds=micros)
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isinf(value):
        return None
    if isinstance(value, Decimal):
        return None
    return value


@dataclass(frozen=True)
class WrittenFile:
    """What a write task reports for one closed data file (the commit message payload)."""

    path: str
    """Path relative to the table root, raw (not percent-encoded)."""
    size: int
    partition_values: dict[str, str | None]
    num_records: int
    stats: str
    modification_time: int


def checked_add_action(table_root: str, written: WrittenFile, partition_by: Sequence[str]) -> Any:
    """Build a delta-rs ``AddAction`` after checking the file against what was reported.

    Raises:
        LakeWriteError: The file is missing, its size differs from what the task reported,
            a partition key is missing, or the path is not a plain relative path.
    """
    from deltalake.transaction import AddAction

    if os.path.isabs(written.path) or ".." in written.path.split("/"):
        raise LakeWriteError(f"refusing data file path {written.path!r}")
    full = os.path.join(table_root, written.path)
    try:
        size = os.stat(full).st_size
    except FileNotFoundError:
        raise LakeWriteError(f"data file {written.path} vanished before commit") from None
    if size != written.size:
        raise LakeWriteError(
            f"data file {written.path} is {size} bytes on disk but {written.size} were reported"
        )
    if set(written.partition_values) != set(partition_by):
        raise LakeWriteError(
            f"data file {written.path} has partition values for "
            f"{sorted(written.partition_values)}, expected {sorted(partition_by)}"
        )
    expected_folder = partition_folder(partition_by, written.partition_values)
    if expected_folder and not written.path.startswith(expected_folder + "/"):
        raise LakeWriteError(f"data file {written.path} is not under {expected_folder}/")
    stats = json.loads(written.stats)
    if stats.get("numRecords") != written.num_records:
        raise LakeWriteError(f"data file {written.path} has inconsistent numRecords")
    return AddAction(
        written.path,
        size,
        dict(written.partition_values),
        written.modification_time,
        True,
        written.stats,
    )


def now_millis() -> int:
    """Milliseconds since the epoch, the unit of Delta's modificationTime."""
    return int(time.time() * 1000)
