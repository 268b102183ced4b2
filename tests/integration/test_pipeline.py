"""The scheduled pipeline end to end: consecutive dates, a backfill, re-runs, ``dmp runs``,
the daily job submitted to a loopback standalone cluster, and a run killed with SIGKILL in
the middle of a table write.

Home A is the reference: its first date is submitted with ``spark-submit`` to a standalone
master with two workers (executors are separate processes), the next two dates run in this
process. Home B holds the same generated world: its first date runs in this process and
must equal A's cluster run; its second date is killed mid-write, resumed, and must equal
A's uninterrupted run. A's tables are read at the versions each date left (time travel).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dmp.config import Settings
from dmp.lake import Lake
from dmp.pipeline import PipelineLocked, run_pipeline
from dmp.pipeline.lock import LOCK_FILE
from dmp.pipeline.runner import StepOutcome
from dmp.runlog import RunStatus, recent_runs
from tests.integration.pipeline_world import (
    DAYS,
    ROOT,
    export_rows,
    job_env,
    make_conf,
    make_home,
    table_rows,
    versions,
)

# Whole jobs in subprocesses (a standalone cluster, kill -9, the daily job): `make test-all`.
pytestmark = pytest.mark.system

D0, D1, D2, D3 = DAYS[-4:]
# Tables whose content a date's run determines; compared between homes.
COMPARED = [
    ("bronze/events", None),
    ("bronze/quarantine", None),
    ("silver/identity_map", None),
    ("silver/profiles", "as_of"),
    ("gold/segments", "as_of"),
    ("gold/audiences", "as_of"),
    ("gold/export_members", "as_of"),
]


@dataclass
class Reference:
    """Home A after each date of the in-process pipeline."""

    settings: Settings
    conf: Path
    results: dict[date, list[StepOutcome]] = field(default_factory=dict)
    cluster: dict[str, Any] = field(default_factory=dict)
    versions: dict[date, dict[str, int]] = field(default_factory=dict)
    exports: dict[date, list[str]] = field(default_factory=dict)

    @property
    def lake(self) -> Lake:
        return Lake(self.settings.lake_dir)


@pytest.fixture(scope="module")
def conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_conf(tmp_path_factory.mktemp("pipeline-conf"))


@pytest.fixture(scope="module")
def reference(spark: Any, conf: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Home A: the first date on the standalone cluster, the next two in this process."""
    folder = tmp_path_factory.mktemp("pipeline-a")
    settings = make_home(folder / "home", conf)
    ref = Reference(settings, conf)
    ref.cluster = _submit_to_cluster(settings, conf, folder)
    ref.results[D1] = _results_of_last_pipeline(ref.lake, D1)
    ref.versions[D1] = versions(ref.lake)
    ref.exports[D1] = export_rows(settings, D1)
    for day in (D2, D3):
        ref.results[day] = run_pipeline(settings, [day]).steps
        ref.versions[day] = versions(ref.lake)
        ref.exports[day] = export_rows(settings, day)
    return ref


