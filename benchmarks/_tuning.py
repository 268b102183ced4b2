"""Spark sizing options shared by the benchmark scripts."""

from __future__ import annotations

import argparse

from dmp.config import Settings


def add_spark_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--shuffle-partitions`` and ``--driver-memory`` to a benchmark's arguments."""
    parser.add_argument("--shuffle-partitions", type=int, default=16)
    parser.add_argument("--driver-memory", default="8g")


def tuned(settings: Settings, args: argparse.Namespace) -> Settings:
    """``settings`` with the Spark sizing given on the command line."""
    spark = settings.spark.model_copy(
        update={
            "shuffle_partitions": args.shuffle_partitions,
            "driver_memory": args.driver_memory,
        }
    )
    return settings.model_copy(update={"spark": spark})
