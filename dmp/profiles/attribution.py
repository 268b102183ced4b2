"""Attribute bronze events to persons through the identity map, as of a date."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dmp.identity.graph import (
    EVENT,
    IDENTIFIER_SOURCES,
    blocked,
    event_identifiers,
    identifier_value,
)
from dmp.identity.settings import IdentitySettings

IDENTIFIER_COLUMNS = tuple(column for column, _ in IDENTIFIER_SOURCES)
"""Bronze columns holding identifiers (attribution reads them)."""


def end_of(as_of: date) -> datetime:
    """The first instant after ``as_of`` (UTC): data up to the end of that day counts."""
    return datetime.combine(as_of + timedelta(days=1), time.min)


def until(as_of: date) -> Column:
    """Filter for events up to the end of ``as_of`` (UTC)."""
    return F.col("event_time") < F.lit(end_of(as_of))


def attribute_events(
    events: DataFrame, identity_map: DataFrame, settings: IdentitySettings
) -> DataFrame:
    """Add ``person_id`` to every event one of whose identifiers is in the identity map.

    An event belongs to the person of its strongest identifier (by ``settings.priority``)
    that the map holds; blocked placeholders never decide. Usually every identifier that is
    not blocked is mapped (identity runs on all of bronze), so the event's strongest
    unblocked identifier is looked up directly: one join of the events with the map (after
    a narrow check that every such identifier is mapped). Events whose strongest identifier
    is missing from the map (events ingested after the last identity run) are resolved
    through all their identifiers (:func:`_through_every_id`).
    Events whose identifiers are all blocked get no person and are dropped.

    Args:
        events: Bronze events (any columns, including the identifier columns).
        identity_map: ``id_type, id_value, person_id``.
        settings: Identity rules (priority of identifier types, blocked values).

    Returns:
        ``events`` plus ``person_id``.
    """
    rank = {id_type: index for index, id_type in enumerate(settings.priority)}
    ordered = sorted(IDENTIFIER_SOURCES, key=lambda pair: rank.get(pair[1], len(rank)))
    candidates = []
    for column, id_type in ordered:
        value = identifier_value(column, id_type)
        usable = value.isNotNull() & ~F.coalesce(blocked(value, settings), F.lit(False))
        candidates.append(F.when(usable, F.struct(F.lit(id_type).alias("t"), value.alias("v"))))
    keyed = events.withColumn("_key", F.coalesce(*candidates)).filter(F.col("_key").isNotNull())
    mapping = identity_map.select(
        F.col("id_type").alias("_t"), F.col("id_value").alias("_v"), "person_id"
    )
    on = (F.col("_key.t") == F.col("_t")) & (F.col("_key.v") == F.col("_v"))
    # Usually every strongest identifier is mapped. A narrow scan (the identifier columns
    # only) proves it, and then one inner join attributes the events; otherwise the wide
    # rows would be read three times, twice for an empty late branch.
    if keyed.select("_key").join(mapping, on, "left_anti").isEmpty():
        return keyed.join(mapping, on).drop("_t", "_v", "_key")
    looked_up = keyed.join(mapping, on, "left").drop("_t", "_v", "_key")
    found = looked_up.filter(F.col("person_id").isNotNull())
    missing = looked_up.filter(F.col("person_id").isNull()).drop("person_id")
    late = _through_every_id(missing, identity_map, settings)
    return found.unionByName(late)


def _through_every_id(
    events: DataFrame, identity_map: DataFrame, settings: IdentitySettings
) -> DataFrame:
    """The owner among all of each event's mapped identifiers, strongest type first."""
    rank = F.lit(len(settings.priority))
    for index, id_type in enumerate(settings.priority):
        rank = F.when(F.col("id_type") == id_type, F.lit(index)).otherwise(rank)
    # Not monotonically_increasing_id: these rows come out of a shuffle, whose row order
    # (and so such ids) may differ between the two reads below.
    keyed = events.withColumn(EVENT, F.struct("source", "message_id"))
    mapped = event_identifiers(keyed).join(
        identity_map.select("id_type", "id_value", "person_id"), ["id_type", "id_value"]
    )
    owners = mapped.groupBy(EVENT).agg(F.min_by("person_id", rank).alias("person_id"))
    return keyed.join(owners, EVENT).drop(EVENT)
