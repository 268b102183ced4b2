"""Named commit points where a test can SIGKILL the running command (the fault-injection tier).

Every place where the lake or a published file changes for good calls :func:`commit_point`
just before and just after the change (``write.before@silver/profiles``,
``erase.after@delete_gold/segments``, ``export.publish.before@lal/meta``, ...). Two
environment variables drive them:

- ``DMP_FAULT_TRACE=<file>`` appends the name of every point reached to ``<file>``, one a
  line, so a test can first record the points of an uninterrupted run;
- ``DMP_KILL_AT=<name>[:<n>]`` makes the process SIGKILL itself at the ``n``-th time (1 by
  default) it reaches point ``<name>``: a real ``kill -9``, no ``finally`` block, no
  clean-up, no flushed buffers.

With neither variable set a point costs two dictionary look-ups. Names contain no ``:`` and
no white space (spaces in a subject become ``_``), so ``<name>:<n>`` is unambiguous.

Some commits happen outside the driver's interpreter (a Delta commit of a Spark write runs in
a Python worker the JVM starts). For those, the driver asks :func:`armed` whether this
occurrence is the one to kill, and passes its own pid to the other process, which calls
:func:`kill_now` with it at the moment of the commit.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections import Counter

KILL_AT_ENV = "DMP_KILL_AT"
TRACE_ENV = "DMP_FAULT_TRACE"

_reached: Counter[str] = Counter()
_guard = threading.Lock()
_UNSAFE = re.compile(r"[\s:]+")


def point_name(event: str, subject: str | None = None) -> str:
    """The name of a commit point: ``event`` or ``event@subject`` with ``:``/spaces as ``_``.

    Args:
        event: What happens there, e.g. ``write.before`` or ``erase.after``.
        subject: What it happens to (a table, a step, an export), if anything.
    """
    name = event if subject is None else f"{event}@{subject}"
    return _UNSAFE.sub("_", name.strip())


def parse_kill_at(value: str) -> tuple[str, int]:
    """Split a ``DMP_KILL_AT`` value into ``(name, occurrence)``.

    Raises:
        ValueError: The occurrence is not a positive whole number, or the name is empty.
    """
    name, sep, count = value.strip().rpartition(":")
    if not sep:
        name, count = value.strip(), "1"
    if not name:
        raise ValueError(f"{KILL_AT_ENV}={value!r}: no commit point named")
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"{KILL_AT_ENV}={value!r}: the occurrence must be a whole number >= 1")
    return name, int(count)


def armed(name: str) -> bool:
    """Record that point ``name`` is reached; True when ``DMP_KILL_AT`` asks to kill here.

    Use this directly only where the kill must happen in another process (see the module
    docstring); everywhere else call :func:`commit_point`.
    """
    kill_at = os.environ.get(KILL_AT_ENV)
    trace = os.environ.get(TRACE_ENV)
    if not kill_at and not trace:
        return False
    with _guard:
        _reached[name] += 1
        seen = _reached[name]
        if trace:
            # One short line per append: the lines of concurrent writers do not interleave.
            with open(trace, "a", encoding="utf-8") as handle:
                handle.write(name + "\n")
    if not kill_at:
        return False
    target, occurrence = parse_kill_at(kill_at)
    return target == name and occurrence == seen


def commit_point(event: str, subject: str | None = None) -> None:
    """A named point just before or after a commit; SIGKILLs the process if asked to.

    Args:
        event: What happens there, e.g. ``write.before``.
        subject: What it happens to, e.g. the table name.
    """
    if armed(point_name(event, subject)):
        kill_now(os.getpid())


def kill_now(pid: int) -> None:
    """SIGKILL ``pid`` and, if that is another process, this one too (nothing returns)."""
    os.kill(pid, signal.SIGKILL)
    if pid != os.getpid():
        os.kill(os.getpid(), signal.SIGKILL)


def reset() -> None:
    """Forget how often each point was reached (tests running several commands in one process)."""
    with _guard:
        _reached.clear()
