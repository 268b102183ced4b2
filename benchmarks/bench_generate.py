"""Benchmark the world generator: events/s and MB/s for a given size.

Usage: python benchmarks/bench_generate.py --users 100000 --days 30 --home /tmp/dmp-bench
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from dmp.generate import WorldSpec, generate_world


def main() -> None:
    """Parse arguments, generate the world, print throughput."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--home", type=Path, default=Path("/tmp/dmp-bench"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    spec = WorldSpec(users=args.users, days=args.days, workers=args.workers, seed=args.seed)
    began = time.perf_counter()
    summary = generate_world(
        spec, args.home, progress=lambda done, total: print(f"shards {done}/{total}", flush=True)
    )
    seconds = time.perf_counter() - began
    workers = min(args.workers or os.cpu_count() or 1, spec.shards)
    lines = summary.counts["lines"]
    on_disk = sum(p.stat().st_size for p in (args.home / "landing").rglob("*") if p.is_file())
    print(f"users={args.users} days={args.days} workers={workers} shards={spec.shards}")
    print(
        f"first-party lines={lines:,} (good={summary.counts['good_lines']:,}, "
        f"bad={summary.counts['bad_lines']:,}, exact duplicates="
        f"{summary.counts['exact_duplicates']:,}) files={summary.files}"
    )
    print(f"seconds={seconds:.1f}")
    print(f"events/s={lines / seconds:,.0f} total, {lines / seconds / workers:,.0f} per worker")
    print(
        f"MB/s={summary.bytes_written / 1e6 / seconds:,.1f} uncompressed, "
        f"{on_disk / 1e6 / seconds:,.1f} on disk ({on_disk / 1e6:,.0f} MB landing)"
    )


if __name__ == "__main__":
    main()
