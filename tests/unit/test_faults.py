"""Named commit points (dmp.faults): tracing, killing at the n-th occurrence, and the lake's
driver-side points (no Spark: delta-rs writes in a child process that is really SIGKILLed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from dmp import faults
from dmp.lake import Lake


def _child(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with only the given fault variables set."""
    clean = {k: v for k, v in os.environ.items() if k not in (faults.KILL_AT_ENV, faults.TRACE_ENV)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_kill_at_values_are_parsed_and_bad_ones_refused() -> None:
    assert faults.parse_kill_at("write.before@silver/profiles") == (
        "write.before@silver/profiles",
        1,
    )
    assert faults.parse_kill_at("erase.before@delete_gold/segments:3") == (
        "erase.before@delete_gold/segments",
        3,
    )
    for bad in (":2", "write.before:0", "write.before:x", ""):
        with pytest.raises(ValueError, match="DMP_KILL_AT"):
            faults.parse_kill_at(bad)


def test_point_names_have_no_colon_or_space() -> None:
    assert faults.point_name("erase.before", "delete silver/profiles") == (
        "erase.before@delete_silver/profiles"
    )
    assert faults.point_name("report.publish.before", "a: b") == "report.publish.before@a_b"
    assert faults.point_name("write.after") == "write.after"


def test_without_the_variables_a_point_does_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(faults.KILL_AT_ENV, raising=False)
    monkeypatch.delenv(faults.TRACE_ENV, raising=False)
    faults.reset()
    faults.commit_point("write.before", "bronze/events")
    assert not faults.armed("write.before@bronze/events")
    assert not faults._reached  # not even counted
    assert list(tmp_path.iterdir()) == []


def test_the_trace_lists_every_point_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "trace"
    monkeypatch.setenv(faults.TRACE_ENV, str(trace))
    monkeypatch.delenv(faults.KILL_AT_ENV, raising=False)
    faults.reset()
    for table in ("bronze/events", "bronze/quarantine", "bronze/events"):
        faults.commit_point("write.before", table)
    assert trace.read_text().splitlines() == [
        "write.before@bronze/events",
        "write.before@bronze/quarantine",
        "write.before@bronze/events",
    ]
    # Another point's name does not arm a kill.
    monkeypatch.setenv(faults.KILL_AT_ENV, "write.after@bronze/events")
    faults.commit_point("write.before", "bronze/events")
    faults.reset()


def test_the_process_is_sigkilled_at_the_nth_occurrence(tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    done = _child(
        """
        from dmp.faults import commit_point
        for n in range(1, 4):
            print("reached", n, flush=True)
            commit_point("write.after", "gold/segments")
            print("survived", n, flush=True)
        """,
        tmp_path,
        DMP_KILL_AT="write.after@gold/segments:2",
        DMP_FAULT_TRACE=str(trace),
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.split("\n")[:3] == ["reached 1", "survived 1", "reached 2"]
    assert "survived 2" not in done.stdout
    assert trace.read_text().splitlines() == ["write.after@gold/segments"] * 2


def test_kill_now_kills_the_driver_then_the_caller(tmp_path: Path) -> None:
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        done = _child(
            f"""
            from dmp.faults import kill_now
            kill_now({driver.pid})
            print("still here")
            """,
            tmp_path,
        )
        assert done.returncode == -signal.SIGKILL
        assert "still here" not in done.stdout
        assert driver.wait(timeout=30) == -signal.SIGKILL
    finally:
        if driver.poll() is None:
            driver.kill()


def _small_table(lake: Lake) -> None:
    lake.write_arrow(pa.table({"person_id": ["a", "b", "c"], "n": [1, 2, 3]}), "gold/things")


@pytest.mark.parametrize("point", ["delete.before", "delete.after"])
def test_a_delete_killed_at_its_commit_points_is_all_or_nothing(tmp_path: Path, point: str) -> None:
    lake = Lake(tmp_path / "lake")
    _small_table(lake)
    before = lake.version("gold/things")
    done = _child(
        f"""
        from dmp.lake import Lake
        Lake({str(tmp_path / "lake")!r}).delete("gold/things", "person_id = 'b'")
        """,
        tmp_path,
        DMP_KILL_AT=f"{point}@gold/things",
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    rows = sorted(lake.read_arrow("gold/things").column("person_id").to_pylist())
    if point == "delete.before":
        assert lake.version("gold/things") == before and rows == ["a", "b", "c"]
    else:
        assert lake.version("gold/things") == before + 1 and rows == ["a", "c"]


def test_a_purge_killed_half_way_is_completed_with_the_retention_restored(
    tmp_path: Path,
) -> None:
    """A purge lowers the log retention, cleans the log, then restores it. Killed after the
    lowering, a repeated purge used to 'restore' the lowered value: the table kept a log
    retention of zero for good."""
    lake = Lake(tmp_path / "lake")
    _small_table(lake)
    lake.write_arrow(pa.table({"person_id": ["d"], "n": [4]}), "gold/things")
    retention = "delta.logRetentionDuration"

    from deltalake import DeltaTable

    DeltaTable(str(lake.path("gold/things"))).alter.set_table_properties(
        {retention: "interval 14 days"}
    )
    done = _child(
        f"""
        from dmp.lake import Lake
        Lake({str(tmp_path / "lake")!r}).purge_history("gold/things")
        """,
        tmp_path,
        DMP_KILL_AT="purge.lowered@gold/things",
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    lowered = DeltaTable(str(lake.path("gold/things"))).metadata().configuration
    assert lowered[retention] == "interval 0 seconds"  # the kill left it lowered

    lake.purge_history("gold/things")
    configuration = DeltaTable(str(lake.path("gold/things"))).metadata().configuration
    assert configuration[retention] == "interval 14 days"
    assert sorted(lake.read_arrow("gold/things").column("person_id").to_pylist()) == [
        "a",
        "b",
        "c",
        "d",
    ]
    with pytest.raises(Exception, match=r"(?i)version|not found|log"):
        lake.read_arrow("gold/things", version=0)


def test_an_erasure_suppress_step_repeated_after_a_kill_adds_nobody_twice(
    tmp_path: Path,
) -> None:
    """Erasure's suppress step killed after its commit and before its journal entry runs
    again on resume; the suppression list used to get every identifier twice."""
    from dmp.export.suppression import add_to_suppression
    from dmp.runlog import Run
    from dmp.tables import SUPPRESSION_TABLE

    lake = Lake(tmp_path / "lake")
    entries = [("user_id", "u-1"), ("email_sha256", "ab" * 32), ("person_id", "p-1")]
    assert add_to_suppression(Run("erase", lake), entries, reason="erased") == 3
    assert add_to_suppression(Run("erase", lake), entries[1:], reason="erased") == 0
    assert add_to_suppression(Run("erase", lake), [("user_id", "u-2")], reason="erased") == 1
    keys = lake.read_arrow(SUPPRESSION_TABLE, columns=["id_type", "id_value"]).to_pylist()
    assert sorted((k["id_type"], k["id_value"]) for k in keys) == sorted(
        [*entries, ("user_id", "u-2")]
    )
