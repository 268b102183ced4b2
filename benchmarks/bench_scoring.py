"""Distributed scoring throughput of a registered lookalike model, past the world's size.

Usage (after ``bench_lookalike.py`` built an audience on the same home):

    python benchmarks/bench_scoring.py --home /tmp/bench-1m --audience bench_p01502 --copies 2

Loads the audience's registered model (alias ``current``), makes the flat features of every
profile of the latest snapshot as the lookalike stage does, stacks ``--copies`` copies of
them under distinct person ids (``<id>#<copy>``) to reach more rows than the world has
people, keeps them on disk, then times the stage's own scoring path over all rows:
``score_people`` (``mapInPandas``, model broadcast, scores kept) and ``audience_rows``
(distributed sort, ranks numbered in the JVM, tiers). Prints rows/s; nothing is written to the lake.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from _tuning import add_spark_options, tuned
from pyspark.sql import functions as F

from dmp.caching import Keep, kept
from dmp.config import load_config
from dmp.driver import session_for
from dmp.lake import Lake
from dmp.lookalike.features import flat_features
from dmp.lookalike.scoring import audience_rows, score_people
from dmp.lookalike.tracking import load_current_model
from dmp.runlog import Run
from dmp.tables import EMBEDDINGS_TABLE, PROFILES_TABLE


def main() -> None:
    """Parse arguments, build the features, time the scoring pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--audience", required=True, help="an audience built on this home")
    parser.add_argument("--copies", type=int, default=1, help="stack the profiles N times")
    add_spark_options(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = tuned(load_config(home=args.home), args)
    model = load_current_model(settings, args.audience).unwrap_python_model().model
    spark = session_for(settings)
    lake = Lake(settings.lake_dir)
    run = Run(job="bench_scoring", lake=lake, params={})
    day = max(lake.partition_values(PROFILES_TABLE, "as_of"))
    profiles = run.read(spark, PROFILES_TABLE).filter(F.col("as_of") == F.lit(day))
    embeddings = run.read(spark, EMBEDDINGS_TABLE).filter(F.col("as_of") == F.lit(day))
    features = flat_features(profiles, embeddings, model.spec)
    copies = spark.range(args.copies).select(F.col("id").cast("string").alias("copy"))
    stacked = features.crossJoin(copies).withColumn(
        "person_id", F.concat_ws("#", "person_id", "copy")
    )
    stacked = stacked.drop("copy")
    with kept(stacked, Keep.DISK) as rows:
        began = time.perf_counter()
        total = rows.count()
        built = time.perf_counter() - began
        logging.info("features of %d rows built and kept in %.1f s", total, built)
        began = time.perf_counter()
        with kept(score_people(spark, model, rows), Keep.DISK) as scores:
            ranked = audience_rows(scores, total, settings.lookalike.tiers, "bench")
            with kept(ranked, Keep.DISK) as top:
                kept_rows = top.count()
        seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "snapshot": day,
                "rows scored": total,
                "profiles": total // args.copies,
                "copies": args.copies,
                "features s": round(built, 1),
                "scoring s": round(seconds, 1),
                "rows/s": round(total / seconds),
                "top-tier rows kept": kept_rows,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
