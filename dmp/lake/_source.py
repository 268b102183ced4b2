"""The write bridge: a Spark Python data source whose tasks write Parquet files and whose
driver-side commit adds them to the Delta table in one delta-rs transaction.

``writer()``, every task and ``commit()`` run in separate Python worker processes, so all
they need travels in the string options built by :class:`WriteRequest`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql.datasource import DataSource, DataSourceArrowWriter, WriterCommitMessage
from pyspark.sql.types import StructType

from dmp.faults import kill_now
from dmp.lake._files import (
    FileStats,
    WrittenFile,
    checked_add_action,
    now_millis,
    partition_folder,
    partition_value_string,
)
from dmp.lake.errors import LakeWriteError

SOURCE_NAME = "dmp_delta"
WRITE_ID_KEY = "dmp.write_id"
_FLUSH_ROWS = 262_144
_FLUSH_BYTES = 48 * 1024 * 1024


@dataclass(frozen=True)
class WriteRequest:
    """Everything a write needs, serialisable to Spark data source options."""

    table_root: str
    write_id: str
    mode: str  # "append" | "overwrite"
    target_schema: pa.Schema
    partition_by: tuple[str, ...]
    new_fields: tuple[str, ...] = ()
    replace: str = "all"  # overwrite scope: "all" | "dynamic" | "static"
    static_partition: dict[str, str | None] = field(default_factory=dict)
    txn: tuple[str, int] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    max_rows_per_file: int = 5_000_000
    kill_driver: int | None = None
    """Fault-injection tier only: SIGKILL this pid (the driver) at the commit (dmp.faults)."""

    def to_options(self) -> dict[str, str]:
        """Encode as string options."""
        payload = asdict(self)
        payload["target_schema"] = base64.b64encode(
            self.target_schema.serialize().to_pybytes()
        ).decode()
        return {"request": json.dumps(payload)}

    @classmethod
    def from_options(cls, options: Any) -> WriteRequest:
        """Decode from the options a data source receives."""
        payload = json.loads(options["request"])
        payload["target_schema"] = pa.ipc.read_schema(
            pa.py_buffer(base64.b64decode(payload["target_schema"]))
        )
        payload["partition_by"] = tuple(payload["partition_by"])
        payload["new_fields"] = tuple(payload["new_fields"])
        if payload["txn"] is not None:
            payload["txn"] = (payload["txn"][0], int(payload["txn"][1]))
        return cls(**payload)

    @property
    def file_schema(self) -> pa.Schema:
        """Columns stored in the Parquet files (Delta keeps partition values in the log)."""
        return pa.schema([f for f in self.target_schema if f.name not in self.partition_by])


@dataclass
class FilesWritten(WriterCommitMessage):
    """Commit message of one task: the files it closed."""

    files: list[WrittenFile]


class DeltaSink(DataSource):
    """Write-only Spark data source ``dmp_delta`` used by :meth:`dmp.lake.Lake.write`."""

    @classmethod
    def name(cls) -> str:
        """Short name used with ``df.write.format(...)``."""
        return SOURCE_NAME

    def writer(self, schema: StructType, overwrite: bool) -> DeltaWriter:
        """Return the writer; the real mode travels in the options."""
        return DeltaWriter(WriteRequest.from_options(self.options))


class DeltaWriter(DataSourceArrowWriter):
    """Writes Arrow batches of one task into Parquet files and commits them on the driver."""

    def __init__(self, request: WriteRequest) -> None:
        self.request = request

    def write(self, iterator: Iterator[pa.RecordBatch]) -> FilesWritten:
        """Write this task's rows; on any error remove this task's files and re-raise."""
        task = _TaskFiles(self.request)
        try:
            for batch in iterator:
                task.add(batch)
            return FilesWritten(task.close())
        except BaseException:
            task.discard()
            raise

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        """Add every written file to the table in one transaction (runs on the driver)."""
        files = [f for m in messages if isinstance(m, FilesWritten) for f in m.files]
        commit_files(self.request, files)

    def abort(self, messages: list[WriterCommitMessage | None]) -> None:
        """Remove this write's files unless its commit already landed."""
        remove_uncommitted_files(self.request.table_root, self.request.write_id)


