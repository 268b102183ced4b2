"""Atomic publishing of a report folder: a reader never sees a half-written report."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from dmp.faults import commit_point

Replace = Literal["files", "folder"]


def publish_files(
    folder: Path, files: Mapping[str, bytes | str], *, replace: Replace = "files"
) -> dict[str, Path]:
    """Write ``files`` (name -> content) into ``folder`` atomically.

    Everything is written to a temporary sibling folder first. A new folder is then renamed
    into place in one step. An existing folder is updated according to ``replace``:

    - ``"files"``: each file is moved in with ``os.replace``, HTML files last, so a reader
      sees the old or the new page, and other files in the folder stay;
    - ``"folder"``: the whole folder is swapped with the new one in one atomic exchange
      (Linux ``renameat2(RENAME_EXCHANGE)``), then the old one is removed, so files of an
      earlier run that this one does not write disappear and there is no moment without the
      folder. Where the exchange is unsupported the old folder is renamed aside first.

    A failure removes the temporary folder and leaves the old report as it was.

    Args:
        folder: The report folder; its parent is created if missing.
        files: File name (no folders) -> text (written as UTF-8) or bytes.
        replace: How an existing folder is updated.

    Returns:
        File name -> its path in ``folder``.

    Raises:
        ValueError: A file name contains a folder.
    """
    for name in files:
        if not name or Path(name).name != name:
            raise ValueError(f"report file names cannot contain folders: {name!r}")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    retired = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    names = sorted(files, key=lambda n: (n.endswith(".html"), n))  # HTML last
    commit_point("report.publish.before", folder.parent.name)
    try:
        for name in names:
            content = files[name]
            if isinstance(content, str):
                (temporary / name).write_text(content, encoding="utf-8")
            else:
                (temporary / name).write_bytes(content)
        if not folder.exists():
            os.rename(temporary, folder)
        elif replace == "files":
            for name in names:
                os.replace(temporary / name, folder / name)
            temporary.rmdir()
        elif exchange_paths(temporary, folder):
            retired = temporary  # the exchange left the old report there
        else:
            os.rename(folder, retired)
            os.rename(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        if retired.exists() and not folder.exists():
            os.rename(retired, folder)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    commit_point("report.publish.after", folder.parent.name)
    return {name: folder / name for name in names}


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def exchange_paths(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; False where the system cannot.

    Uses Linux's ``renameat2(..., RENAME_EXCHANGE)`` (kernel 3.15, glibc 2.28): a reader
    sees either path's old or new target, never neither, and a kill cannot stop halfway.

    Raises:
        OSError: The exchange is supported but failed (a path missing, permissions).
    """
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    status = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if status == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))
