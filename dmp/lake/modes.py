"""How a write lands in a table: the typed write modes :meth:`dmp.lake.Lake.write` takes.

>>> from datetime import date
>>> ReplacePartition({"as_of": date(2026, 1, 5)}).values
{'as_of': datetime.date(2026, 1, 5)}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APPEND",
    "OVERWRITE",
    "REPLACE_PARTITIONS",
    "Append",
    "Overwrite",
    "ReplacePartition",
    "ReplacePartitions",
    "WriteMode",
]


@dataclass(frozen=True)
class Append:
    """Add the rows to the table (creating it on the first write)."""


@dataclass(frozen=True)
class Overwrite:
    """Replace every row of the table with the rows written."""


@dataclass(frozen=True)
class ReplacePartitions:
    """Replace exactly the partitions the rows written fall in (dynamic partition overwrite);
    other partitions stay. Writing no rows replaces nothing."""


@dataclass(frozen=True)
class ReplacePartition:
    """Replace one partition, given as ``{partition column: value}`` (a static partition
    overwrite); every row written must belong to it, and writing no rows empties it.

    Attributes:
        values: A value for one or more partition columns of the table.
    """

    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("ReplacePartition needs a value for at least one partition column")


WriteMode = Append | Overwrite | ReplacePartitions | ReplacePartition
"""Every way a Spark write can land: :meth:`~dmp.lake.Lake.write` takes one."""

APPEND = Append()
OVERWRITE = Overwrite()
REPLACE_PARTITIONS = ReplacePartitions()
