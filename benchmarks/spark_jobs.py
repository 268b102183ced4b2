"""Where a dmp command's Spark time goes: jobs, stages, tasks and seconds per dmp call site.

On small data a stage's time is mostly Spark's fixed cost per job, stage and task, not
rows. This script runs one ``dmp`` command in-process on a session that writes Spark's
event log, tags every DataFrame action with the dmp code that called it (up to three
frames of ``dmp/``), then reads the log back and prints, per call site: the Spark jobs
launched, the stages listed and run, the tasks, and the jobs' wall-clock seconds.

Usage:
    python benchmarks/spark_jobs.py --home /tmp/dmp-demo -- identity
    python benchmarks/spark_jobs.py --home /tmp/dmp-demo --conf spark.sql.adaptive.enabled=false \\
        -- profiles --as-of 2026-01-30

Run it alone on the machine: seconds are wall-clock. The counts do not depend on the load.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ACTIONS = ("collect", "count", "first", "toArrow", "toPandas", "checkpoint", "toLocalIterator")


def tag_actions(spark: Any) -> None:
    """Make every DataFrame action set the job description to its dmp call site."""
    from pyspark.sql.classic.dataframe import DataFrame

    def tagged(name: str, action: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            frames = [
                f for f in traceback.extract_stack()[:-1] if f"{os.sep}dmp{os.sep}" in f.filename
            ]
            site = " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames[::-1][:3])
            context = spark.sparkContext
            outer = context.getLocalProperty("spark.job.description")
            if outer is None:  # an action inside another action keeps the outer tag
                context.setJobDescription(f"{name} {site or '(not dmp)'}")
            try:
                return action(self, *args, **kwargs)
            finally:
                if outer is None:
                    context.setJobDescription(None)  # type: ignore[arg-type]

        return run

    for name in _ACTIONS:
        setattr(DataFrame, name, tagged(name, getattr(DataFrame, name)))


def summarise(log_dir: Path) -> list[dict[str, Any]]:
    """Per call site: jobs, stages listed and run, tasks and job seconds, from an event log."""
    jobs: dict[int, dict[str, Any]] = {}
    stages_run: dict[int, int] = {}
    # A rolling event log: events_1_<app>, events_2_<app>, ... in order.
    parts = sorted(log_dir.rglob("events_*"), key=lambda p: int(p.name.split("_")[1]))
    for path in parts:
        with path.open() as handle:
            for line in handle:
                event = json.loads(line)
                kind = event["Event"]
                if kind == "SparkListenerJobStart":
                    site = (event.get("Properties") or {}).get(
                        "spark.job.description", "(untagged)"
                    )
                    jobs[event["Job ID"]] = {
                        "site": site,
                        "start": event["Submission Time"],
                        "stages": event["Stage IDs"],
                    }
                elif kind == "SparkListenerJobEnd":
                    jobs[event["Job ID"]]["end"] = event["Completion Time"]
                elif kind == "SparkListenerStageCompleted":
                    info = event["Stage Info"]
                    stages_run[info["Stage ID"]] = info["Number of Tasks"]
    sites: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"jobs": 0, "seconds": 0.0, "stages": 0, "run": 0, "tasks": 0}
    )
    for job in jobs.values():
        row = sites[job["site"]]
        row["jobs"] += 1
        row["seconds"] += (job.get("end", job["start"]) - job["start"]) / 1000
        row["stages"] += len(job["stages"])
        ran = [s for s in job["stages"] if s in stages_run]
        row["run"] += len(ran)
        row["tasks"] += sum(stages_run[s] for s in ran)
    ordered = sorted(sites.items(), key=lambda item: -item[1]["seconds"])
    return [{"site": site, **row} for site, row in ordered]


def main() -> None:
    """Run the command, then print the per-call-site table and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="the data root")
    parser.add_argument("--conf", action="append", default=[], help="spark key=value")
    parser.add_argument("--top", type=int, default=25, help="call sites shown")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the dmp command")
    args = parser.parse_args()
    command = [a for a in args.command if a != "--"]
    if not command:
        parser.error("give the dmp command after --, e.g. -- identity")

    from dmp.cli import app
    from dmp.config import load_config
    from dmp.session import build_session

    log_dir = Path(tempfile.mkdtemp(prefix="dmp-eventlog-"))
    extra = {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": log_dir.as_uri(),
        "spark.eventLog.compress": "false",
    }
    extra.update(dict(item.split("=", 1) for item in args.conf))
    spark = build_session(load_config(home=args.home), app_name="dmp-spark-jobs", extra_conf=extra)
    tag_actions(spark)
    began = time.perf_counter()
    try:
        app(["--home", str(args.home), *command], standalone_mode=False)
    finally:
        elapsed = time.perf_counter() - began
        spark.stop()  # flushes the event log
    rows = summarise(log_dir)
    print(f"{'jobs':>5} {'seconds':>8} {'stages':>6} {'run':>5} {'tasks':>6}  call site")
    for row in rows[: args.top]:
        print(
            f"{row['jobs']:5d} {row['seconds']:8.2f} {row['stages']:6d} {row['run']:5d} "
            f"{row['tasks']:6d}  {row['site']}"
        )
    total = {k: sum(r[k] for r in rows) for k in ("jobs", "seconds", "run", "tasks")}
    print(
        f"command {elapsed:.1f}s: {total['jobs']} jobs ({total['seconds']:.1f}s), "
        f"{total['run']} stages run, {total['tasks']} tasks; event log {log_dir}"
    )


if __name__ == "__main__":
    main()
