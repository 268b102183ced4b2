"""Stable ``person_id``s across runs, and the merges and splits between two runs.

A person keeps the id its identifiers had in the previous identity map: the id held by its
user id if it has one, else the id held by most of its identifiers. When several new persons
claim one old id (a split), the one holding most of its identifiers keeps it. Persons with
no earlier id get a fresh id derived from their smallest identifier and the previous map's
version, so the same data and the same previous map always give the same ids.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

MERGE = "merge"
SPLIT = "split"


def assign_person_ids(
    members: DataFrame, previous: DataFrame | None, salt: str
) -> tuple[DataFrame, DataFrame]:
    """Name every person, reusing previous ids where the identifiers say so.

    Args:
        members: ``id_type, id_value, person_key`` (one row per identifier).
        previous: The previous identity map (``id_type, id_value, person_id``) or None.
        salt: Distinguishes fresh ids of this run (the previous map's version).

    Returns:
        ``(members + person_id, changes)`` where ``changes`` has ``change`` (merge or split),
        ``from_person_id``, ``to_person_id`` and ``identifiers`` moved.
    """
    if previous is None:
        with_previous = members.withColumn("previous_id", F.lit(None).cast("string"))
    else:
        old = previous.select("id_type", "id_value", F.col("person_id").alias("previous_id"))
        with_previous = members.join(old, ["id_type", "id_value"], "left")

    claims = (
        with_previous.filter(F.col("previous_id").isNotNull())
        .groupBy("person_key", "previous_id")
        .agg(
            F.count(F.lit(1)).alias("held"),
            F.max((F.col("id_type") == "user_id").cast("int")).alias("via_user"),
        )
    )
    preferred = claims.withColumn(
        "_rank",
        F.row_number().over(
            Window.partitionBy("person_key").orderBy(
                F.desc("via_user"), F.desc("held"), F.asc("previous_id")
            )
        ),
    ).filter(F.col("_rank") == 1)
    winners = (
        preferred.withColumn(
            "_rank",
            F.row_number().over(
                Window.partitionBy("previous_id").orderBy(
                    F.desc("via_user"), F.desc("held"), F.asc("person_key")
                )
            ),
        )
        .filter(F.col("_rank") == 1)
        .select("person_key", F.col("previous_id").alias("kept_id"))
    )
    smallest = with_previous.groupBy("person_key").agg(
        F.min(F.concat_ws(":", "id_type", "id_value")).alias("_smallest")
    )
    fresh = F.concat(
        F.lit("P"), F.substring(F.sha2(F.concat_ws("|", "_smallest", F.lit(salt)), 256), 1, 16)
    )
    names = smallest.join(winners, "person_key", "left").select(
        "person_key", F.coalesce(F.col("kept_id"), fresh).alias("person_id")
    )
    named = with_previous.join(names, "person_key")

    moved = (
        named.filter(
            F.col("previous_id").isNotNull() & (F.col("previous_id") != F.col("person_id"))
        )
        .groupBy(
            F.col("previous_id").alias("from_person_id"), F.col("person_id").alias("to_person_id")
        )
        .agg(F.count(F.lit(1)).alias("identifiers"))
    )
    surviving = names.select(F.col("person_id").alias("from_person_id")).withColumn(
        "_survives", F.lit(True)
    )
    changes = moved.join(surviving, "from_person_id", "left").select(
        F.when(F.col("_survives"), F.lit(SPLIT)).otherwise(F.lit(MERGE)).alias("change"),
        "from_person_id",
        "to_person_id",
        "identifiers",
    )
    return named.drop("previous_id"), changes