class _TaskFiles:
    """Open Parquet files of one task, one per partition value combination."""

    def __init__(self, request: WriteRequest) -> None:
        self.request = request
        self.file_schema = request.file_schema
        self.open: dict[tuple[str | None, ...], _OpenFile] = {}
        self.closed: list[WrittenFile] = []
        self.paths: list[str] = []

    def add(self, batch: pa.RecordBatch) -> None:
        table = pa.Table.from_batches([batch]).cast(self.request.target_schema)
        if not self.request.partition_by:
            self._append((), table)
            return
        keys = list(self.request.partition_by)
        grouped = (
            table.append_column("__dmp_row", pa.array(range(table.num_rows), pa.int64()))
            .group_by(keys, use_threads=False)
            .aggregate([("__dmp_row", "list")])
        )
        for group in grouped.to_pylist():
            values = tuple(partition_value_string(group[k]) for k in keys)
            self._append(values, table.take(group["__dmp_row_list"]))

    def _append(self, values: tuple[str | None, ...], table: pa.Table) -> None:
        current = self.open.get(values)
        if current is None:
            current = self._new_file(values)
            self.open[values] = current
        current.buffer(table.select(self.file_schema.names))
        if current.stats.num_records + current.buffered_rows >= self.request.max_rows_per_file:
            self.closed.append(current.close())
            del self.open[values]

    def _new_file(self, values: tuple[str | None, ...]) -> _OpenFile:
        partition_values = dict(zip(self.request.partition_by, values, strict=True))
        folder = partition_folder(self.request.partition_by, partition_values)
        name = f"part-{self.request.write_id}-{uuid.uuid4().hex[:12]}.snappy.parquet"
        relative = f"{folder}/{name}" if folder else name
        self.paths.append(relative)
        return _OpenFile(self.request.table_root, relative, partition_values, self.file_schema)

    def close(self) -> list[WrittenFile]:
        for open_file in self.open.values():
            self.closed.append(open_file.close())
        self.open.clear()
        return self.closed

    def discard(self) -> None:
        for open_file in self.open.values():
            open_file.abandon()
        for relative in self.paths:
            _remove_quietly(os.path.join(self.request.table_root, relative))


