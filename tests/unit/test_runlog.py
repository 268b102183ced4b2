"""The stage driver records every run in ops/runs with its status, versions and counts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dmp.config import load_config
from dmp.driver import execute
from dmp.errors import DmpError, GateFailed, UserError
from dmp.lake import Lake
from dmp.runlog import Run, recent_runs


@dataclass
class _Result:
    rows: int

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows}


def test_runs_are_recorded_with_status_versions_and_counts(tmp_path: Path) -> None:
    settings = load_config(home=tmp_path, environ={})

    def stage(spark: None, run: Run) -> _Result:
        result = run.write_arrow(pa.table({"x": [1, 2, 3]}), "silver/numbers")
        run.count("read", 3)
        return _Result(result.rows)

    def gate(spark: None, run: Run) -> _Result:
        raise GateFailed("bronze gate: 2 expectations failed")

    def mistake(spark: None, run: Run) -> _Result:
        raise UserError("no such date")

    def crash(spark: None, run: Run) -> _Result:
        raise ZeroDivisionError("division by zero")

    assert (
        execute("numbers", stage, settings, params={"day": "2024-01-01"}, needs_spark=False).rows
        == 3
    )
    with pytest.raises(GateFailed):
        execute("gate", gate, settings, needs_spark=False)
    with pytest.raises(UserError):
        execute("mistake", mistake, settings, needs_spark=False)
    with pytest.raises(DmpError, match="crash failed: ZeroDivisionError"):
        execute("crash", crash, settings, needs_spark=False)

    runs = recent_runs(Lake(settings.lake_dir))
    by_job = {r["job"]: r for r in runs}
    assert by_job["numbers"]["status"] == "succeeded"
    assert by_job["numbers"]["outputs"] == {"silver/numbers": 0}
    assert by_job["numbers"]["counts"]["read"] == 3
    assert by_job["numbers"]["params"] == {"day": "2024-01-01"}
    assert by_job["gate"]["status"] == "gate_failed"
    assert "2 expectations failed" in by_job["gate"]["message"]
    assert by_job["mistake"]["status"] == "failed"
    assert by_job["crash"]["status"] == "failed"
    assert [r["job"] for r in recent_runs(Lake(settings.lake_dir), jobs=["gate"])] == ["gate"]
