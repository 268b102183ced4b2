"""The suppression list: identifiers that must never be exported again (``ops/suppression``).

Erasure adds every identifier of an erased person; configured exclusions can be added with
:func:`add_to_suppression`. Exports drop any person holding a suppressed identifier, so the
same e-mail coming back in new data cannot bring a person back into an export.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.runlog import Run
from dmp.tables import SUPPRESSION_TABLE

_SCHEMA = pa.schema(
    [
        ("id_type", pa.string()),
        ("id_value", pa.string()),
        ("reason", pa.string()),
        ("note", pa.string()),
        ("added_at", pa.timestamp("us", tz="UTC")),
    ]
)


def add_to_suppression(
    run: Run, identifiers: Iterable[tuple[str, str]], reason: str, note: str = ""
) -> int:
    """Append ``(id_type, id_value)`` pairs (hashed or pseudonymous ids only) with a reason.

    Pairs already on the list are not added again: the list is a set, and an erasure step
    killed after this commit but before its journal entry repeats it.

    Returns:
        How many pairs were added.
    """
    now = datetime.now(UTC)
    listed: set[tuple[str, str]] = set()
    if run.lake.exists(SUPPRESSION_TABLE):
        keys = run.lake.read_arrow(SUPPRESSION_TABLE, columns=["id_type", "id_value"])
        listed = {(r["id_type"], r["id_value"]) for r in keys.to_pylist()}
    rows = [
        {"id_type": t, "id_value": v, "reason": reason, "note": note, "added_at": now}
        for t, v in sorted(set(identifiers) - listed)
    ]
    if rows:
        run.write_arrow(pa.Table.from_pylist(rows, schema=_SCHEMA), SUPPRESSION_TABLE)
    return len(rows)


def suppressed_people(spark: SparkSession, run: Run) -> DataFrame:
    """``person_id`` of everyone currently holding a suppressed identifier."""
    from dmp.tables import IDENTITY_MAP_TABLE

    if not run.lake.exists(SUPPRESSION_TABLE) or not run.lake.exists(IDENTITY_MAP_TABLE):
        return spark.createDataFrame([], "person_id string")
    suppressed = run.read(spark, SUPPRESSION_TABLE).select("id_type", "id_value").distinct()
    identity_map = run.read(spark, IDENTITY_MAP_TABLE).select("id_type", "id_value", "person_id")
    through_ids = identity_map.join(suppressed, ["id_type", "id_value"]).select("person_id")
    # Erased persons are suppressed by id too: their profiles may outlive the identity map.
    direct = suppressed.filter(F.col("id_type") == "person_id").select(
        F.col("id_value").alias("person_id")
    )
    return through_ids.unionByName(direct).distinct()
