"""A test's own copy of the project's conf/ folder, with an overlay and small audience minimums."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURPOSES = ("advertising", "email", "sms", "push")


def copy_conf(
    folder: Path, *, overlay: str = "", min_audience: int | None = None,
    purposes: Iterable[str] = PURPOSES,
) -> Path:  # fmt: skip
    """Copy ``conf/`` to ``folder/conf`` and return it.

    Args:
        folder: Where the ``conf`` folder is created (it must not exist yet).
        overlay: YAML appended to ``local.yaml``.
        min_audience: When given, the minimum audience of every channel of ``purposes``.
        purposes: The channel purposes ``min_audience`` applies to.
    """
    conf = folder / "conf"
    shutil.copytree(ROOT / "conf", conf)
    if overlay:
        with (conf / "local.yaml").open("a") as handle:
            handle.write(overlay)
    if min_audience is not None:
        channels = (conf / "channels.yaml").read_text()
        for purpose in purposes:
            channels = channels.replace(
                f"    purpose: {purpose}\n",
                f"    purpose: {purpose}\n    min_audience: {min_audience}\n",
            )
        (conf / "channels.yaml").write_text(channels)
    return conf
