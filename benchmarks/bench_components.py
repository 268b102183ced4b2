"""Benchmark connected components: rounds, seconds and edges/s on a generated graph.

The graph mixes a few long chains (ids increasing along each: the worst case of label
propagation) with many small components (random edges inside blocks of a few nodes, ids
scattered by a bijection). It is generated with Spark and written to Parquet first, so the
timing covers connected components only.

Usage: python benchmarks/bench_components.py --nodes 2_000_000 --edges 3_000_000
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.config import load_config
from dmp.identity.components import connected_components
from dmp.session import build_session

_SCATTER = 1_000_003  # a prime: multiplying by it modulo the block-node count is a bijection


def generate(spark: SparkSession, args: argparse.Namespace) -> tuple[DataFrame, int]:
    """Edges ``src, dst`` of the benchmark graph and the number of chain edges."""
    chain_nodes = args.chains * args.chain_length
    block_nodes = args.nodes - chain_nodes
    blocks = block_nodes // args.component_size
    if blocks < 1 or math.gcd(_SCATTER, block_nodes) != 1:
        raise SystemExit("--nodes must leave room (and not be a multiple of 1000003) for blocks")
    chain_edges = args.chains * (args.chain_length - 1)
    chains = (
        spark.range(chain_nodes)
        .filter((F.col("id") + 1) % args.chain_length != 0)
        .select(F.col("id").alias("src"), (F.col("id") + 1).alias("dst"))
    )

    def member(salt: int) -> F.Column:
        offset = F.pmod(F.xxhash64(F.lit(args.seed), F.col("id"), F.lit(salt)), args.component_size)
        local = (F.col("id") % blocks) * args.component_size + offset
        return (local * _SCATTER % block_nodes) + chain_nodes

    small = spark.range(max(0, args.edges - chain_edges)).select(
        member(1).alias("src"), member(2).alias("dst")
    )
    return chains.unionByName(small), chain_edges


def main() -> None:
    """Parse arguments, generate the graph, time connected components, print throughput."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2_000_000)
    parser.add_argument("--edges", type=int, default=3_000_000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--chain-length", type=int, default=50_000)
    parser.add_argument("--component-size", type=int, default=8)
    parser.add_argument("--checkpoint-every", type=int, default=2)
    parser.add_argument("--home", type=Path, default=Path("/tmp/dmp-bench-components"))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    spark = build_session(load_config(home=args.home), app_name="bench-components")

    edges, chain_edges = generate(spark, args)
    graph_path = str(args.home / "bench" / "components-edges")
    edges.write.mode("overwrite").parquet(graph_path)
    edges = spark.read.parquet(graph_path)
    nodes = spark.range(args.nodes).select(F.col("id").alias("node"))

    began = time.perf_counter()
    result = connected_components(edges, nodes, checkpoint_every=args.checkpoint_every)
    seconds = time.perf_counter() - began

    sizes = result.frame.groupBy("component").count()
    summary = sizes.agg(F.count("*"), F.max("count"), F.sum("count")).first()
    assert summary is not None
    components, largest, labelled = summary
    master = spark.sparkContext.master
    print(
        f"nodes={args.nodes:,} edges={args.edges:,} (chain edges={chain_edges:,} in "
        f"{args.chains} chains of {args.chain_length:,}) master={master} cpus={os.cpu_count()}"
    )
    print(f"labelled nodes={labelled:,} components={components:,} largest={largest:,}")
    print(f"rounds={result.rounds} seconds={seconds:.1f}")
    print(
        f"edges/s={args.edges / seconds:,.0f} overall, "
        f"{args.edges * result.rounds / seconds:,.0f} edge-rounds/s"
    )
    spark.stop()


if __name__ == "__main__":
    main()
