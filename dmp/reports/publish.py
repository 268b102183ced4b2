"""Atomic publishing of a report folder: a reader never sees a half-written report."""

from __future__ import annotations

import os
import shutil
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
    - ``"folder"``: the whole folder is swapped (the old one renamed aside, then removed), so
      files of an earlier run that this one does not write disappear.

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
