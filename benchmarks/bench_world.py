"""Benchmark the stages on a generated world: ingest events/s, identity persons/s, profiles.

Generates the world (unless ``--home`` already has one), then runs each stage once through
the same ``execute`` path the CLI uses, and prints seconds and throughput per stage plus the
stage summaries (identity prints pairwise precision/recall against the planted truth).

Usage: python benchmarks/bench_world.py --users 1000000 --days 2 --home /tmp/dmp-bench-1m \
       [--date 2026-01-01] [--stages ingest,identity,profiles]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import date
from pathlib import Path
from typing import Any

from _tuning import add_spark_options, tuned

from dmp.config import load_config
from dmp.driver import run_stage, session_for
from dmp.generate import WorldSpec, generate_world
from dmp.identity.entry import IDENTITY, IdentityRequest
from dmp.ingest.entry import INGEST, IngestRequest
from dmp.profiles.entry import PROFILES, ProfilesRequest
from dmp.stages import latest_event_date


def main() -> None:
    """Parse arguments, run the stages, print throughput."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--home", type=Path, default=Path("/tmp/dmp-bench-world"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--stages", default="ingest,identity,profiles")
    parser.add_argument(
        "--date", type=date.fromisoformat, default=None,
        help="ingest only this landing date (default: every date not ingested yet)",
    )  # fmt: skip
    add_spark_options(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = tuned(load_config(home=args.home), args).with_truth()
    manifest = args.home / "truth" / "manifest.json"
    if manifest.exists():  # an existing world: report its size, not the defaults
        spec = json.loads(manifest.read_text())["spec"]
        args.users, args.days = spec["users"], spec["days"]
    results: dict[str, Any] = {"users": args.users, "days": args.days, "date": str(args.date)}
    if not (args.home / "landing").exists():
        began = time.perf_counter()
        world = generate_world(
            WorldSpec(users=args.users, days=args.days, seed=args.seed), args.home
        )
        results["generate_s"] = round(time.perf_counter() - began, 1)
        results["lines"] = world.counts["lines"]
    spark = session_for(settings)
    stages = args.stages.split(",")
    if "ingest" in stages:
        began = time.perf_counter()
        ingested = run_stage(INGEST, settings, IngestRequest(landing_date=args.date), spark=spark)
        seconds = time.perf_counter() - began
        summary = ingested.summary()
        read = int(summary["records read"])
        results.update(ingest_s=round(seconds, 1), ingest_records=read,
                       ingest_records_per_s=round(read / seconds))  # fmt: skip
        print("ingest", json.dumps(summary, default=str), flush=True)
    if "identity" in stages:
        began = time.perf_counter()
        resolved = run_stage(IDENTITY, settings, IdentityRequest(), spark=spark)
        seconds = time.perf_counter() - began
        summary = resolved.summary()
        results.update(identity_s=round(seconds, 1), identity_persons=summary.get("persons"))
        print("identity", json.dumps(summary, default=str), flush=True)
    if "profiles" in stages:
        as_of = latest_event_date(settings)
        began = time.perf_counter()
        profiled = run_stage(PROFILES, settings, ProfilesRequest(as_of), spark=spark)
        results["profiles_s"] = round(time.perf_counter() - began, 1)
        print("profiles", json.dumps(profiled.summary(), default=str), flush=True)
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
