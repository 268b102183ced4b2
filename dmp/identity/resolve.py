"""Resolve the identity graph into persons, one user id at most per person. Pure transforms.

1. Every non-user identifier is classified by the user ids it was seen with on the same
   events: *owned* (one user), *contested* (2..N users: it goes to the user with the most
   priority-weighted evidence, users are never merged), *shared* (more than N: it joins no
   one) or *free* (never seen with a login).
2. Free identifiers are grouped by connected components of their co-occurrence graph.
3. A free cluster joins the person whose identifiers it is linked to, when one person holds
   at least ``dominance`` of the link evidence; otherwise it is a person of its own.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from dmp.identity.graph import typed_weight
from dmp.identity.settings import IdentitySettings

OWNED = "owned"
CONTESTED = "contested"
SHARED = "shared"
FREE = "free"
USER = "user"


def classify_nodes(nodes: DataFrame, links: DataFrame, settings: IdentitySettings) -> DataFrame:
    """Give every node a ``link`` class and, for user/owned/contested nodes, an ``owner``.

    Args:
        nodes: ``id_type, id_value, node``.
        links: ``node, user_node, events`` from :func:`dmp.identity.graph.user_links`.
        settings: Identity rules.

    Returns:
        ``node, id_type, link, owner`` (owner is a user node id or null).
    """
    ranked = links.withColumn(
        "_rank",
        F.row_number().over(
            Window.partitionBy("node").orderBy(F.desc("events"), F.asc("user_node"))
        ),
    )
    per_node = ranked.groupBy("node").agg(
        F.count(F.lit(1)).alias("users"),
        F.min(F.when(F.col("_rank") == 1, F.col("user_node"))).alias("top_user"),
    )
    classified = nodes.join(per_node, "node", "left")
    users = F.coalesce(F.col("users"), F.lit(0))
    link = (
        F.when(F.col("id_type") == "user_id", F.lit(USER))
        .when(users == 0, F.lit(FREE))
        .when(users == 1, F.lit(OWNED))
        .when(users <= settings.shared_threshold, F.lit(CONTESTED))
        .otherwise(F.lit(SHARED))
    )
    owner = F.when(F.col("id_type") == "user_id", F.col("node")).when(
        users.between(1, settings.shared_threshold), F.col("top_user")
    )
    return classified.select("node", "id_type", link.alias("link"), owner.alias("owner"))


def free_graph(edges: DataFrame, classes: DataFrame) -> DataFrame:
    """Edges between two free nodes (``src, dst``): the graph of never-logged-in identifiers."""
    free = classes.filter(F.col("link") == FREE).select("node")
    return (
        edges.join(free.withColumnRenamed("node", "src"), "src")
        .join(free.withColumnRenamed("node", "dst"), "dst")
        .select("src", "dst")
    )


def attach_clusters(
    edges: DataFrame,
    classes: DataFrame,
    clusters: DataFrame,
    settings: IdentitySettings,
) -> DataFrame:
    """Decide, per free cluster, which user's person it joins (if any).

    Args:
        edges: ``src, dst, events`` co-occurrence edges (shared nodes already removed).
        classes: Output of :func:`classify_nodes`.
        clusters: ``node, component`` for every free node.
        settings: Identity rules (dominance, priority weights).

    Returns:
        ``component, owner, evidence_share`` for every cluster; ``owner`` is null when no
        user holds a dominant share of the evidence.
    """
    anchored = classes.filter(F.col("owner").isNotNull()).select(
        F.col("node").alias("anchor"), "owner", F.col("id_type").alias("anchor_type")
    )
    both_ways = edges.select("src", "dst", "events").unionByName(
        edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"), "events")
    )
    evidence = (
        both_ways.join(clusters.withColumnRenamed("node", "src"), "src")
        .join(anchored.withColumnRenamed("anchor", "dst"), "dst")
        .withColumn("weight", F.col("events") * typed_weight(F.col("anchor_type"), settings))
        .groupBy("component", "owner")
        .agg(F.sum("weight").alias("weight"))
    )
    order = Window.partitionBy("component").orderBy(F.desc("weight"), F.asc("owner"))
    totals = Window.partitionBy("component")
    best = (
        evidence.withColumn("_rank", F.row_number().over(order))
        .withColumn("_share", F.col("weight") / F.sum("weight").over(totals))
        .filter(F.col("_rank") == 1)
    )
    decided = best.select(
        "component",
        F.when(F.col("_share") >= settings.dominance, F.col("owner")).alias("owner"),
        F.col("_share").alias("evidence_share"),
    )
    every = clusters.select("component").distinct()
    return every.join(decided, "component", "left")


def person_keys(classes: DataFrame, clusters: DataFrame, attachments: DataFrame) -> DataFrame:
    """A grouping key per node: nodes with the same key are one person.

    Returns:
        ``node, person_key, link`` where ``person_key`` is ``u<user node>``,
        ``c<cluster>`` (an anonymous person) or ``s<node>`` (a shared identifier alone).
    """
    free = clusters.join(attachments, "component", "left").select(
        "node",
        F.when(F.col("owner").isNotNull(), F.concat(F.lit("u"), F.col("owner").cast("string")))
        .otherwise(F.concat(F.lit("c"), F.col("component").cast("string")))
        .alias("person_key"),
        F.when(F.col("owner").isNotNull(), F.lit("linked"))
        .otherwise(F.lit("anonymous"))
        .alias("resolved"),
    )
    anchored = classes.filter(F.col("link") != FREE).select(
        "node",
        F.when(F.col("link") == SHARED, F.concat(F.lit("s"), F.col("node").cast("string")))
        .otherwise(F.concat(F.lit("u"), F.col("owner").cast("string")))
        .alias("person_key"),
        F.col("link").alias("resolved"),
    )
    return free.unionByName(anchored)
