"""Attribute bronze events to persons through the identity map, as of a date."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dmp.identity.graph import event_identifiers


def end_of(as_of: date) -> datetime:
    """The first instant after ``as_of`` (UTC): data up to the end of that day counts."""
    return datetime.combine(as_of + timedelta(days=1), time.min)


def until(as_of: date) -> Column:
    """Filter for events up to the end of ``as_of`` (UTC)."""
    return F.col("event_time") < F.lit(end_of(as_of))


def attribute_events(
    events: DataFrame, identity_map: DataFrame, priority: Sequence[str]
) -> DataFrame:
    """Add ``person_id`` to every event one of whose identifiers is in the identity map.

    An event's identifiers normally resolve to one person; when they do not (a contested or
    shared identifier), the identifier of the strongest type in ``priority`` decides.
    Events whose identifiers are all blocked placeholders get no person and are dropped.
    """
    rank = F.lit(len(priority))
    for index, id_type in enumerate(priority):
        rank = F.when(F.col("id_type") == id_type, F.lit(index)).otherwise(rank)
    mapped = event_identifiers(events).join(
        identity_map.select("id_type", "id_value", "person_id"), ["id_type", "id_value"]
    )
    owners = mapped.groupBy("source", "message_id").agg(
        F.min_by("person_id", rank).alias("person_id")
    )
    return events.join(owners, ["source", "message_id"])
