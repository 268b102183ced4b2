"""Uploaded lists (``gold/lists``): identifiers a marketer manages, stored hashed.

``dmp lists add NAME --file F --id-type T`` normalises and hashes the identifiers exactly
as lookalike seed files are (e-mails and phones SHA-256, as at ingest) and stores them as
identity-map keys; ``remove`` takes identifiers (or the whole list) out again. Segments use
a list as ``list:NAME`` in ``include`` / ``intersect`` / ``exclude``; it resolves to the
people holding one of its identifiers in the identity map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.errors import UserError
from dmp.lake import APPEND, Lake, ReplacePartition
from dmp.runlog import Run
from dmp.tables import LISTS_TABLE

__all__ = [
    "LISTS_TABLE",
    "ListChange",
    "add_to_list",
    "list_members",
    "list_names",
    "list_sizes",
    "remove_from_list",
]

_COLUMNS = ("list", "id_type", "id_value")


@dataclass
class ListChange:
    """What one ``dmp lists add/remove`` did."""

    name: str
    rows: int = 0
    added: int = 0
    removed: int = 0
    size: int = 0

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        return {
            "list": self.name,
            "rows in file": self.rows,
            "identifiers added": self.added,
            "identifiers removed": self.removed,
            "identifiers now": self.size,
        }


def list_names(lake: Lake) -> list[str]:
    """Names of the lists holding identifiers (no Spark: read from the Delta log)."""
    if not lake.exists(LISTS_TABLE):
        return []
    return sorted(lake.partition_values(LISTS_TABLE, "list"))


def _check_name(name: str) -> None:
    from dmp.expressions import check_name

    try:
        check_name(name, "list")
    except ValueError as error:
        raise UserError(str(error)) from None


def _current(spark: SparkSession, run: Run, name: str) -> DataFrame | None:
    if name not in list_names(run.lake):
        return None
    return run.read(spark, LISTS_TABLE).filter(F.col("list") == name).select(*_COLUMNS)


def add_to_list(
    spark: SparkSession,
    run: Run,
    name: str,
    path: Path,
    id_type: str,
    default_country_code: str,
    *,
    id_key: bytes,
) -> ListChange:
    """Add a file's identifiers (hashed) to list ``name``, creating it; repeats are skipped."""
    from dmp.lookalike.seeds import read_identifiers

    _check_name(name)
    rows, keys = read_identifiers(spark, path, id_type, default_country_code, id_key=id_key)
    incoming = keys.select(F.lit(name).alias("list"), "id_type", "id_value").distinct()
    current = _current(spark, run, name)
    new = incoming if current is None else incoming.join(current, list(_COLUMNS), "left_anti")
    change = ListChange(name, rows=rows)
    from dmp.caching import kept

    with kept(new) as fresh:
        change.added = fresh.count()
        if change.added:
            run.write(fresh, LISTS_TABLE, mode=APPEND, partition_by=["list"])
    change.size = (0 if current is None else current.count()) + change.added
    run.count("added", change.added)
    return change


def remove_from_list(
    spark: SparkSession,
    run: Run,
    name: str,
    path: Path | None,
    id_type: str | None,
    default_country_code: str,
    *,
    id_key: bytes,
) -> ListChange:
    """Remove a file's identifiers from list ``name``, or the whole list without a file."""
    current = _current(spark, run, name)
    if current is None:
        known = ", ".join(list_names(run.lake)) or "none"
        raise UserError(f"no list named {name!r} (lists: {known})")
    change = ListChange(name)
    before = current.count()
    if path is None:
        kept_rows = current.limit(0)
    else:
        from dmp.lookalike.seeds import read_identifiers

        change.rows, keys = read_identifiers(
            spark, path, id_type or "", default_country_code, id_key=id_key
        )
        kept_rows = current.join(keys.distinct(), ["id_type", "id_value"], "left_anti")
    from dmp.caching import kept

    with kept(kept_rows) as remaining:
        change.size = remaining.count()
        change.removed = before - change.size
        if change.removed:
            run.write(
                remaining.select(*_COLUMNS), LISTS_TABLE, mode=ReplacePartition({"list": name}),
            )  # fmt: skip
    run.count("removed", change.removed)
    return change


def list_sizes(spark: SparkSession, lake: Lake) -> dict[str, int]:
    """Identifiers per list (one aggregate; one row per list reaches the driver)."""
    if not list_names(lake):
        return {}
    counted = lake.read(spark, LISTS_TABLE).groupBy("list").count().collect()
    return {r["list"]: int(r["count"]) for r in sorted(counted, key=lambda r: r["list"])}


def list_members(spark: SparkSession, run: Run, name: str, identity_map: DataFrame) -> DataFrame:
    """``person_id`` of everyone holding an identifier of list ``name`` (distinct)."""
    keys = run.read(spark, LISTS_TABLE).filter(F.col("list") == name)
    return (
        keys.join(identity_map.select("id_type", "id_value", "person_id"), ["id_type", "id_value"])
        .select("person_id")
        .distinct()
    )
