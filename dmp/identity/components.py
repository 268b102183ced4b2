"""Connected components of a large graph with Spark DataFrames (large-star / small-star).

The algorithm is the alternating one of Kiveris, Lattanzi, Mirrokni, Rastogi and
Vassilvitskii, "Connected Components in MapReduce and Beyond" (SoCC 2014). Edges are kept as
``lo < hi`` pairs; one round applies both steps:

* large-star: every node ``u`` links each of its larger neighbours to ``m(u)``, the smallest
  node of ``u``'s closed neighbourhood;
* small-star: every node ``u`` links itself and each of its smaller neighbours to the smallest
  of them.

Both steps keep the components and emit exactly one edge per input edge, so the edge set never
grows. The graph shrinks to stars, each centred on the smallest node of its component, in a
number of rounds that grows like ``log n`` on practical graphs: a path of 1000 nodes with ids
increasing along it (the worst case of label propagation) takes 11, the last one confirming.

Convergence test: each emitted edge carries ``changed``, true when it differs from the edge it
came from (large-star: ``m(u) < u``; small-star: the node has two or more distinct smaller
neighbours). If no edge of a round is ``changed``, large-star mapped every edge onto itself,
so small-star saw the same edge set, and on that set (i) no node has two smaller neighbours
and (ii) the smaller end of every edge has no smaller neighbour. By (ii) a node with a smaller
neighbour is never the smaller end of an edge, so by (i) that neighbour is its only one: the
graph is a forest of stars whose centres are below their leaves, i.e. each centre is its
component's minimum. Conversely such a forest changes no edge, so the test fires in the first
round after the answer is reached. It costs one aggregate in the job that materialises the
round, never a diff of two edge sets.

Each step groups the edges by a node, so a component's centre handles all its edges in one
task: fine for identity graphs (whose components are small), slow for a giant component.

Node ids may be any 64-bit integers, negative ones included: only their order is used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ByteType, IntegerType, LongType, ShortType

from dmp.caching import Keep, RoundKeeper, kept, kept_rounds
from dmp.errors import StageFailed

__all__ = ["Components", "NotConverged", "connected_components"]

_log = logging.getLogger(__name__)
_INTEGRAL = (ByteType, ShortType, IntegerType, LongType)


class NotConverged(StageFailed):
    """Connected components did not converge within the allowed number of rounds."""


@dataclass(frozen=True)
class Components:
    """The result of :func:`connected_components`.

    Attributes:
        frame: ``node: long, component: long``, one row per node; ``component`` is the
            smallest node id of the node's component. Checkpointed: it does not recompute the
            rounds when read several times.
        rounds: Large-star/small-star rounds run, the last one being the round that changed
            nothing (0 when the graph has no edge between distinct nodes).
    """

    frame: DataFrame
    rounds: int


def connected_components(
    edges: DataFrame,
    nodes: DataFrame | None = None,
    *,
    max_rounds: int = 60,
    checkpoint_every: int = 2,
) -> Components:
    """Label every node with the smallest node id of its connected component.

    Args:
        edges: ``src, dst`` (integral, read as long), undirected; duplicates, both directions
            and self-loops are fine. A node on a self-loop only is a component of its own.
        nodes: Optional ``node`` column (integral) listing nodes that may appear in no edge;
            they come out as components of their own.
        max_rounds: Give up after this many rounds.
        checkpoint_every: Write the edge set to the checkpoint folder every so many rounds
            (it is cached in between); the session needs a checkpoint folder.

    Returns:
        The labels and the number of rounds run.

    Raises:
        ValueError: Bad arguments, missing columns, or a null ``src``, ``dst`` or ``node``.
        TypeError: A column is not of an integral type.
        NotConverged: The edge set still changed in round ``max_rounds``.
    """
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be at least 1, got {max_rounds}")
    src, dst = _id_column(edges, "src", "edges"), _id_column(edges, "dst", "edges")
    listed = None if nodes is None else nodes.select(_id_column(nodes, "node", "nodes"))
    complete = src.isNotNull() & dst.isNotNull()
    given = edges.select(
        F.when(complete, F.least(src, dst)).alias("lo"),
        F.when(complete, F.greatest(src, dst)).alias("hi"),
    ).distinct()
    with kept(given, Keep.DISK) as given, kept_rounds(checkpoint_every) as keeper:
        counts = given.agg(
            F.count_if(F.col("lo").isNull()).alias("incomplete"),
            F.count_if(F.col("lo") < F.col("hi")).alias("edges"),
            F.count_if(F.col("lo") == F.col("hi")).alias("loops"),
        ).first()
        assert counts is not None  # an aggregate without grouping returns one row
        if counts["incomplete"]:
            raise ValueError(
                f"edges has {counts['incomplete']} row(s) with a null src or dst: "
                "drop or repair them before computing components"
            )
        _log.info(
            "connected components: %d distinct edges, %d self-loops",
            counts["edges"],
            counts["loops"],
        )
        edge_set = given.filter(F.col("lo") < F.col("hi")).select("lo", "hi")
        stars, rounds = _converge(keeper, edge_set, counts["edges"], max_rounds)
        alone = given.filter(F.col("lo") == F.col("hi")).select(F.col("lo").alias("node"))
        if listed is not None:
            alone = alone.unionByName(listed)
        frame, tally = keeper.keep(
            _labels(stars, alone),
            F.count_if(F.col("node").isNull()).alias("null_nodes"),
            checkpoint=True,
        )
    if tally["null_nodes"]:
        raise ValueError("nodes has a null node: drop or repair it before computing components")
    _log.info("connected components: %d nodes labelled in %d rounds", tally["rows"], rounds)
    return Components(frame=frame, rounds=rounds)


def _converge(
    keeper: RoundKeeper, edge_set: DataFrame, edges: int, max_rounds: int
) -> tuple[DataFrame, int]:
    """Run rounds until one changes no edge; return the stars (``lo`` centres) and rounds."""
    rounds, changed = 0, edges
    while changed:
        if rounds == max_rounds:
            raise NotConverged(
                f"connected components did not converge in {max_rounds} rounds "
                f"({changed} edges still changing): allow more rounds "
                "(identity.max_rounds in the configuration)"
            )
        rounds += 1
        edge_set, tally = keeper.keep(
            _small_star(_large_star(edge_set)), F.count_if("changed").alias("changed")
        )
        changed = tally["changed"]
        _log.info("round %d: %d edges, %d changed", rounds, tally["rows"], changed)
    return edge_set, rounds


def _id_column(df: DataFrame, name: str, role: str) -> Column:
    """``df[name]`` as a long, after checking that it exists and is integral."""
    if name not in df.columns:
        raise ValueError(f"{role} needs a column {name!r}; it has {df.columns}")
    kind = df.schema[name].dataType
    if not isinstance(kind, _INTEGRAL):
        raise TypeError(f"{role}.{name} must hold integer node ids, not {kind.simpleString()}")
    return F.col(name).cast("long").alias(name)


def _large_star(edges: DataFrame) -> DataFrame:
    """Large-star: ``(lo=u, hi=v)`` becomes ``(m(u), v)``; one ``lo, hi, changed`` per edge.

    ``m(u)`` is the smallest of ``u`` and its neighbours; only smaller neighbours can be below
    ``u``, so the minimum over all neighbours, capped at ``u``, is it.
    """
    # One reference to ``edges`` (not a union of two): the plan then grows linearly with the
    # rounds between checkpoints, not exponentially.
    ends = edges.select(
        F.inline(
            F.array(
                F.struct(F.col("lo").alias("node"), F.col("hi").alias("neighbour")),
                F.struct(F.col("hi").alias("node"), F.col("lo").alias("neighbour")),
            )
        )
    )
    smallest = F.least(F.col("node"), F.min("neighbour").over(Window.partitionBy("node")))
    return (
        ends.withColumn("smallest", smallest)
        .filter(F.col("neighbour") > F.col("node"))
        .select(
            F.col("smallest").alias("lo"),
            F.col("neighbour").alias("hi"),
            (F.col("smallest") < F.col("node")).alias("changed"),
        )
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Small-star: node ``hi`` and each smaller neighbour link to the smallest of them.

    Duplicate edges are merged first (keeping whether any copy changed), in the same shuffle
    that groups the edges by ``hi``: the aggregate is already clustered by its first key.
    """
    distinct = edges.repartition("hi").groupBy("hi", "lo").agg(F.max("changed").alias("changed"))
    below = Window.partitionBy("hi")
    smallest = F.min("lo").over(below)
    return distinct.select(
        smallest.alias("lo"),
        F.when(F.col("lo") == smallest, F.col("hi")).otherwise(F.col("lo")).alias("hi"),
        (F.col("changed") | (F.max("lo").over(below) != smallest)).alias("changed"),
    )


def _labels(stars: DataFrame, alone: DataFrame) -> DataFrame:
    """``node, component`` from the converged stars (``lo`` is the centre) and lone nodes."""
    return (
        stars.select(F.col("hi").alias("node"), F.col("lo").alias("component"))
        .unionByName(stars.select(F.col("lo").alias("node"), F.col("lo").alias("component")))
        .unionByName(alone.select("node", F.col("node").alias("component")))
        .groupBy("node")
        .agg(F.min("component").alias("component"))
    )
