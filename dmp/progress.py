"""Progress of long stages: a heartbeat that logs what Spark is doing while a stage runs.

A stage over tens of millions of events runs for many minutes between two log lines of its
own. :class:`SparkProgress` polls Spark's status tracker from a daemon thread and logs, every
``spark.progress_seconds``, the elapsed time and the tasks done in the running Spark stages,
or that the driver itself is busy (quality gates, model fitting). Nothing is logged for
stages shorter than one interval.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["SparkProgress"]

_log = logging.getLogger("dmp")


class SparkProgress:
    """Context manager: log Spark task progress of ``job`` every ``every`` seconds.

    Args:
        spark: The session whose jobs to watch.
        job: Stage name, the prefix of every line.
        every: Seconds between two lines; ``0`` turns the heartbeat off.
    """

    def __init__(self, spark: SparkSession, job: str, every: float) -> None:
        self._spark = spark
        self._job = job
        self._every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self.lines: list[str] = []
        """The lines logged so far (also kept for callers and tests)."""

    def __enter__(self) -> SparkProgress:
        self._started = time.perf_counter()
        if self._every > 0:
            self._thread = threading.Thread(
                target=self._loop, name=f"dmp-progress-{self._job}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                line = self.describe()
            except Exception as error:  # the session may be stopping
                _log.debug("%s: no progress available (%s)", self._job, error)
                continue
            if not self._stop.is_set():
                self.lines.append(line)
                _log.info("%s", line)

    def describe(self) -> str:
        """One line: elapsed time and the tasks of the Spark stages running now."""
        elapsed = _duration(time.perf_counter() - self._started)
        tracker = self._spark.sparkContext.statusTracker()
        infos = [tracker.getStageInfo(stage) for stage in tracker.getActiveStageIds()]
        stages = [info for info in infos if info is not None]
        if not stages:
            return f"{self._job}: {elapsed} elapsed, working on the driver"
        total = sum(info.numTasks for info in stages)
        done = sum(info.numCompletedTasks for info in stages)
        running = sum(info.numActiveTasks for info in stages)
        failed = sum(info.numFailedTasks for info in stages)
        ids = ", ".join(str(info.stageId) for info in sorted(stages, key=lambda s: s.stageId))
        noun = "stage" if len(stages) == 1 else "stages"
        retried = f", {failed} failed and retried" if failed else ""
        return (
            f"{self._job}: {elapsed} elapsed, Spark {noun} {ids}: "
            f"{done}/{total} tasks done, {running} running{retried}"
        )


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``1h02m``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
