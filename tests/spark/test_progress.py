"""The progress heartbeat of long stages reports real Spark task counts."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dmp.config import load_config
from dmp.driver import execute
from dmp.progress import SparkProgress, _duration
from dmp.runlog import Run


def _slow_count(spark: Any, partitions: int, seconds: float) -> int:
    """A Spark job whose tasks each sleep ``seconds``."""

    def sleepy(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            time.sleep(seconds)
            yield batch

    frame = spark.range(0, partitions * 10, numPartitions=partitions)
    return int(frame.mapInPandas(sleepy, "id long").count())


def test_running_tasks_are_reported_with_their_stage(spark: Any) -> None:
    with SparkProgress(spark, "slow", every=0.4) as watch:
        assert _slow_count(spark, partitions=4, seconds=1.5) == 40
    pattern = re.compile(
        r"^slow: \d+s elapsed, Spark stage \d+: ([0-4])/4 tasks done, (\d) running$"
    )
    matches = [pattern.match(line) for line in watch.lines]
    assert any(matches), watch.lines
    done = [int(m.group(1)) for m in matches if m]
    assert done == sorted(done), "task counts only grow"
    # the tracker may count a task as running a moment after it ended: bound by the stage
    assert all(int(m.group(2)) <= 4 for m in matches if m)


def test_driver_work_and_quiet_stages(spark: Any) -> None:
    with SparkProgress(spark, "fit", every=0.2) as watch:
        time.sleep(0.7)
    assert watch.lines and all(
        re.fullmatch(r"fit: \d+s elapsed, working on the driver", line) for line in watch.lines
    ), watch.lines
    with SparkProgress(spark, "quick", every=30) as quiet:
        spark.range(3).count()
    assert quiet.lines == []
    with SparkProgress(spark, "off", every=0) as off:
        time.sleep(0.3)
    assert off.lines == []


def test_execute_logs_progress_of_a_long_stage(
    spark: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_config(home=tmp_path, environ={})
    settings = settings.model_copy(
        update={"spark": settings.spark.model_copy(update={"progress_seconds": 0.4})}
    )

    def stage(session: Any, run: Run) -> int:
        return _slow_count(session, partitions=2, seconds=1.2)

    with caplog.at_level(logging.INFO, logger="dmp"):
        assert execute("slowstage", stage, settings, spark=spark) == 20
    assert any(
        "slowstage:" in r.getMessage() and "tasks done" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.4, "0s"), (59.9, "59s"), (185, "3m05s"), (3720, "1h02m")]
)
def test_durations_read_naturally(seconds: float, shown: str) -> None:
    assert _duration(seconds) == shown