@pytest.fixture(scope="module")
def local_home(spark: Any, conf: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Home B: the same world, its first date run in this process."""
    settings = make_home(tmp_path_factory.mktemp("pipeline-b") / "home", conf)
    run_pipeline(settings, [D1])
    return settings


def _results_of_last_pipeline(lake: Lake, day: date) -> list[StepOutcome]:
    """The steps a pipeline run recorded in ops/runs (for a run made by another process)."""
    runs = recent_runs(lake, limit=100)
    pipeline_id = runs[0]["pipeline_run_id"]
    mine = [r for r in runs if r["pipeline_run_id"] == pipeline_id][::-1]
    return [StepOutcome(day, r["job"], r["status"]) for r in mine]


def _same_tables(home: Settings, ref: Reference, day: date) -> None:
    """Home's current tables equal the reference's tables as they were after ``day``."""
    from tests.integration.pipeline_world import assert_same

    lake = Lake(home.lake_dir)
    for name, by_date in COMPARED:
        where = {by_date: day} if by_date else None
        mine = table_rows(lake, name, where=where)
        theirs = table_rows(ref.lake, name, version=ref.versions[day][name], where=where)
        assert mine, f"{name} is empty for {day}"
        assert len(mine) == len(theirs), f"{name}: {len(mine)} rows != {len(theirs)}"
        assert_same(mine, theirs, name)
    assert export_rows(home, day) == ref.exports[day]


def test_each_date_runs_every_stage_and_keeps_per_date_snapshots(reference: Reference) -> None:
    for day in (D1, D2, D3):
        steps = reference.results[day]
        assert all(s.status == RunStatus.SUCCEEDED for s in steps), steps
        assert [s.step.split(" ")[0] for s in steps] == [
            "ingest",
            "identity",
            "profiles",
            "segments",
            "funnels",
            "lookalike",
            "export",
            "optimize",
        ], steps
    lake = reference.lake
    for name in ("silver/profiles", "gold/segments", "gold/audiences"):
        assert {D1.isoformat(), D2.isoformat(), D3.isoformat()} <= set(
            lake.partition_values(name, "as_of")
        ), name
    # Each date ingested only the files landed up to it: events grow day by day.
    counts = [
        lake.count("bronze/events", version=reference.versions[d]["bronze/events"])
        for d in (D1, D2, D3)
    ]
    assert counts[0] < counts[1] < counts[2], counts


def test_rerunning_completed_dates_changes_no_table(reference: Reference) -> None:
    before = versions(reference.lake)
    again = run_pipeline(reference.settings, [D1, D2, D3])
    assert {s.status for s in again.steps} == {RunStatus.SKIPPED}, again.summary()
    assert versions(reference.lake) == before
    # Every table of the last date is also still what that date's run wrote.
    assert before == reference.versions[D3]


def test_backfill_from_the_command_line(
    reference: Reference, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dmp.cli import main

    monkeypatch.setenv("DMP_CONF_DIR", str(reference.conf))
    home = str(reference.settings.home)
    backfill = ["pipeline", "run", "--from", D0.isoformat(), "--to", D1.isoformat()]
    code = main([*backfill, "--home", home])
    assert code == 0, capsys.readouterr()
    lake = reference.lake
    assert D0.isoformat() in lake.partition_values("silver/profiles", "as_of")
    assert D0.isoformat() in lake.partition_values("gold/audiences", "as_of")
    backfilled = [r for r in recent_runs(lake, limit=40) if r["params"].get("as_of") == f'"{D0}"']
    assert {r["job"] for r in backfilled} >= {"profiles", "segments", "lookalike", "export"}
    # Nothing new was landed, so ingest and identity had nothing to do, and D1 was complete.
    shown = capsys.readouterr().out
    assert f"{D1} profiles" in shown and "skipped" in shown

    assert main(["runs", "--limit", "60", "--home", home]) == 0
    table = capsys.readouterr().out
    for job in ("ingest", "identity", "profiles", "segments", "lookalike", "export"):
        assert job in table
    assert "silver/profiles@" in table and "gold/audiences@" in table


def test_usage_errors_exit_2(reference: Reference) -> None:
    from dmp.cli import main

    home = str(reference.settings.home)
    assert main(["pipeline", "run", "--home", home]) == 2
    backwards = ["--from", "2026-01-05", "--to", "2026-01-01"]
    assert main(["pipeline", "run", *backwards, "--home", home]) == 2
    assert main(["pipeline", "run", "--date", "yesterday", "--home", home]) == 2


def test_a_held_lock_refuses_a_second_pipeline(reference: Reference) -> None:
    import socket

    lock = reference.settings.work_dir / LOCK_FILE
    holder = {"pid": os.getppid(), "host": socket.gethostname(), "started": "2026-01-01T00:00:00"}
    lock.write_text(json.dumps(holder))
    try:
        before = versions(reference.lake)
        with pytest.raises(PipelineLocked, match="another dmp run holds the lake lock"):
            run_pipeline(reference.settings, [D3])
        assert versions(reference.lake) == before
    finally:
        lock.unlink()


def _cluster(action: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        DMP_CLUSTER_DIR=str(state),
        SPARK_MASTER_PORT="17077",
        SPARK_MASTER_WEBUI_PORT="18080",
    )
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "cluster.sh"), action],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _submit_to_cluster(settings: Settings, conf: Path, folder: Path) -> dict[str, Any]:
    """``spark-submit jobs/daily.py`` for D1 to a fresh loopback cluster; the master's view."""
    import pyspark

    state = folder / "cluster"
    up = _cluster("up", state)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
        command = [str(submit), "--master", "spark://127.0.0.1:17077"]
        command += ["--conf", f"spark.pyspark.python={sys.executable}"]
        command += ["--conf", "spark.executor.memory=1g", str(ROOT / "jobs" / "daily.py")]
        command += ["--date", D1.isoformat(), "--home", str(settings.home)]
        done = subprocess.run(
            command,
            env=job_env(conf),
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        with urllib.request.urlopen("http://127.0.0.1:18080/json/", timeout=5) as response:
            master: dict[str, Any] = json.load(response)
        master["executor_dirs"] = sorted((state / "work").glob("worker-*/app-*/*"))
        return master
    finally:
        down = _cluster("down", state)
        assert down.returncode == 0, down.stderr


def test_daily_job_on_a_standalone_cluster_equals_the_local_run(
    reference: Reference, local_home: Settings
) -> None:
    master = reference.cluster
    apps = master["completedapps"] + master["activeapps"]
    assert [a["name"] for a in apps] == ["dmp"], apps
    assert sum(1 for w in master["workers"] if w["state"] == "ALIVE") == 2
    # Executors ran as separate processes under both workers (each keeps a folder per
    # executor of the app, with its logs).
    executors = master["executor_dirs"]
    assert len(executors) >= 2 and {d.parts[-3] for d in executors} == {"worker-1", "worker-2"}
    _same_tables(local_home, reference, D1)


# Data-source commits run in a Python worker the JVM starts, not in the driver's interpreter:
# a sitecustomize on PYTHONPATH (inherited by the JVM and its Python workers) makes the commit
# of one table signal and hang, so the test can SIGKILL the whole job at that moment.
_HANG_COMMIT = textwrap.dedent(
    """
    import os

    if os.environ.get("DMP_TEST_HANG_COMMIT_OF"):
        import time
        from pathlib import Path

        import dmp.lake._source as source

        target = os.environ["DMP_TEST_HANG_COMMIT_OF"]
        marker = Path(os.environ["DMP_TEST_HANG_MARKER"])
        original = source.commit_files

        def commit_then_hang(request, files):
            if request.table_root.rstrip("/").endswith(target):
                # Files are written, the commit has not happened: signal, wait to be killed.
                marker.write_text(str(len(files)))
                time.sleep(600)
            return original(request, files)

        source.commit_files = commit_then_hang
    """
)


def test_kill_9_mid_write_leaves_previous_versions_and_a_rerun_completes(
    spark: Any, reference: Reference, local_home: Settings, tmp_path: Path
) -> None:
    home = local_home
    lake = Lake(home.lake_dir)
    before = versions(lake)
    profiles_rows = lake.count("silver/profiles")

    marker = tmp_path / "writing"
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_HANG_COMMIT)
    env = job_env(reference.conf)
    env.update(
        DMP_TEST_HANG_COMMIT_OF="silver/profiles",
        DMP_TEST_HANG_MARKER=str(marker),
        PYTHONPATH=os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH")) if p),
    )
    command = [sys.executable, str(ROOT / "jobs" / "daily.py")]
    command += ["--date", D2.isoformat(), "--home", str(home.home)]
    log = tmp_path / "job.log"
    with log.open("wb") as output:
        job = subprocess.Popen(
            command,
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 600
        while not marker.exists():
            assert job.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the pipeline never reached the profiles write"
            time.sleep(0.2)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(timeout=60)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode == -signal.SIGKILL
    assert int(marker.read_text()) > 0  # data files of the write were on disk

    after_kill = versions(lake)
    # The table being written is at its previous version with its previous rows; tables
    # committed before the kill (ingest, identity of D2) moved on; nothing else changed.
    assert after_kill["silver/profiles"] == before["silver/profiles"]
    assert lake.count("silver/profiles") == profiles_rows
    assert D2.isoformat() not in lake.partition_values("silver/profiles", "as_of")
    for name in ("gold/segments", "gold/audiences", "gold/export_members"):
        assert after_kill[name] == before[name], name
    lock = home.work_dir / LOCK_FILE
    assert lock.exists()  # left behind by the killed run: stale

    resumed = run_pipeline(home, [D2])
    statuses = {s.step: s.status for s in resumed.steps}
    assert statuses["ingest"] == RunStatus.SKIPPED
    assert statuses["identity"] == RunStatus.SKIPPED
    assert statuses["profiles"] == RunStatus.SUCCEEDED
    assert not lock.exists()
    _same_tables(home, reference, D2)
