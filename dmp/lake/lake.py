"""``Lake``: the one storage interface. Delta tables are folders ``<layer>/<name>``.

Spark writes go through the ``dmp_delta`` data source (executors write Parquet, the driver
commits one delta-rs transaction); Spark reads go through the table's live file list, so
Spark reads in parallel. Small driver-side tables (run log, summaries) use delta-rs directly.
Tables stay standard Delta: readable by delta-rs, Polars, DuckDB and delta-spark.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dmp.errors import root_cause
from dmp.faults import armed, commit_point, point_name
from dmp.lake._files import partition_value_string
from dmp.lake._schema import arrow_to_spark, nullable_schema, plan_schema, spark_to_arrow
from dmp.lake.errors import LakeError, LakeWriteError, TableNotFound
from dmp.lake.modes import (
    APPEND,
    Append,
    Overwrite,
    ReplacePartition,
    ReplacePartitions,
    WriteMode,
)

if TYPE_CHECKING:
    from deltalake import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["Commit", "Lake", "TableInfo", "WriteResult"]

_log = logging.getLogger(__name__)
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*/[a-z][a-z0-9_]*$")
_UNSUPPORTED_FEATURES = {"deletionVectors", "columnMapping"}
_MAINTENANCE_OPERATIONS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END"})

_LOG_RETENTION = "delta.logRetentionDuration"
_DEFAULT_LOG_RETENTION = "interval 30 days"
_PURGE_RETENTION = "interval 0 seconds"
_RETENTION_BEFORE_PURGE = "dmp.logRetentionBeforePurge"


@dataclass(frozen=True)
class WriteResult:
    """Outcome of one write.

    Attributes:
        table: Table name, ``layer/name``.
        version: Version the write created, or the current version when it was skipped.
        rows: Rows written.
        files: Data files added.
        skipped: True when an idempotency key showed the write had already landed.
    """

    table: str
    version: int | None
    rows: int
    files: int
    skipped: bool = False


@dataclass(frozen=True)
class Commit:
    """One entry of a table's history."""

    version: int
    timestamp: datetime
    operation: str
    parameters: dict[str, Any]
    metadata: dict[str, Any]


@dataclass(frozen=True)
class TableInfo:
    """Summary of a table for ``dmp tables``."""

    name: str
    version: int
    rows: int
    files: int
    partition_by: tuple[str, ...]
    last_operation: str
    last_commit_at: datetime


