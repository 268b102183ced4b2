"""Lookalike acceptance on a generated world: one audience per planted campaign product.

Usage (on a data root where generate, ingest, identity and profiles already ran):

    python benchmarks/bench_lookalike.py --home /tmp/w10k [--method auto]

Seeds are the people who bought each campaign product in the observed window (segments
``bought_<product>``); the script prints, per seed, held-out lift@1% and AUC of the chosen
method, the centroid and activity baselines, and how the future-window buyers rank (lift@5%),
then the macro averages against the acceptance targets. Timings are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import yaml
from _tuning import add_spark_options, tuned

from dmp.config import load_config
from dmp.driver import run_stage
from dmp.lookalike.entry import LOOKALIKE, LookalikeRequest
from dmp.segments.entry import SEGMENTS, SegmentsRequest
from dmp.segments.spec import load_segment_file
from dmp.stages import latest_event_date


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--method", default=None)
    parser.add_argument("--products", nargs="*", default=None)
    add_spark_options(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = tuned(load_config(home=args.home), args).with_truth()
    manifest = json.loads((settings.home / "truth" / "manifest.json").read_text())
    products = args.products or [p["product_id"] for p in manifest["campaign_products"]]
    spec = load_segment_file(settings.segments_file).model_dump()
    for product in products:
        spec["segments"].append(
            {
                "name": f"bought_{product.lower()}",
                "where": f"array_contains(purchased_products, '{product}')",
            }
        )
    segment_file = settings.home / "bench_segments.yaml"
    segment_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    as_of = latest_event_date(settings)
    run_stage(SEGMENTS, settings, SegmentsRequest(as_of=as_of, file=segment_file))

    rows = []
    for product in products:
        started = time.perf_counter()
        result = run_stage(
            LOOKALIKE,
            settings,
            LookalikeRequest(
                name=f"bench_{product.lower()}",
                segment=f"bought_{product.lower()}",
                method=args.method,
                as_of=as_of,
                truth_product=product,
            ),
        )
        chosen = result.evaluation[result.method]
        rows.append(
            {
                "product": product,
                "seed": result.seed_matched,
                "universe": result.universe,
                "method": result.method,
                "lift@1%": chosen["lift_at_1pct"],
                "auc": chosen["auc"],
                "centroid lift@1%": result.evaluation["centroid"]["lift_at_1pct"],
                "activity lift@1%": result.evaluation["activity"]["lift_at_1pct"],
                "future lift@5%": result.truth_checks.get("future buyers lift@5%", float("nan")),
                "seconds": time.perf_counter() - started,
                "scoring s": result.scoring_s,
                "people/s scored": result.scored_per_s,
            }
        )
        print(json.dumps(rows[-1], default=str))
    columns = list(rows[0])
    print("\n" + " | ".join(columns))
    for row in rows:
        print(
            " | ".join(
                f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns
            )
        )
    mean = {
        c: sum(r[c] for r in rows) / len(rows) for c in columns if isinstance(rows[0][c], float)
    }
    print("\nmacro average:", json.dumps({k: round(v, 3) for k, v in mean.items()}))
    checks = {
        "held-out lift@1% >= 15": mean["lift@1%"] >= 15,
        "held-out AUC >= 0.85": mean["auc"] >= 0.85,
        "future buyers lift@5% >= 4": mean["future lift@5%"] >= 4,
        "beats centroid by >= 20% (lift@1%)": mean["lift@1%"] >= 1.2 * mean["centroid lift@1%"],
        "beats activity by >= 2x (lift@1%)": mean["lift@1%"] >= 2 * mean["activity lift@1%"],
    }
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")


if __name__ == "__main__":
    main()
