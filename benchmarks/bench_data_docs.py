"""What GX Data Docs add to a quality gate: the same gate with and without them, repeated.

    python benchmarks/bench_data_docs.py --rows 10000 --repeats 5 --root /tmp/dmp-docs

Each round runs one gate (six checks) on the same cached batch with ``data_docs=False`` and
then ``data_docs=True`` into the same reports folder (so the site grows as it does in a
lake's life), and prints the seconds of both and the difference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from pyspark.sql import functions as F

from dmp.config import load_config
from dmp.quality import GateSpec, run_gate
from dmp.session import build_session

SPEC = GateSpec.model_validate(
    {
        "name": "bench/docs",
        "checks": [
            {"name": "id not null", "type": "not_null", "column": "id"},
            {"name": "id unique", "type": "unique", "column": "id"},
            {"name": "amount range", "type": "between", "column": "amount", "min": 0, "max": 100},
            {"name": "cat in set", "type": "in_set", "column": "cat", "values": ["a", "b", "c"]},
            {"name": "rows", "type": "row_count_between", "min": 1},
            {"name": "cat not null", "type": "not_null", "column": "cat"},
        ],
    }
)


def main() -> None:
    """Run the gate with and without Data Docs and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--root", type=Path, default=Path("/tmp/dmp-bench-docs"))
    args = parser.parse_args()
    settings = load_config(home=args.root, environ={})
    spark = build_session(settings)
    batch = (
        spark.range(args.rows)
        .select(
            "id",
            (F.col("id") % 100).cast("double").alias("amount"),
            F.element_at(
                F.array(F.lit("a"), F.lit("b"), F.lit("c")), (F.col("id") % 3 + 1).cast("int")
            ).alias("cat"),
        )
        .cache()
    )
    batch.count()
    reports = args.root / "reports"
    without, with_docs = [], []
    for round_ in range(args.repeats + 1):
        timings = []
        for docs in (False, True):
            started = time.perf_counter()
            run_gate(spark, batch, SPEC, reports_dir=reports, run_id=f"r{round_}-{docs}",
                     data_docs=docs, raise_on_failure=False)  # fmt: skip
            timings.append(time.perf_counter() - started)
        if round_ == 0:
            print(f"warm-up: without {timings[0]:.2f}s, with Data Docs {timings[1]:.2f}s")
            continue
        without.append(timings[0])
        with_docs.append(timings[1])
        print(f"round {round_}: without {timings[0]:.2f}s, with Data Docs {timings[1]:.2f}s")
    added = [b - a for a, b in zip(without, with_docs, strict=True)]
    print(
        f"median gate: {statistics.median(without):.2f}s without, "
        f"{statistics.median(with_docs):.2f}s with; Data Docs add "
        f"{statistics.median(added):.2f}s per gate (min {min(added):.2f}, max {max(added):.2f})"
    )


if __name__ == "__main__":
    main()
