"""Storage: Delta tables under ``<home>/lake``, read and written only through :class:`Lake`."""

from dmp.lake.errors import LakeError, LakeSchemaError, LakeWriteError, TableNotFound
from dmp.lake.lake import Commit, Lake, TableInfo, WriteResult
from dmp.lake.modes import (
    APPEND,
    OVERWRITE,
    REPLACE_PARTITIONS,
    Append,
    Overwrite,
    ReplacePartition,
    ReplacePartitions,
    WriteMode,
)

__all__ = [
    "APPEND",
    "OVERWRITE",
    "REPLACE_PARTITIONS",
    "Append",
    "Commit",
    "Lake",
    "LakeError",
    "LakeSchemaError",
    "LakeWriteError",
    "Overwrite",
    "ReplacePartition",
    "ReplacePartitions",
    "TableInfo",
    "TableNotFound",
    "WriteMode",
    "WriteResult",
]
