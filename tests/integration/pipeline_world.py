"""A small world and configuration for running the scheduled pipeline end to end.

One conf/ copy sized for a few hundred people (smaller seed and audience minimums, one
audience exported to a channel with a holdout) is shared by the in-process runs and the
``spark-submit`` / ``python jobs/daily.py`` subprocesses (through ``DMP_CONF_DIR``), so
every run sees the same settings.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from dmp.config import Settings, load_config
from dmp.generate import WorldSpec, generate_world
from dmp.lake import Lake
from tests.conf_copy import copy_conf

ROOT = Path(__file__).resolve().parents[2]
SPEC = WorldSpec(users=400, days=8, seed=23, bad_share=0.01, partner_bad_share=0.01, workers=1)
DAYS = [SPEC.start_date + timedelta(days=n) for n in range(SPEC.days)]
AUDIENCE = "lal_pipeline"
CHANNEL = "email"

_OVERLAY = f"""
# --- test overlay: a 400-person world ---
lookalike:
  min_seed: 20
  bags: 3
  splits: 2
  evaluation_universe: 100
pipeline:
  audiences:
    - name: {AUDIENCE}
      segment: active_buyers
      method: ensemble
      channels: [{CHANNEL}]
      holdout: 0.1
"""


def make_conf(folder: Path) -> Path:
    """A copy of conf/ with the overlay above in ``local.yaml`` and small channel minimums."""
    conf = folder / "conf"
    if conf.exists():
        return conf
    return copy_conf(folder, overlay=_OVERLAY, min_audience=5)


def make_home(home: Path, conf: Path) -> Settings:
    """Generate the world under ``home`` and return its settings (nothing ingested yet).

    The planted truth is removed, as a real landing zone has none: the stages then skip
    their truth checks, which other tests cover.
    """
    generate_world(SPEC, home)
    shutil.rmtree(home / "truth")
    return settings_for(home, conf)


def settings_for(home: Path, conf: Path) -> Settings:
    """Settings of ``home`` with the test conf/, ignoring the caller's environment."""
    return load_config(home=home, conf_dir=conf, environ={})


def job_env(conf: Path) -> dict[str, str]:
    """Environment of a job subprocess: the test conf/, quiet telemetry, the venv's Python."""
    # DMP_SECRET stays: the jobs must key internal ids as this process does
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DMP_", "DMP__")) or k == "DMP_SECRET"
    }
    env.update(
        DMP_CONF_DIR=str(conf),
        DMP_ENV="local",
        GX_ANALYTICS_ENABLED="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    return env


# Columns that record when or by which run something was computed, not what it is.
VOLATILE = {
    "computed_at", "run_id", "model_run_id", "updated_at", "created_at", "exported_at",
    "ingested_at",  # wall-clock time of the ingest run
    "export_id",  # the export folder: a timestamp and a random suffix
}  # fmt: skip


def table_rows(
    lake: Lake, name: str, *, version: int | None = None, where: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """A table's rows (optionally at a version, filtered on equal values) in a stable order."""
    rows = lake.read_arrow(name, version=version).to_pylist()
    if where:
        rows = [r for r in rows if all(str(r[k]) == str(v) for k, v in where.items())]
    cleaned = [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]
    return sorted(cleaned, key=lambda r: repr(sorted(r.items(), key=lambda kv: kv[0])))


def assert_same(left: Any, right: Any, path: str = "") -> None:
    """Equal up to float rounding (different partitioning sums in a different order)."""
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) and math.isnan(right):
            return
        assert math.isclose(left, right, rel_tol=1e-6, abs_tol=1e-9), f"{path}: {left} != {right}"
    elif isinstance(left, dict) and isinstance(right, dict):
        assert left.keys() == right.keys(), f"{path}: keys {left.keys() ^ right.keys()}"
        for key in left:
            assert_same(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        assert len(left) == len(right), f"{path}: {len(left)} != {len(right)} items"
        for n, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{path}[{n}]")
    else:
        assert left == right, f"{path}: {left!r} != {right!r}"


def export_rows(settings: Settings, day: date) -> list[str]:
    """Every data row of the newest export of the pipeline audience for ``day``'s run."""
    channel_dir = settings.exports_dir / AUDIENCE / CHANNEL
    latest = sorted(p for p in channel_dir.iterdir() if p.is_dir())[-1]
    rows: list[str] = []
    for part in sorted(latest.glob("*.csv.gz")):
        with gzip.open(part, "rt") as handle:
            rows.extend(handle.read().splitlines()[1:])
    return sorted(rows)


def versions(lake: Lake) -> dict[str, int]:
    """Current version of every table outside ``ops/``."""
    return {t.name: t.version for t in lake.tables() if not t.name.startswith("ops/")}
