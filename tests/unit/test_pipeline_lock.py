"""The lake lock: one writing process at a time, re-entrant within it, every stage run
through it, stale locks detected and cleared by one process only, a heartbeat during long
steps, own lock only removed by its holder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dmp.config import Settings, load_config
from dmp.pipeline.lock import LOCK_FILE, LakeLocked, PipelineLocked, lake_lock, pipeline_lock


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_config(home=tmp_path, environ={})


def _lock(settings: Settings) -> Path:
    return settings.work_dir / LOCK_FILE


def _plant(settings: Settings, **holder: object) -> Path:
    path = _lock(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(holder))
    return path


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_lock_is_taken_written_and_released(settings: Settings) -> None:
    with pipeline_lock(settings) as touch:
        holder = json.loads(_lock(settings).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        os.utime(_lock(settings), (0, 0))
        touch()  # the heartbeat refreshes the lock's mtime
        assert time.time() - _lock(settings).stat().st_mtime < 60
    assert not _lock(settings).exists()


def test_a_live_holder_refuses_a_second_pipeline(settings: Settings) -> None:
    path = _plant(settings, pid=os.getppid(), host=socket.gethostname(), started="x")
    with pytest.raises(PipelineLocked, match=f"pid {os.getppid()}"), pipeline_lock(settings):
        pass
    assert json.loads(path.read_text())["pid"] == os.getppid()  # left alone


def test_the_lock_is_reentrant_within_its_process(settings: Settings) -> None:
    # The pipeline holds it around the stages, and each stage takes it again.
    with pipeline_lock(settings):
        with pipeline_lock(settings, job="ingest"):
            assert json.loads(_lock(settings).read_text())["job"] == "pipeline"
        assert _lock(settings).exists()  # the inner exit does not release the outer hold
    assert not _lock(settings).exists()


def test_a_lock_of_a_dead_process_on_this_host_is_cleared(settings: Settings) -> None:
    _plant(settings, pid=_dead_pid(), host=socket.gethostname(), started="x")
    with pipeline_lock(settings):
        assert json.loads(_lock(settings).read_text())["pid"] == os.getpid()
    assert not _lock(settings).exists()


def test_another_hosts_lock_is_stale_only_when_not_refreshed(settings: Settings) -> None:
    path = _plant(settings, pid=1, host="elsewhere.example", started="x")
    with pytest.raises(PipelineLocked), pipeline_lock(settings):
        pass
    old = time.time() - 7 * 3600  # default stale_lock_hours is 6
    os.utime(path, (old, old))
    with pipeline_lock(settings):
        assert json.loads(path.read_text())["host"] == socket.gethostname()


def test_an_unreadable_lock_file_from_a_crash_is_treated_by_age(settings: Settings) -> None:
    path = _lock(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{trunc")
    with pytest.raises(PipelineLocked), pipeline_lock(settings):
        pass
    old = time.time() - 7 * 3600
    os.utime(path, (old, old))
    with pipeline_lock(settings):
        pass


def test_a_lock_taken_over_by_another_run_is_not_removed(settings: Settings) -> None:
    with pipeline_lock(settings):
        _plant(settings, pid=12345, host="elsewhere.example", started="y")
    assert json.loads(_lock(settings).read_text())["pid"] == 12345


def test_the_heartbeat_refreshes_the_lock_during_a_long_step(settings: Settings) -> None:
    with lake_lock(settings.work_dir, job="profiles", stale_hours=6, heartbeat_seconds=0.05):
        os.utime(_lock(settings), (0, 0))  # as if the step had run for hours without a beat
        deadline = time.time() + 5
        while _lock(settings).stat().st_mtime == 0 and time.time() < deadline:
            time.sleep(0.02)
        assert time.time() - _lock(settings).stat().st_mtime < 60


def test_every_stage_run_takes_the_lock_before_any_work(settings: Settings) -> None:
    from dmp.driver import execute

    _plant(settings, job="identity", pid=os.getppid(), host=socket.gethostname(), started="t0")
    ran: list[bool] = []

    def stage(spark: object, run: object) -> None:
        ran.append(True)

    with pytest.raises(LakeLocked, match=rf"\(identity, pid {os.getppid()} on "):
        execute("erase", stage, settings, needs_spark=False)
    assert not ran  # refused before the stage (and before Spark or the run log)
    assert not (settings.lake_dir / "ops").exists()


def test_a_writing_command_is_refused_in_one_line(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from dmp.cli import main

    _plant(settings, job="identity", pid=os.getppid(), host=socket.gethostname(), started="t0")
    code = main(["erase", "--email", "jane@example.com", "--home", str(settings.home)])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.count("\n") == 0 and "another dmp run holds the lake lock" in err
    assert "identity" in err and "jane" not in err


def test_two_clearers_of_one_stale_lock_never_both_hold_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both racers read the same stale holder before either clears it (a barrier forces the
    interleaving): only one may end up holding the lock."""
    import threading

    from dmp.pipeline import lock as lock_module

    _plant(settings, job="ingest", pid=_dead_pid(), host=socket.gethostname(), started="x")
    barrier = threading.Barrier(2, timeout=10)
    first_look: set[int] = set()
    is_stale = lock_module._is_stale

    def stale_after_both_looked(path: Path, holder: object, hours: float) -> bool:
        if threading.get_ident() not in first_look:
            first_look.add(threading.get_ident())
            barrier.wait()
        return is_stale(path, holder, hours)  # type: ignore[arg-type]

    monkeypatch.setattr(lock_module, "_is_stale", stale_after_both_looked)
    outcomes: list[str] = []

    def race(name: str) -> None:
        mine = {"job": name, "pid": os.getpid(), "host": socket.gethostname(), "started": name}
        try:
            lock_module._acquire(_lock(settings).resolve(), mine, 6)
            outcomes.append("held")
        except LakeLocked:
            outcomes.append("refused")

    racers = [threading.Thread(target=race, args=(f"racer{n}",)) for n in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=30)
    assert sorted(outcomes) == ["held", "refused"]