class _OpenFile:
    def __init__(
        self, root: str, relative: str, partition_values: dict[str, str | None], schema: pa.Schema
    ) -> None:
        self.relative = relative
        self.full = os.path.join(root, relative)
        os.makedirs(os.path.dirname(self.full), exist_ok=True)
        self.partition_values = partition_values
        self.writer = pq.ParquetWriter(self.full, schema, compression="snappy")
        self.stats = FileStats(schema)
        self.pending: list[pa.Table] = []
        self.buffered_rows = 0
        self.buffered_bytes = 0

    def buffer(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.buffered_rows += table.num_rows
        self.buffered_bytes += table.nbytes
        if self.buffered_rows >= _FLUSH_ROWS or self.buffered_bytes >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        table = pa.concat_tables(self.pending).combine_chunks()
        self.writer.write_table(table, row_group_size=max(1, table.num_rows))
        self.stats.update(table)
        self.pending, self.buffered_rows, self.buffered_bytes = [], 0, 0

    def close(self) -> WrittenFile:
        self.flush()
        self.writer.close()
        return WrittenFile(
            path=self.relative,
            size=os.stat(self.full).st_size,
            partition_values=self.partition_values,
            num_records=self.stats.num_records,
            stats=self.stats.to_json(),
            modification_time=now_millis(),
        )

    def abandon(self) -> None:
        try:
            self.writer.close()
        finally:
            _remove_quietly(self.full)


def commit_files(request: WriteRequest, files: Sequence[WrittenFile]) -> None:
    """Commit ``files`` to the table as one Delta transaction.

    Re-opens the table right before committing (a stale handle could resurrect rows another
    writer replaced), evolves the schema explicitly when the write adds columns, and removes
    files of failed task attempts that never made it into the log.
    """
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import CommitProperties, Transaction, create_table_with_add_actions

    root = request.table_root
    _check_static_partition(request, files)
    actions = [checked_add_action(root, f, request.partition_by) for f in files]
    metadata = {
        **request.metadata,
        WRITE_ID_KEY: request.write_id,
        "dmp.rows": str(sum(f.num_records for f in files)),
        "dmp.files": str(len(files)),
    }
    transactions = [Transaction(request.txn[0], request.txn[1])] if request.txn else None
    properties = CommitProperties(custom_metadata=metadata, app_transactions=transactions)
    partition_by = list(request.partition_by) or None
    if request.kill_driver is not None:
        # Data files are on disk, the log entry is not: the moment a kill -9 hurts most.
        kill_now(request.kill_driver)

    if not DeltaTable.is_deltatable(root):
        create_table_with_add_actions(
            root,
            Schema.from_arrow(request.target_schema),
            actions,
            mode="error",
            partition_by=partition_by,
            commit_properties=properties,
        )
    else:
        table = DeltaTable(root)
        if request.txn and (table.transaction_version(request.txn[0]) or -1) >= request.txn[1]:
            remove_uncommitted_files(root, request.write_id)
            return
        if request.new_fields:
            new = [request.target_schema.field(name) for name in request.new_fields]
            table.alter.add_columns(Schema.from_arrow(pa.schema(new)).fields)
            table = DeltaTable(root)
        if request.mode == "append" or request.replace == "all":
            filters = None
        else:
            filters = _partition_filters(request, files)
            if filters is None:  # dynamic overwrite of an empty input replaces nothing
                if not actions:
                    return
                raise LakeWriteError("internal: overwrite without partition filters")
        table.create_write_transaction(
            actions,
            mode=request.mode,
            schema=request.target_schema,
            partition_by=partition_by,
            partition_filters=filters,
            commit_properties=properties,
        )
    committed = {f.path for f in files}
    _remove_files_of_write(root, request.write_id, keep=committed)


def _check_static_partition(request: WriteRequest, files: Sequence[WrittenFile]) -> None:
    if request.replace != "static":
        return
    for f in files:
        for column, value in request.static_partition.items():
            if f.partition_values.get(column) != value:
                raise LakeWriteError(
                    f"rows with {column}={f.partition_values.get(column)!r} do not match "
                    f"the partition being replaced ({column}={value!r})"
                )


def _partition_filters(
    request: WriteRequest, files: Sequence[WrittenFile]
) -> list[tuple[str, str, Any]] | None:
    if request.replace == "static":
        return [(c, "=", v) for c, v in request.static_partition.items()]
    combos = {tuple(f.partition_values[c] for c in request.partition_by) for f in files}
    if not combos:
        return None
    if len(combos) == 1:
        (only,) = combos
        return [(c, "=", v) for c, v in zip(request.partition_by, only, strict=True)]
    if len(request.partition_by) == 1:
        values = [c[0] for c in combos]
        if None in values:
            raise LakeWriteError("a dynamic overwrite cannot replace the null partition")
        return [(request.partition_by[0], "in", sorted(v for v in values if v is not None))]
    # delta-rs takes one conjunction of filters; several multi-column combinations would
    # replace their cross product, which can remove partitions this write does not hold.
    if any(v is None for combo in combos for v in combo):
        raise LakeWriteError("a dynamic overwrite cannot replace a null partition")
    per_column = [sorted({str(c[i]) for c in combos}) for i in range(len(request.partition_by))]
    if math.prod(len(column_values) for column_values in per_column) != len(combos):
        raise LakeWriteError(
            "a dynamic overwrite of several multi-column partitions must cover a full cross "
            "product of values; write one partition at a time"
        )
    return [(c, "in", v) for c, v in zip(request.partition_by, per_column, strict=True)]


def committed_paths_of_write(root: str, write_id: str) -> set[str]:
    """Paths of live files in the table whose names carry ``write_id``."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(root):
        return set()
    actions = pa.table(DeltaTable(root).get_add_actions(flatten=True))
    return {p for p in actions.column("path").to_pylist() if write_id in p}


def remove_uncommitted_files(root: str, write_id: str) -> list[str]:
    """Delete data files of ``write_id`` that are not in the table's log.

    If the write's commit landed, its files are live and nothing is removed; files of
    failed or duplicate task attempts (never in the log) are.
    """
    return _remove_files_of_write(root, write_id, keep=committed_paths_of_write(root, write_id))


def _remove_files_of_write(root: str, write_id: str, keep: set[str]) -> list[str]:
    removed = []
    marker = f"part-{write_id}-"
    for folder, dirs, names in os.walk(root):
        if "_delta_log" in dirs:
            dirs.remove("_delta_log")
        for name in names:
            if not name.startswith(marker):
                continue
            relative = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if relative not in keep:
                _remove_quietly(os.path.join(folder, name))
                removed.append(relative)
    return removed


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
