"""Errors raised by the storage layer, always naming the table (and version) involved."""

from __future__ import annotations

from dmp.errors import DmpError, UserError


class LakeError(DmpError):
    """A table could not be read or written."""


class TableNotFound(UserError):
    """The table does not exist (yet): usually an earlier stage has not run."""


class LakeSchemaError(LakeError):
    """Incoming data does not fit the table's schema."""


class LakeWriteError(LakeError):
    """A write failed; the table stays at the version it had before."""
