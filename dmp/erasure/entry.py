"""The ``erase`` stage's entry in the stage registry: forget people everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dmp.config import Settings
from dmp.erasure.stage import ErasureRequest, ErasureResult
from dmp.runlog import Run
from dmp.stages import Stage, needs
from dmp.tables import (
    EVENTS_TABLE,
    IDENTIFIER_TABLES,
    IDENTITY_MAP_TABLE,
    JOURNAL_TABLE,
    PERSON_TABLES,
    QUARANTINE_TABLE,
    SUPPRESSION_TABLE,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["ERASE", "ErasureRequest"]

# Every table that holds a person or an identifier: the catalogue says which.
_CLEANED = tuple(t.name for t in (*PERSON_TABLES, *IDENTIFIER_TABLES))


def _params(request: ErasureRequest) -> Mapping[str, Any]:
    # Never log the identifiers themselves: only how many were given.
    return {"emails": len(request.emails), "phones": len(request.phones),
            "user_ids": len(request.user_ids)}  # fmt: skip


def _erase(
    spark: SparkSession | None, settings: Settings, run: Run, request: ErasureRequest
) -> ErasureResult:
    from dmp.erasure.stage import erase

    return erase(needs(spark), settings, run, request)


ERASE: Stage[ErasureRequest, ErasureResult] = Stage(
    name="erase",
    request=ErasureRequest,
    run=_erase,
    reads=tuple(dict.fromkeys((JOURNAL_TABLE, IDENTITY_MAP_TABLE, *_CLEANED))),
    writes=tuple(
        dict.fromkeys((*_CLEANED, EVENTS_TABLE, QUARANTINE_TABLE, SUPPRESSION_TABLE, JOURNAL_TABLE))
    ),
    params=_params,
)
"""``dmp erase``: forget people in every table that holds them, vacuum, suppress."""
