"""The one place that decides how intermediate DataFrames are kept (cache or checkpoint).

Stages call :func:`kept` around work that reads an expensive DataFrame more than once
(a Python parse, an iterative algorithm), and :func:`numbered` to number rows in a sort
order; nothing else calls ``persist`` or ``checkpoint``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, Row


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


class RoundKeeper:
    """Keeps the state of an iterative algorithm from one round to the next.

    Use it through :func:`kept_rounds`, which releases what is still cached at the end.
    """

    def __init__(self, checkpoint_every: int) -> None:
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
        self._checkpoint_every = checkpoint_every
        self._count = 0
        self._cached: DataFrame | None = None

    def keep(
        self, df: DataFrame, *summary: Column, checkpoint: bool = False
    ) -> tuple[DataFrame, Row]:
        """Materialise ``df`` now, then release the state kept before it.

        Every ``checkpoint_every``-th state, and any kept with ``checkpoint=True``, is written
        to the checkpoint folder (cutting the lineage, so plans stay short however many rounds
        run and the result outlives the block); the others are cached in memory and on disk.

        Args:
            df: This round's state, usually computed from the previous one.
            summary: Aggregate columns computed over ``df`` by the job that materialises it,
                so that a round needs no second pass for its own bookkeeping.
            checkpoint: Checkpoint this state whatever the round.

        Returns:
            The kept state, to be read instead of ``df``, and one row: ``rows`` (its row
            count) followed by the ``summary`` aggregates.
        """
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        self._count += 1
        stored = df.persist(StorageLevel.MEMORY_AND_DISK)
        row = stored.agg(F.count("*").alias("rows"), *summary).first()
        assert row is not None  # an aggregate without grouping returns one row
        kept_state = stored
        if checkpoint or self._count % self._checkpoint_every == 0:
            # Checkpointing a cached frame reads the cache instead of computing it again.
            kept_state = stored.checkpoint(eager=True)
            stored.unpersist()
        self.release()
        if kept_state is stored:
            self._cached = stored
        return kept_state, row

    def release(self) -> None:
        """Drop the cached state, if any (checkpointed states stay readable)."""
        if self._cached is not None:
            self._cached.unpersist()
            self._cached = None


@contextmanager
def kept_rounds(checkpoint_every: int) -> Iterator[RoundKeeper]:
    """Keep an iterative algorithm's state round by round; release it when the block ends.

    Args:
        checkpoint_every: Write every so many kept states to the checkpoint folder (needs the
            session's checkpoint folder, set by :func:`dmp.session.build_session`).

    Yields:
        The keeper: call :meth:`RoundKeeper.keep` on each new state.
    """
    keeper = RoundKeeper(checkpoint_every)
    try:
        yield keeper
    finally:
        keeper.release()


# monotonically_increasing_id puts the partition index above bit 33 and the row's position
# within the partition below it.
_POSITION_BITS = (1 << 33) - 1


def numbered(df: DataFrame, order: Sequence[Column | str], name: str = "index") -> DataFrame:
    """``df`` sorted by ``order``, with a 0-based row number ``name`` in that order.

    ``RDD.zipWithIndex`` on a DataFrame moves every row through Python twice (a count job
    and a map job). Here everything stays in the JVM: the sorted rows are checkpointed (so
    their partitions are fixed), a job counts the rows of each sorted partition (one small
    row per partition reaches the driver), and each row's number is its partition's offset
    plus its position in the partition (``monotonically_increasing_id`` counts rows within a
    partition in their stored order). The numbers are those ``zipWithIndex`` gives over the
    same sorted rows; rows that tie on ``order`` are numbered in an arbitrary but fixed
    order, so make ``order`` total when that matters.

    Args:
        df: The rows to number.
        order: Sort columns (``Column`` expressions may say ``desc()``).
        name: Name of the number column (a long).

    Returns:
        The sorted rows with their numbers (backed by a checkpoint, removed once unused).
    """
    from pyspark.sql import functions as F

    rows = df.orderBy(*order).checkpoint(eager=True)
    sizes = rows.groupBy(F.spark_partition_id().alias("p")).count().collect()
    counts = {int(r["p"]): int(r["count"]) for r in sizes}  # one row per partition
    offsets, total = [], 0
    for partition in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(partition, 0)
    if not offsets:
        return rows.withColumn(name, F.lit(0).cast("long"))
    offset = F.element_at(F.array(*[F.lit(o) for o in offsets]), F.spark_partition_id() + 1)
    position = F.monotonically_increasing_id().bitwiseAND(F.lit(_POSITION_BITS))
    return rows.withColumn(name, (offset.cast("long") + position).cast("long"))