class Lake:
    """Delta tables under one root folder.

    Args:
        root: The lake folder (``<home>/lake``); it is created on first write.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()

    # -- naming -------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """Folder of table ``name`` (``layer/name``, lowercase snake_case)."""
        if not _TABLE_NAME.match(name):
            raise LakeError(f"invalid table name {name!r}: use 'layer/name' in snake_case")
        return self.root / name

    def exists(self, name: str) -> bool:
        """Whether the table has been created."""
        from deltalake import DeltaTable

        return DeltaTable.is_deltatable(str(self.path(name)))

    def _open(self, name: str, version: int | None = None) -> DeltaTable:
        from deltalake import DeltaTable

        path = self.path(name)
        if not DeltaTable.is_deltatable(str(path)):
            raise TableNotFound(f"table {name} does not exist under {self.root}")
        try:
            return DeltaTable(str(path), version=version)
        except Exception as error:
            at = f" at version {version}" if version is not None else ""
            raise LakeError(f"cannot open {name}{at}: {error}") from error

    def version(self, name: str) -> int | None:
        """Current version of the table, or None when it does not exist."""
        return self._open(name).version() if self.exists(name) else None

    def arrow_schema(self, name: str, version: int | None = None) -> pa.Schema:
        """The table's schema as Arrow."""
        return pa.schema(self._open(name, version).schema().to_arrow())

    def partition_by(self, name: str) -> tuple[str, ...]:
        """The table's partition columns."""
        return tuple(self._open(name).metadata().partition_columns)

    def partition_values(self, name: str, column: str) -> list[str]:
        """Distinct values of a partition column, from the log (no data is read)."""
        values = {p.get(column) for p in self._open(name).partitions()}
        return sorted(v for v in values if v is not None)

    # -- reading ------------------------------------------------------------------------
    def read(
        self,
        spark: SparkSession,
        name: str,
        *,
        version: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> DataFrame:
        """Read a table (or an older ``version`` of it) into Spark from its live file list.

        The explicit table schema and ``basePath`` are what keep partition columns, their
        types (``"007"`` stays a string) and columns added later.
        """
        table = self._open(name, version)
        self._check_readable(name, table)
        schema = arrow_to_spark(pa.schema(table.schema().to_arrow()))
        files = table.file_uris()
        if not files:
            frame = spark.createDataFrame([], schema)
        else:
            frame = (
                spark.read.schema(schema)
                .option("basePath", str(self.path(name)))
                .parquet(*files)
                .select(*schema.fieldNames())
            )
        return frame.select(*columns) if columns else frame

    def read_arrow(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        predicate: str | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """Read a small table on the driver with delta-rs (run log, summaries, manifests).

        Never use this for tables that grow with users or events.
        """
        table = self._open(name, version)
        self._check_readable(name, table)
        data = pa.table(table.scan(columns=list(columns) if columns else None, predicate=predicate))
        # delta-rs scans give string views; plain strings work with every Arrow kernel.
        return data.cast(nullable_schema(data.schema))

    def count(self, name: str, version: int | None = None) -> int:
        """Row count from the log's per-file statistics (no data is read)."""
        return _count_rows(self._open(name, version))

    def _check_readable(self, name: str, table: DeltaTable) -> None:
        protocol = table.protocol()
        features = set(protocol.reader_features or []) | set(protocol.writer_features or [])
        unsupported = features & _UNSUPPORTED_FEATURES
        config = table.metadata().configuration
        if config.get("delta.columnMapping.mode", "none") != "none":
            unsupported.add("columnMapping")
        if unsupported:
            raise LakeError(
                f"{name} uses Delta features {sorted(unsupported)} that a file-list read "
                "would silently get wrong; rewrite the table without them"
            )

    # -- writing ------------------------------------------------------------------------
    def write(
        self,
        df: DataFrame,
        name: str,
        *,
        mode: WriteMode = APPEND,
        partition_by: Sequence[str] | None = None,
        txn: tuple[str, int] | None = None,
        metadata: Mapping[str, str] | None = None,
        allow_new_columns: bool = True,
    ) -> WriteResult:
        """Write a Spark DataFrame to a table in one atomic Delta commit.

        Args:
            df: The rows to write.
            name: Table name ``layer/name``; created on first write.
            mode: How the rows land (:mod:`dmp.lake.modes`): :class:`Append` adds them,
                :class:`Overwrite` replaces the whole table, :class:`ReplacePartitions`
                exactly the partitions present in ``df``, :class:`ReplacePartition` one
                partition given as ``{column: value}`` (every row of ``df`` must belong to
                it).
            partition_by: Partition columns (only when creating; must match afterwards).
            txn: Idempotency key ``(app_id, version)``: if the table already recorded this
                application at this version or later, nothing is written.
            metadata: Extra commit metadata (job name, run id), kept in the history.
            allow_new_columns: Add columns the table lacks (nullable) instead of failing.

        Returns:
            The version created, rows and files written.

        Raises:
            LakeSchemaError: The data does not fit the table.
            LakeWriteError: The write failed; the table stays at its previous version.
        """
        from dmp.lake._source import DeltaSink, WriteRequest, remove_uncommitted_files

        if not isinstance(mode, Append | Overwrite | ReplacePartitions | ReplacePartition):
            raise LakeError(f"unknown write mode {mode!r}: use one of dmp.lake.modes")
        replacing = isinstance(mode, ReplacePartitions | ReplacePartition)

        path = self.path(name)
        existing = self._open(name) if self.exists(name) else None
        before = existing.version() if existing is not None else None
        if txn is not None and existing is not None:
            done = existing.transaction_version(txn[0])
            if done is not None and done >= txn[1]:
                _log.info("%s: write %s@%s already committed, skipped", name, *txn)
                return WriteResult(name, before, 0, 0, skipped=True)

        table_partitions = tuple(existing.metadata().partition_columns) if existing else None
        if (
            table_partitions is not None
            and partition_by is not None
            and tuple(partition_by) != table_partitions
        ):
            raise LakeError(
                f"{name} is partitioned by {list(table_partitions)}, not {list(partition_by)}"
            )
        partitions = table_partitions if table_partitions is not None else tuple(partition_by or ())
        if replacing and not partitions:
            raise LakeError(f"{name} is not partitioned: cannot replace partitions")
        static: dict[str, str | None] = {}
        if isinstance(mode, ReplacePartition):
            unknown = set(mode.values) - set(partitions)
            if unknown:
                raise LakeError(f"ReplacePartition on non-partition columns {sorted(unknown)}")
            static = {k: partition_value_string(_plain(v)) for k, v in mode.values.items()}

        incoming = spark_to_arrow(df.schema)
        existing_schema = (
            nullable_schema(pa.schema(existing.schema().to_arrow())) if existing else None
        )
        plan = plan_schema(
            name, existing_schema, incoming, partitions, allow_new_columns=allow_new_columns
        )
        frame = _conform(df, plan.target, plan.missing, plan.casts)

        request = WriteRequest(
            table_root=str(path),
            write_id=uuid.uuid4().hex,
            mode="append" if isinstance(mode, Append) else "overwrite",
            target_schema=plan.target,
            partition_by=partitions,
            new_fields=tuple(f.name for f in plan.new_fields),
            replace="static" if static else "dynamic" if replacing else "all",
            static_partition=static,
            txn=txn,
            metadata={"dmp.table": name, **dict(metadata or {})},
        )
        _register_sink(df.sparkSession, DeltaSink)
        path.mkdir(parents=True, exist_ok=True)
        commit_point("write.before", name)
        if armed(point_name("write.commit", name)):
            # The Delta commit runs in a Python worker: it kills this process (and itself)
            # once the data files are written, before the log entry.
            request = dataclasses.replace(request, kill_driver=os.getpid())
        try:
            (
                frame.write.format(DeltaSink.name())
                .mode("append")
                .options(**request.to_options())
                .save()
            )
        except Exception as error:
            remove_uncommitted_files(str(path), request.write_id)
            raise LakeWriteError(
                f"writing {name} failed; it stays at version {before}: {root_cause(error)}"
            ) from error
        commit_point("write.after", name)
        return self._result_of(name, request.write_id)

    def write_arrow(
        self,
        data: pa.Table,
        name: str,
        *,
        mode: Append | Overwrite = APPEND,
        partition_by: Sequence[str] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Write a small Arrow table from the driver with delta-rs (run log, summaries).

        Args:
            data: The rows to write.
            name: Table name ``layer/name``; created on first write.
            mode: :class:`~dmp.lake.modes.Append` or :class:`~dmp.lake.modes.Overwrite` (the
                whole table).
            partition_by: Partition columns (only when creating).
            metadata: Extra commit metadata, kept in the history.

        Returns:
            The version created and the rows written.

        Raises:
            LakeSchemaError: The data does not fit the table.
            LakeWriteError: The write failed.
        """
        from deltalake import CommitProperties, write_deltalake

        if not isinstance(mode, Append | Overwrite):
            raise LakeError(f"write_arrow appends or overwrites the table, not {mode!r}")

        path = self.path(name)
        existing = self._open(name) if self.exists(name) else None
        schema = nullable_schema(data.schema)
        existing_schema = (
            nullable_schema(pa.schema(existing.schema().to_arrow())) if existing else None
        )
        partitions = tuple(existing.metadata().partition_columns) if existing else ()
        plan = plan_schema(name, existing_schema, schema, partitions or tuple(partition_by or ()))
        data = data.cast(schema)
        for column in plan.missing:
            data = data.append_column(
                plan.target.field(column), pa.nulls(data.num_rows, plan.target.field(column).type)
            )
        data = data.select(plan.target.names).cast(plan.target)
        write_id = uuid.uuid4().hex
        custom = {"dmp.table": name, "dmp.write_id": write_id, "dmp.rows": str(data.num_rows)}
        custom.update(metadata or {})
        commit_point("write.before", name)
        try:
            write_deltalake(
                str(path),
                data,
                mode="append" if isinstance(mode, Append) else "overwrite",
                partition_by=list(partition_by) if partition_by and not existing else None,
                schema_mode="merge" if plan.new_fields else None,
                commit_properties=CommitProperties(custom_metadata=custom),
            )
        except Exception as error:
            raise LakeWriteError(f"writing {name} failed: {error}") from error
        commit_point("write.after", name)
        return self._result_of(name, write_id)

    def _result_of(self, name: str, write_id: str) -> WriteResult:
        table = self._open(name)
        for entry in table.history(limit=50):
            if entry.get("dmp.write_id") == write_id:
                return WriteResult(
                    name,
                    int(entry["version"]),
                    int(entry.get("dmp.rows", 0)),
                    int(entry.get("dmp.files", 0)),
                )
        # An idempotent commit found the key already recorded and skipped itself.
        return WriteResult(name, table.version(), 0, 0, skipped=True)

    # -- history and maintenance ---------------------------------------------------------
    def history(self, name: str, limit: int | None = None) -> list[Commit]:
        """Commits of the table, newest first."""
        commits = []
        for entry in self._open(name).history(limit=limit):
            parameters = entry.get("operationParameters") or {}
            metadata = {k: v for k, v in entry.items() if k.startswith("dmp.")}
            commits.append(
                Commit(
                    version=int(entry["version"]),
                    timestamp=datetime.fromtimestamp(entry["timestamp"] / 1000, tz=UTC),
                    operation=str(entry.get("operation", "")),
                    parameters=dict(parameters),
                    metadata=metadata,
                )
            )
        return commits

    def changed_since(self, name: str, version: int) -> bool:
        """Whether a commit after ``version`` changed the table's rows.

        Maintenance commits (compaction, vacuum) add versions but change no row, so a
        stage that read ``version`` is still up to date after them.
        """
        current = self.version(name)
        if current is None or current == version:
            return current != version
        newer = [c for c in self.history(name, limit=current - version) if c.version > version]
        return len(newer) < current - version or any(
            c.operation not in _MAINTENANCE_OPERATIONS for c in newer
        )

    def delete(
        self, name: str, predicate: str, *, metadata: Mapping[str, str] | None = None
    ) -> int:
        """Delete the rows matching a SQL ``predicate`` in one commit; return how many.

        delta-rs rewrites only the files holding matching rows (it never writes deletion
        vectors). Meant for rare, targeted deletes such as erasure requests; bulk changes
        go through Spark writes.
        """
        from deltalake import CommitProperties

        table = self._open(name)
        custom = {"dmp.table": name, **dict(metadata or {})}
        commit_point("delete.before", name)
        try:
            metrics = table.delete(
                predicate, commit_properties=CommitProperties(custom_metadata=custom)
            )
        except Exception as error:
            raise LakeWriteError(f"deleting from {name} failed: {error}") from error
        commit_point("delete.after", name)
        return int(metrics.get("num_deleted_rows", 0) or 0)

    def update(
        self,
        name: str,
        predicate: str,
        updates: Mapping[str, str],
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Set columns to SQL expressions on the rows matching ``predicate`` (one commit).

        Like :meth:`delete`, for rare targeted changes (erasure clears links to a person);
        returns the number of rows updated.
        """
        from deltalake import CommitProperties

        table = self._open(name)
        custom = {"dmp.table": name, **dict(metadata or {})}
        commit_point("update.before", name)
        try:
            metrics = table.update(
                updates=dict(updates),
                predicate=predicate,
                commit_properties=CommitProperties(custom_metadata=custom),
            )
        except Exception as error:
            raise LakeWriteError(f"updating {name} failed: {error}") from error
        commit_point("update.after", name)
        return int(metrics.get("num_updated_rows", 0) or 0)

    def vacuum(
        self,
        name: str,
        *,
        retention_hours: int | None = None,
        dry_run: bool = False,
        full: bool = False,
        enforce_retention: bool = True,
    ) -> list[str]:
        """Delete files no version within the retention window needs.

        delta-rs refuses a window under 7 days unless ``enforce_retention=False``; the
        erasure path uses ``retention_hours=0`` that way, after which older versions are no
        longer readable. ``full`` also removes files that were never in the log, such as
        leftovers of failed task attempts.
        """
        table = self._open(name)
        if not dry_run:
            commit_point("vacuum.before", name)
        try:
            deleted = table.vacuum(
                retention_hours=retention_hours,
                dry_run=dry_run,
                enforce_retention_duration=enforce_retention,
                full=full,
            )
        except Exception as error:
            raise LakeError(f"vacuum of {name} refused: {error}") from error
        if not dry_run:
            commit_point("vacuum.after", name)
        return list(deleted)

    def optimize(
        self,
        name: str,
        *,
        target_size: int = 128 * 2**20,
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, int]:
        """Compact small files into files of about ``target_size`` bytes (one commit).

        delta-rs rewrites the small files of each partition together, keeping row order;
        readers see the same rows before and after, and the old files stay until
        :meth:`vacuum` removes them. A table with nothing to compact gets no new version.

        Returns:
            ``files_removed``, ``files_added``, ``partitions_optimized`` (0 when nothing
            changed).
        """
        from deltalake import CommitProperties

        table = self._open(name)
        custom = {"dmp.table": name, **dict(metadata or {})}
        commit_point("optimize.before", name)
        try:
            metrics = table.optimize.compact(
                target_size=target_size,
                commit_properties=CommitProperties(custom_metadata=custom),
            )
        except Exception as error:
            raise LakeWriteError(f"compacting {name} failed: {root_cause(error)}") from error
        commit_point("optimize.after", name)
        return {
            "files_removed": int(metrics.get("numFilesRemoved", 0) or 0),
            "files_added": int(metrics.get("numFilesAdded", 0) or 0),
            "partitions_optimized": int(metrics.get("partitionsOptimized", 0) or 0),
        }

    def purge_history(self, name: str) -> None:
        """Forget every older version, log included (erasure): checkpoint, then drop the
        commit files before it. Old commits carry per-file statistics (min/max values), so
        vacuuming data files alone would leave values of deleted rows in the log.
        """
        table = self._open(name)
        configuration = table.metadata().configuration
        # The retention is lowered for the purge and set back afterwards. A purge killed in
        # between leaves the lowered value, so the value to restore is kept in the table
        # itself, and a repeated purge restores it instead of the lowered one.
        previous = configuration.get(_RETENTION_BEFORE_PURGE) or configuration.get(
            _LOG_RETENTION, _DEFAULT_LOG_RETENTION
        )
        commit_point("purge.before", name)
        try:
            table.alter.set_table_properties(
                {_LOG_RETENTION: _PURGE_RETENTION, _RETENTION_BEFORE_PURGE: previous},
                raise_if_not_exists=False,
            )
            commit_point("purge.lowered", name)
            table = self._open(name)
            table.create_checkpoint()
            table.cleanup_metadata()
            commit_point("purge.cleaned", name)
            self._open(name).alter.set_table_properties(
                {_LOG_RETENTION: previous, _RETENTION_BEFORE_PURGE: ""},
                raise_if_not_exists=False,
            )
        except Exception as error:
            raise LakeError(f"purging the history of {name} failed: {error}") from error
        commit_point("purge.after", name)

    def tables(self) -> list[TableInfo]:
        """Every table under the root, sorted by name."""
        if not self.root.exists():
            return []
        names = (
            f"{log.parent.parent.name}/{log.parent.name}"
            for log in self.root.glob("*/*/_delta_log")
        )
        return [self.info(name) for name in sorted(names) if _TABLE_NAME.match(name)]

    def info(self, name: str) -> TableInfo:
        """Version, rows, live files, partitioning and last commit of one table."""
        table = self._open(name)
        last = table.history(limit=1)[0]
        actions = pa.table(table.get_add_actions(flatten=True))
        return TableInfo(
            name=name,
            version=table.version(),
            rows=_count_rows(table),
            files=actions.num_rows,
            partition_by=tuple(table.metadata().partition_columns),
            last_operation=str(last.get("operation", "")),
            last_commit_at=datetime.fromtimestamp(last["timestamp"] / 1000, tz=UTC),
        )


def _register_sink(spark: SparkSession, sink: type) -> None:
    manager = spark._jsparkSession.sessionState().dataSourceManager()
    if not manager.dataSourceExists(sink.name()):  # type: ignore[attr-defined]
        spark.dataSource.register(sink)


def _count_rows(table: DeltaTable) -> int:
    actions = pa.table(table.get_add_actions(flatten=True))
    if actions.num_rows == 0:
        return 0
    counts = actions.column("num_records").to_pylist()
    if any(c is None for c in counts):
        return int(table.count())
    return int(sum(counts))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        raise LakeError("timestamp partition values are not supported")
    if isinstance(value, date | str | int | bool) or value is None:
        return value
    raise LakeError(f"unsupported partition value {value!r}")


def _conform(
    df: DataFrame, target: pa.Schema, missing: Sequence[str], casts: Mapping[str, pa.DataType]
) -> DataFrame:
    """Select ``df``'s columns in table order, adding nulls for absent ones."""
    from pyspark.sql import functions as F

    spark_target = arrow_to_spark(target)
    columns = []
    for field in spark_target.fields:
        if field.name in missing or field.name in casts:
            source = F.lit(None) if field.name in missing else F.col(field.name)
            columns.append(source.cast(field.dataType).alias(field.name))
        else:
            columns.append(F.col(field.name))
    return df.select(*columns)
