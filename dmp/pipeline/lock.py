"""The pipeline lock: one pipeline at a time per lake, stale locks detected and cleared."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dmp.config import Settings
from dmp.errors import DmpError

LOCK_FILE = "pipeline.lock"
_log = logging.getLogger("dmp")


class PipelineLocked(DmpError):
    """Another pipeline is writing the same lake."""

    exit_code = 1


@contextmanager
def pipeline_lock(settings: Settings) -> Iterator[Callable[[], None]]:
    """Hold the lake's pipeline lock; yields a function that refreshes it (a heartbeat)."""
    path = settings.work_dir / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    mine = {"pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat()}  # fmt: skip
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_lock(path)
            if _is_stale(path, holder, settings.pipeline.stale_lock_hours):
                _log.warning("pipeline: clearing a stale lock left by %s", holder)
                path.unlink(missing_ok=True)
                continue
            raise PipelineLocked(
                f"another pipeline holds {path} (pid {holder.get('pid')} on "
                f"{holder.get('host')} since {holder.get('started')}); try again later"
            ) from None
        with os.fdopen(descriptor, "w") as handle:
            json.dump(mine, handle)
        break
    else:  # pragma: no cover - two stale locks in a row would be a race with another run
        raise PipelineLocked(f"could not take {path}")
    try:
        yield lambda: os.utime(path)
    finally:
        if _read_lock(path).get("pid") == mine["pid"]:
            path.unlink(missing_ok=True)


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
