"""Export files: gzip CSV parts in a deterministic order, published atomically.

Spark sorts the rows (distributed), numbers them in the JVM and writes part ``k``
with rows ``[k * part_rows, (k + 1) * part_rows)``. Everything is written into a hidden
``.tmp-*`` folder and becomes visible with one rename, manifest included, so a killed
export leaves nothing visible; leftovers of killed exports are removed by the next one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dmp.caching import numbered

_log = logging.getLogger(__name__)
TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class FilePart:
    """One published file."""

    name: str
    rows: int
    bytes: int
    sha256: str


def clean_stale(folder: Path) -> list[str]:
    """Remove hidden temporary folders of exports that were killed before publishing."""
    removed = []
    if folder.exists():
        for child in folder.iterdir():
            if child.is_dir() and child.name.startswith(TEMP_PREFIX):
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child.name)
    return removed


def write_parts(
    rows: DataFrame, columns: Sequence[str], target: Path, part_rows: int, prefix: str = "part"
) -> list[FilePart]:
    """Write ``rows`` (with ``_order``) as ``<prefix>-00000.csv.gz`` ... under ``target``.

    Args:
        rows: Rows with ``_order`` (sort key) and the file ``columns``.
        columns: File columns in order (the CSV header).
        target: Folder to write the parts into (created).
        part_rows: Rows per part.
        prefix: File name prefix.

    Returns:
        The parts written, in order.
    """
    target.mkdir(parents=True, exist_ok=True)
    ordered = numbered(rows, ["_order", "person_id"], "_index")
    frame = ordered.select(
        *[F.col(c).cast("string").alias(c) for c in columns],
        F.floor(F.col("_index") / part_rows).cast("long").alias("_part"),
        "_index",
    )
    total = frame.count()
    if total == 0:
        return []
    parts = math.ceil(total / part_rows)
    scratch = target / "_spark"
    (
        frame.repartition(parts, "_part")
        .sortWithinPartitions("_part", "_index")
        .drop("_index")
        .write.partitionBy("_part")
        .option("header", "true")
        # RFC 4180: a quote inside a quoted field is doubled (Spark's default escapes it
        # with a backslash, which spreadsheets and ad platforms read as two fields).
        .option("quote", '"')
        .option("escape", '"')
        .option("compression", "gzip")
        .option("quoteAll", "false")
        .option("emptyValue", "")
        .mode("overwrite")
        .csv(str(scratch))
    )
    written = []
    for part in range(parts):
        files = sorted((scratch / f"_part={part}").glob("part-*.csv.gz"))
        if len(files) != 1:
            raise RuntimeError(f"export part {part}: expected one file, found {len(files)}")
        name = f"{prefix}-{part:05d}.csv.gz"
        destination = target / name
        os.replace(files[0], destination)
        rows_in_part = min(part_rows, total - part * part_rows)
        written.append(
            FilePart(name, rows_in_part, destination.stat().st_size, sha256_of(destination))
        )
    shutil.rmtree(scratch, ignore_errors=True)
    return written


def sha256_of(path: Path) -> str:
    """SHA-256 hex of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish(temporary: Path, final: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` into ``temporary`` and rename it to ``final`` (atomic)."""
    (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    if final.exists():
        raise FileExistsError(f"export folder {final} already exists")
    os.replace(temporary, final)
    _log.info("export published: %s", final)
    return final
