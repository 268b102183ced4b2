"""The lake lock: one writing process at a time per data root.

Every command that writes (each stage run through :func:`dmp.driver.execute`, and the
pipeline around its stages) holds ``work/lake.lock``. The lock file names its holder (job,
pid, host, start). Within the holding process the lock is re-entrant, so the pipeline can
hold it around the stages it runs.

Stale locks are cleared: a lock whose process is gone (same host), or that has not been
refreshed for ``stale_lock_hours`` (another host). A heartbeat thread refreshes the lock
every ``heartbeat_seconds`` while it is held, so a long step never looks stale. Clearing a
stale lock is itself serialised by a short-lived ``lake.lock.break`` file, and the holder is
re-read under it, so two processes that find the same stale lock cannot both take it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dmp.config import Settings
from dmp.errors import DmpError

LOCK_FILE = "lake.lock"
BREAK_SUFFIX = ".break"
HEARTBEAT_SECONDS = 60.0
_BREAK_STALE_SECONDS = 30.0  # a break file older than this was left by a killed clearer
_log = logging.getLogger("dmp")

# Locks this process holds: path -> depth (re-entrant within the process).
_held: dict[Path, int] = {}
_held_guard = threading.Lock()


class LakeLocked(DmpError):
    """Another process is writing the same lake."""

    exit_code = 1


PipelineLocked = LakeLocked  # the name before every writing command took the lock


@contextmanager
def lake_lock(
    work_dir: Path,
    *,
    job: str,
    stale_hours: float,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> Iterator[Callable[[], None]]:
    """Hold the lake lock for ``job``; yields a function that refreshes it.

    Args:
        work_dir: The data root's ``work/`` folder (the lock lives there).
        job: What is writing, named in the refusal other processes get.
        stale_hours: A lock of another host not refreshed for this long is stale.
        heartbeat_seconds: How often the background heartbeat refreshes the lock.

    Raises:
        LakeLocked: Another live process holds the lock.
    """
    path = (work_dir / LOCK_FILE).resolve()
    with _held_guard:
        depth = _held.get(path, 0)
        if depth:
            _held[path] = depth + 1
    if depth:
        try:
            yield lambda: _touch(path)
        finally:
            with _held_guard:
                _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    mine = {"job": job, "pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    _acquire(path, mine, stale_hours)
    with _held_guard:
        _held[path] = 1
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(path, stop, heartbeat_seconds), name="dmp-lake-lock", daemon=True
    )
    beat.start()
    try:
        yield lambda: _touch(path)
    finally:
        stop.set()
        beat.join()
        with _held_guard:
            _held.pop(path, None)
        if _same_holder(_read_lock(path), mine):
            path.unlink(missing_ok=True)


@contextmanager
def pipeline_lock(settings: Settings, job: str = "pipeline") -> Iterator[Callable[[], None]]:
    """:func:`lake_lock` with the data root and staleness of ``settings``."""
    with lake_lock(
        settings.work_dir, job=job, stale_hours=settings.pipeline.stale_lock_hours
    ) as touch:
        yield touch


def _acquire(path: Path, mine: Mapping[str, Any], stale_hours: float) -> None:
    for _ in range(3):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_lock(path)
            if _is_stale(path, holder, stale_hours) and _clear_stale(path, holder, stale_hours):
                continue
            holder = _read_lock(path) or holder
            raise LakeLocked(_refusal(path, holder)) from None
        with os.fdopen(descriptor, "w") as handle:
            json.dump(mine, handle)
        return
    raise LakeLocked(f"could not take {path}: other processes keep taking it; try again later")


def _clear_stale(path: Path, seen: Mapping[str, Any], stale_hours: float) -> bool:
    """Remove the stale lock ``seen`` unless someone else cleared or re-took it first.

    Returns True when the caller should try to take the lock again.
    """
    breaker = path.with_name(path.name + BREAK_SUFFIX)
    try:
        descriptor = os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            if time.time() - breaker.stat().st_mtime > _BREAK_STALE_SECONDS:
                breaker.unlink(missing_ok=True)  # left by a clearer that was killed
        except FileNotFoundError:
            pass
        return True  # another process is clearing it: try again (and probably be refused)
    os.close(descriptor)
    try:
        current = _read_lock(path)
        if not path.exists():
            return True
        if current != seen or not _is_stale(path, current, stale_hours):
            return True  # replaced by a live holder since we looked
        _log.warning("clearing a stale lake lock left by %s", _describe(current))
        path.unlink(missing_ok=True)
        return True
    finally:
        breaker.unlink(missing_ok=True)


def _heartbeat(path: Path, stop: threading.Event, seconds: float) -> None:
    while not stop.wait(seconds):
        _touch(path)


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except FileNotFoundError:  # pragma: no cover - removed under us by hand
        _log.warning("the lake lock %s disappeared while held", path)


def _refusal(path: Path, holder: Mapping[str, Any]) -> str:
    return (
        f"another dmp run holds the lake lock {path} ({_describe(holder)}); "
        "try again when it has finished"
    )


def _describe(holder: Mapping[str, Any]) -> str:
    if not holder:
        return "holder unreadable"
    job = holder.get("job", "pipeline")
    return f"{job}, pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}"


def _same_holder(holder: Mapping[str, Any], mine: Mapping[str, Any]) -> bool:
    return all(holder.get(key) == mine[key] for key in ("pid", "host", "started"))


def _read_lock(path: Path) -> Mapping[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _is_stale(path: Path, holder: Mapping[str, Any], stale_hours: float) -> bool:
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        try:
            os.kill(holder["pid"], 0)
        except ProcessLookupError:
            return True  # the process that took it is gone
        except PermissionError:
            return False
        return False
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return True
    return age > timedelta(hours=stale_hours).total_seconds()
