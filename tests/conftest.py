"""Shared test fixtures: one tuned Spark session for the whole run, test-tier markers."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from tests.privacy_key import TEST_SECRET

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# Keyed internal ids must not depend on the machine's secret file (tests/privacy_key.py).
os.environ["DMP_SECRET"] = TEST_SECRET

# Property tests: no per-example deadline (tests never assert timings; a loaded machine made
# them flaky) and the same examples on every run, so CI's verdict does not depend on luck.
# HYPOTHESIS_PROFILE=explore draws new examples each run: use it to hunt for bugs.
hypothesis_settings.register_profile("dmp", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", deadline=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dmp"))

_TIERS = {"spark": "spark", "integration": "integration"}
logging.getLogger("DataFrameQueryContextLogger").setLevel(logging.CRITICAL)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by tier from their folder (tests/spark, tests/integration)."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for folder, marker in _TIERS.items():
            if folder in parts:
                item.add_marker(getattr(pytest.mark, marker))
        if "integration" in parts:
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data root of the shared session (checkpoints, spark-local)."""
    return tmp_path_factory.mktemp("spark-home")


@pytest.fixture(scope="session")
def spark(spark_home: Path) -> Iterator[object]:
    """The one Spark session of the test run: local[2], 2 shuffle partitions, UI off, UTC, 5g.

    Adaptive query execution stays on, as in production: on the suite's tiny tables it
    skips empty joins and plans broadcasts from real sizes, so a stage run launches far
    fewer Spark jobs (a 3-run identity test: 563 jobs, 3,007 tasks and 125 s with it off;
    295 jobs, 350 tasks and 61 s with it on).
    """
    from dmp.config import load_config
    from dmp.session import build_session

    settings = load_config(home=spark_home, environ={})
    session = build_session(
        settings,
        app_name="dmp-tests",
        extra_conf={
            "spark.master": "local[2]",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            "spark.sql.adaptive.enabled": "true",
            "spark.driver.memory": "5g",
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="module", autouse=True)
def _release_spark_memory() -> Iterator[None]:
    """After a module: unpersist RDDs left persisted, and let the JVM's cleaner run.

    Broadcast blocks, shuffle files and RDDs persisted inside Spark's own algorithms
    (ALS) are freed only once the JVM garbage-collects their handles; in one session that
    runs the whole suite they would otherwise pile up in storage memory, which execution
    cannot evict below half of the pool.
    """
    yield
    if "pyspark" not in sys.modules:
        return
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        return
    context = session.sparkContext
    for rdd in context._jsc.getPersistentRDDs().values():
        rdd.unpersist()
    context._jvm.System.gc()


@pytest.fixture(autouse=True)
def _reset_spark(request: pytest.FixtureRequest) -> Iterator[None]:
    """Drop cached data and temp views a Spark test left behind."""
    yield
    if "spark" in request.fixturenames:
        session = request.getfixturevalue("spark")
        session.catalog.clearCache()
        for table in session.catalog.listTables():
            if table.isTemporary:
                session.catalog.dropTempView(table.name)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium for the report checks (``tests/browser.py``); skips without one."""
    from tests.browser import Browser, find_chromium

    if find_chromium() is None:
        pytest.skip("chromium is not installed: run scripts/ensure_browser.sh (root + apt-get)")
    with Browser() as started:
        yield started


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This test's screenshot folder: ``<pytest basetemp>/screenshots/<test name>``."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    folder = tmp_path_factory.getbasetemp() / "screenshots" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
