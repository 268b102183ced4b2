"""From bronze events to an identity graph: identifiers per event, blocking rules, node ids,
co-occurrence edges and the user ids each identifier was seen with. Pure transforms.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dmp.identity.settings import IdentitySettings

# bronze column -> identifier type; previousId of an alias call is an earlier anonymous id.
IDENTIFIER_SOURCES: tuple[tuple[str, str], ...] = (
    ("user_id", "user_id"),
    ("anonymous_id", "anonymous_id"),
    ("previous_id", "anonymous_id"),
    ("device_id", "device_id"),
    ("advertising_id", "advertising_id"),
    ("email_sha256", "email_sha256"),
    ("phone_sha256", "phone_sha256"),
    ("partner_uid", "partner_uid"),
)
_CASE_INSENSITIVE = ("device_id", "advertising_id", "email_sha256", "phone_sha256")


def identifier_value(column: str, id_type: str) -> Column:
    """An event's identifier as the identity map keys it: trimmed; device, advertising and
    hashed ids lower-cased; partner ids namespaced by partner (``mobi_beta:abc``) so two
    partners' ids never collide."""
    value = F.trim(F.col(column))
    if id_type in _CASE_INSENSITIVE:
        value = F.lower(value)
    if id_type == "partner_uid":
        value = F.concat(F.col("source"), F.lit(":"), value)
    return value


EVENT = "event"
"""Column holding an event's key within one run (see :func:`with_event_keys`)."""


def with_event_keys(events: DataFrame) -> DataFrame:
    """``events`` plus ``event``: a 64-bit key unique to each row, for this run only.

    Bronze holds one row per ``(source, message_id)``; a long stands for that pair in the
    graph's shuffles and joins (a third of the bytes of the two strings, and no hash that
    could merge two events). Keys depend on the scan's partitioning: compute them once and
    keep the result while it is used.
    """
    return events.withColumn(EVENT, F.monotonically_increasing_id())


def event_identifiers(events: DataFrame) -> DataFrame:
    """One row per (event, identifier): ``event, event_time, id_type, id_value`` (values as
    :func:`identifier_value` normalises them); ``events`` carries :func:`with_event_keys`."""
    entries = [
        F.struct(
            F.lit(id_type).alias("id_type"), identifier_value(column, id_type).alias("id_value")
        )
        for column, id_type in IDENTIFIER_SOURCES
    ]
    exploded = events.select(EVENT, "event_time", F.explode(F.array(*entries)).alias("identifier"))
    return exploded.select(
        EVENT,
        "event_time",
        F.col("identifier.id_type").alias("id_type"),
        F.col("identifier.id_value").alias("id_value"),
    ).filter(F.col("id_value").isNotNull())


def blocked(id_value: Column, settings: IdentitySettings) -> Column:
    """True where the value is a placeholder that must never link anything."""
    values = [v.strip().lower() for v in settings.blocked_values]
    condition = F.lower(F.trim(id_value)).isin(values)
    if settings.blocked_patterns:
        pattern = "|".join(f"(?:{p})" for p in settings.blocked_patterns)
        condition = condition | id_value.rlike(pattern)
    return condition


def node_ids(identifiers: DataFrame) -> DataFrame:
    """A dense 64-bit id per distinct identifier: ``id_type, id_value, node``.

    Ids are positions in the sorted identifiers (:func:`dmp.caching.numbered`), so they are
    exact (no hash collisions can merge two identifiers) and the same data gives the same
    ids.
    """
    from dmp.caching import numbered

    distinct = identifiers.select("id_type", "id_value").distinct()
    return numbered(distinct, ["id_type", "id_value"], "node")


def identifier_stats(per_event: DataFrame) -> DataFrame:
    """Per node: ``node, events, first_seen_at, last_seen_at``.

    Args:
        per_event: :func:`event_nodes` (one row per distinct event and identifier).
    """
    return per_event.groupBy("node").agg(
        F.count(F.lit(1)).alias("events"),
        F.min("event_time").alias("first_seen_at"),
        F.max("event_time").alias("last_seen_at"),
    )


def event_nodes(identifiers: DataFrame, nodes: DataFrame) -> DataFrame:
    """``event, event_time, node, id_type`` for every distinct (event, identifier) pair."""
    return (
        identifiers.join(nodes, ["id_type", "id_value"])
        .select(EVENT, "event_time", "node", "id_type")
        .distinct()
    )


def user_links(per_event: DataFrame) -> DataFrame:
    """How often each non-user identifier was seen on the same event as each user id.

    Returns:
        ``node, user_node, events``.
    """
    users = per_event.filter(F.col("id_type") == "user_id").select(
        EVENT, F.col("node").alias("user_node")
    )
    others = per_event.filter(F.col("id_type") != "user_id")
    return (
        others.join(users, EVENT)
        .groupBy("node", "user_node")
        .agg(F.count(F.lit(1)).alias("events"))
    )


def star_edges(per_event: DataFrame, excluded: DataFrame) -> DataFrame:
    """Co-occurrence edges, as a star from each event's smallest node to its other nodes.

    A star keeps the same connectivity as all pairs with linearly many edges. Nodes in
    ``excluded`` (shared identifiers) are removed before the star is drawn, so they can
    never bridge two people.

    Returns:
        ``src, dst, events`` with ``src < dst``; ``events`` counts supporting events.
    """
    from pyspark.sql import Window

    kept = per_event.join(excluded.select("node"), "node", "left_anti")
    centre = F.min("node").over(Window.partitionBy(EVENT))
    edges = kept.withColumn("centre", centre).filter(F.col("node") != F.col("centre"))
    return edges.groupBy(F.col("centre").alias("src"), F.col("node").alias("dst")).agg(
        F.count(F.lit(1)).alias("events")
    )


def typed_weight(id_type: Column, settings: IdentitySettings) -> Column:
    """Evidence weight of a link through an identifier of ``id_type`` (see priority)."""
    expression = F.lit(1)
    for name in settings.priority:
        expression = F.when(id_type == name, F.lit(settings.weight(name))).otherwise(expression)
    return expression
