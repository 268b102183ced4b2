"""Storage: Delta tables under ``<home>/lake``, read and written only through :class:`Lake`."""

from dmp.lake.errors import LakeError, LakeSchemaError, LakeWriteError, TableNotFound
from dmp.lake.lake import Commit, Lake, TableInfo, WriteResult

__all__ = [
    "Commit",
    "Lake",
    "LakeError",
    "LakeSchemaError",
    "LakeWriteError",
    "TableInfo",
    "TableNotFound",
    "WriteResult",
]
