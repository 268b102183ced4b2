"""The one place that decides how intermediate DataFrames are kept (cache or checkpoint).

Stages call :func:`kept` around work that reads an expensive DataFrame more than once
(a Python parse, an iterative algorithm); nothing else calls ``persist`` or ``checkpoint``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class Keep(StrEnum):
    """How to keep a DataFrame that is read several times."""

    MEMORY_AND_DISK = "memory_and_disk"
    """Cache blocks in executor memory, spilling to local disk."""
    DISK = "disk"
    """Cache on local disk only: large intermediate results."""
    CHECKPOINT = "checkpoint"
    """Write to the checkpoint folder and cut the lineage (iterative algorithms)."""


@contextmanager
def kept(df: DataFrame, how: Keep = Keep.MEMORY_AND_DISK) -> Iterator[DataFrame]:
    """Materialise ``df`` once for the duration of the block, then release it.

    Args:
        df: The DataFrame to keep.
        how: Storage choice; ``CHECKPOINT`` needs the session's checkpoint folder (set by
            :func:`dmp.session.build_session`).

    Yields:
        The kept DataFrame (for ``CHECKPOINT``, a new DataFrame without lineage).
    """
    from pyspark import StorageLevel

    if how is Keep.CHECKPOINT:
        yield df.checkpoint(eager=True)
        return
    level = StorageLevel.DISK_ONLY if how is Keep.DISK else StorageLevel.MEMORY_AND_DISK
    stored = df.persist(level)
    try:
        yield stored
    finally:
        stored.unpersist()
