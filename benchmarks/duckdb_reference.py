"""The DuckDB reference dmp's speed is measured against: the core work, done plainly.

It reads the same first-party landing files (JSON lines, plain or gzip), drops records that
do not parse, drops duplicate ``messageId``s, and computes per user the numbers a profile
starts from: events, orders, revenue, first and last order, distinct products viewed. It does
none of dmp's other work (quarantine reasons, PII hashing, partner logs, identity stitching,
gates, Delta commits), so the ratio dmp / DuckDB says what all of that costs on top of the
bare minimum.

Usage: python benchmarks/duckdb_reference.py --home /tmp/dmp-bench [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

QUERY = """
WITH raw AS (
    SELECT * FROM read_ndjson(
        $files,
        columns = {
            messageId: 'VARCHAR', type: 'VARCHAR', event: 'VARCHAR', userId: 'VARCHAR',
            anonymousId: 'VARCHAR', "timestamp": 'VARCHAR', properties: 'JSON'
        },
        ignore_errors = true, compression = 'auto', format = 'newline_delimited'
    )
    WHERE messageId IS NOT NULL AND "timestamp" IS NOT NULL
),
events AS (
    SELECT
        coalesce(userId, anonymousId) AS person,
        event,
        try_cast("timestamp" AS TIMESTAMPTZ) AS event_at,
        properties ->> 'order_id' AS order_id,
        try_cast(properties ->> 'revenue' AS DOUBLE) AS revenue,
        properties ->> 'product_id' AS product_id
    FROM raw
    QUALIFY row_number() OVER (PARTITION BY messageId) = 1
)
SELECT
    person,
    count(*) AS events,
    count(DISTINCT order_id) FILTER (WHERE event = 'Order Completed') AS orders,
    sum(revenue) FILTER (WHERE event = 'Order Completed') AS revenue,
    min(event_at) FILTER (WHERE event = 'Order Completed') AS first_order_at,
    max(event_at) FILTER (WHERE event = 'Order Completed') AS last_order_at,
    count(DISTINCT product_id) FILTER (WHERE event = 'Product Viewed') AS products_viewed
FROM events
WHERE person IS NOT NULL
GROUP BY person
"""


def first_party_files(home: Path, dates: list[str] | None = None) -> list[str]:
    """The first-party landing files of a data root (optionally only some ``dt=`` dates)."""
    root = home / "landing" / "first_party"
    files = []
    for folder in sorted(root.glob("dt=*")):
        if dates is not None and folder.name.removeprefix("dt=") not in dates:
            continue
        files += [str(f) for f in sorted(folder.iterdir()) if ".json" in f.name]
    return files


def run_reference(files: list[str], threads: int = 2) -> dict[str, Any]:
    """Run the reference query over ``files``; return seconds and counts."""
    import duckdb

    connection = duckdb.connect(config={"threads": threads})
    began = time.perf_counter()
    summary = connection.execute(
        f"SELECT count(*), sum(events), sum(orders) FROM ({QUERY})", {"files": files}
    ).fetchone()
    seconds = time.perf_counter() - began
    assert summary is not None
    return {
        "seconds": round(seconds, 2),
        "people": int(summary[0]),
        "events": int(summary[1] or 0),
        "orders": int(summary[2] or 0),
        "events_per_s": round((summary[1] or 0) / seconds),
    }


def main() -> None:
    """Parse arguments, run the reference, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--date", action="append", help="only this landing date (repeatable)")
    args = parser.parse_args()
    print(json.dumps(run_reference(first_party_files(args.home, args.date), args.threads)))


if __name__ == "__main__":
    main()
