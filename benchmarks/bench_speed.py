"""dmp's stages side by side with a DuckDB reference, on the same generated landing files.

One command generates a world (or reuses one), runs the DuckDB reference query
(``duckdb_reference.py``: parse, drop duplicates, per-user aggregates), then dmp's ingest,
identity and profiles on the default configuration, and a lookalike build whose scoring pass
is timed on its own. It prints seconds and throughput per stage and the ratio
dmp (ingest + identity + profiles) / DuckDB. ``--scales 1,2,4`` repeats everything on worlds
with 1x, 2x and 4x the people (so about that many events) and prints each time as a ratio of
the 1x time.

Usage:
    python benchmarks/bench_speed.py --users 20000 --days 3 --root /tmp/dmp-speed
    python benchmarks/bench_speed.py --users 10000 --days 3 --scales 1,2,4

Run it alone on the machine: timings are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from duckdb_reference import first_party_files, run_reference

from dmp.config import Settings, load_config
from dmp.generate import WorldSpec, generate_world

_STAGES = ("ingest", "identity", "profiles", "lookalike")


def world_home(root: Path, users: int, days: int, seed: int) -> Path:
    """The data root of one generated world (generated on first use)."""
    home = root / f"w{users}x{days}s{seed}"
    if not (home / "truth" / "manifest.json").exists():
        began = time.perf_counter()
        generate_world(WorldSpec(users=users, days=days, seed=seed), home)
        logging.info("generated %s in %.0fs", home, time.perf_counter() - began)
    return home


def fresh_lake(home: Path) -> None:
    """Remove everything but the landing files and the truth (a clean run)."""
    for name in ("lake", "work", "reports", "mlflow", "exports"):
        subprocess.run(["rm", "-rf", str(home / name)], check=True)


def run_stages(home: Path, stages: tuple[str, ...]) -> dict[str, Any]:
    """Run dmp's stages in a child process (a cold JVM, like a scheduled job)."""
    command = [sys.executable, __file__, "--child", str(home), "--stages", ",".join(stages)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def child(home: Path, stages: list[str]) -> None:
    """Run the stages in this process and print their timings as one JSON line."""
    from dmp.driver import run_stage, session_for
    from dmp.identity.entry import IDENTITY, IdentityRequest
    from dmp.ingest.entry import INGEST, IngestRequest
    from dmp.lookalike.entry import LOOKALIKE, LookalikeRequest
    from dmp.profiles.entry import PROFILES, ProfilesRequest
    from dmp.stages import latest_event_date

    settings: Settings = load_config(home=home)
    began = time.perf_counter()
    spark = session_for(settings)
    timings: dict[str, Any] = {"spark_start_s": round(time.perf_counter() - began, 1)}
    if "ingest" in stages:
        began = time.perf_counter()
        ingested = run_stage(INGEST, settings, IngestRequest(), spark=spark)
        timings.update(ingest_s=time.perf_counter() - began, records=ingested.read)
        timings.update(accepted=ingested.accepted, quarantined=ingested.quarantined)
    if "identity" in stages:
        began = time.perf_counter()
        resolved = run_stage(IDENTITY, settings, IdentityRequest(), spark=spark)
        timings.update(identity_s=time.perf_counter() - began, persons=resolved.persons)
    as_of = latest_event_date(settings)
    if "profiles" in stages:
        began = time.perf_counter()
        profiled = run_stage(PROFILES, settings, ProfilesRequest(as_of), spark=spark)
        timings.update(profiles_s=time.perf_counter() - began, profiles=profiled.persons)
    if "lookalike" in stages:
        began = time.perf_counter()
        _segments(settings, spark, as_of)
        built = run_stage(
            LOOKALIKE,
            settings,
            LookalikeRequest(name="bench_speed", segment="active_buyers", method="pu", as_of=as_of),
            spark=spark,
        )
        timings.update(
            lookalike_s=time.perf_counter() - began,
            scored=built.universe,
            scoring_s=built.scoring_s,
        )
    print(json.dumps(timings))


def _segments(settings: Settings, spark: Any, as_of: Any) -> None:
    from dmp.driver import run_stage
    from dmp.segments.entry import SEGMENTS, SegmentsRequest

    run_stage(SEGMENTS, settings, SegmentsRequest(as_of=as_of), spark=spark)


def measure(home: Path, threads: int) -> dict[str, Any]:
    """DuckDB, then dmp's stages, on one world."""
    reference = run_reference(first_party_files(home), threads)
    fresh_lake(home)
    dmp = run_stages(home, _STAGES)
    core = dmp["ingest_s"] + dmp["identity_s"] + dmp["profiles_s"]
    return {
        "home": str(home),
        "records": dmp["records"],
        "duckdb_s": reference["seconds"],
        "duckdb_events_per_s": reference["events_per_s"],
        "ingest_s": round(dmp["ingest_s"], 1),
        "ingest_records_per_s": round(dmp["records"] / dmp["ingest_s"]),
        "identity_s": round(dmp["identity_s"], 1),
        "profiles_s": round(dmp["profiles_s"], 1),
        "core_s": round(core, 1),
        "dmp_over_duckdb": round(core / reference["seconds"], 1),
        "lookalike_s": round(dmp["lookalike_s"], 1),
        "scoring_people_per_s": round(dmp["scored"] / dmp["scoring_s"]) if dmp["scoring_s"] else 0,
        "spark_start_s": dmp["spark_start_s"],
    }


def main() -> None:
    """Parse arguments, run the comparison, print one JSON line per world and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--root", type=Path, default=Path("/tmp/dmp-speed"))
    parser.add_argument("--scales", default="1", help="comma-separated multiples of --users")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stages", default=",".join(_STAGES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if args.child is not None:
        child(args.child, args.stages.split(","))
        return
    results = []
    for scale in (int(s) for s in args.scales.split(",")):
        home = world_home(args.root, args.users * scale, args.days, args.seed)
        result = {"scale": scale, **measure(home, args.threads)}
        print(json.dumps(result), flush=True)
        results.append(result)
    if len(results) > 1:
        base = results[0]
        for result in results[1:]:
            ratio = {
                key: round(result[key] / base[key], 2)
                for key in ("records", "ingest_s", "identity_s", "profiles_s", "core_s")
            }
            print(json.dumps({"scale": result["scale"], "ratio_to_1x": ratio}), flush=True)


if __name__ == "__main__":
    main()
