"""The pipeline lock: one holder at a time, stale locks detected and cleared, own lock only
removed by its holder."""

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
from dmp.pipeline.lock import LOCK_FILE, PipelineLocked, pipeline_lock


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


def test_nested_lock_in_the_same_process_is_refused(settings: Settings) -> None:
    with pipeline_lock(settings), pytest.raises(PipelineLocked), pipeline_lock(settings):
        pass


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
