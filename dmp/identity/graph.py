"""From bronze events to an identity graph: identifiers per event, blocking rules, node ids,
co-occurrence edges and the user ids each identifier was seen with. Pure transforms.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dmp.identity.settings import IdentitySettings

# bronze column -> identifier type; previousId of an alias call is an earlier anonymous id.
_SOURCES: tuple[tuple[str, str], ...] = (
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


def event_identifiers(events: DataFrame) -> DataFrame:
    """One row per (event, identifier): ``source, message_id, event_time, id_type, id_value``.

    Values are trimmed; device, advertising and hashed ids lower-cased; partner ids are
    namespaced by partner (``mobi_beta:abc``) so two partners' ids never collide.
    """
    entries = []
    for column, id_type in _SOURCES:
        value = F.trim(F.col(column))
        if id_type in _CASE_INSENSITIVE:
            value = F.lower(value)
        if id_type == "partner_uid":
            value = F.concat(F.col("source"), F.lit(":"), value)
        entries.append(F.struct(F.lit(id_type).alias("id_type"), value.alias("id_value")))
    exploded = events.select(
        "source", "message_id", "event_time", F.explode(F.array(*entries)).alias("identifier")
    )
    return exploded.select(
        "source",
        "message_id",
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

    Ids come from ``zipWithIndex`` over the sorted identifiers, so they are exact (no hash
    collisions can merge two identifiers) and the same data gives the same ids.
    """
    distinct = identifiers.select("id_type", "id_value").distinct().orderBy("id_type", "id_value")
    indexed = distinct.rdd.zipWithIndex().map(lambda pair: (pair[0][0], pair[0][1], pair[1]))
    return indexed.toDF("id_type string, id_value string, node long")


def identifier_stats(identifiers: DataFrame) -> DataFrame:
    """Per identifier: events, first and last seen."""
    return identifiers.groupBy("id_type", "id_value").agg(
        F.countDistinct("source", "message_id").alias("events"),
        F.min("event_time").alias("first_seen_at"),
        F.max("event_time").alias("last_seen_at"),
    )


def event_nodes(identifiers: DataFrame, nodes: DataFrame) -> DataFrame:
    """``source, message_id, node, id_type`` for every (event, identifier) pair."""
    return (
        identifiers.join(nodes, ["id_type", "id_value"])
        .select("source", "message_id", "node", "id_type")
        .distinct()
    )


def user_links(per_event: DataFrame) -> DataFrame:
    """How often each non-user identifier was seen on the same event as each user id.

    Returns:
        ``node, user_node, events``.
    """
    users = per_event.filter(F.col("id_type") == "user_id").select(
        "source", "message_id", F.col("node").alias("user_node")
    )
    others = per_event.filter(F.col("id_type") != "user_id")
    return (
        others.join(users, ["source", "message_id"])
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
    kept = per_event.join(excluded.select("node"), "node", "left_anti")
    centres = kept.groupBy("source", "message_id").agg(F.min("node").alias("centre"))
    edges = kept.join(centres, ["source", "message_id"]).filter(F.col("node") != F.col("centre"))
    return edges.groupBy(F.col("centre").alias("src"), F.col("node").alias("dst")).agg(
        F.count(F.lit(1)).alias("events")
    )


def typed_weight(id_type: Column, settings: IdentitySettings) -> Column:
    """Evidence weight of a link through an identifier of ``id_type`` (see priority)."""
    expression = F.lit(1)
    for name in settings.priority:
        expression = F.when(id_type == name, F.lit(settings.weight(name))).otherwise(expression)
    return expression
