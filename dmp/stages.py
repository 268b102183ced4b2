"""What a stage declares for the registry: its name, typed request, run function and tables.

Each stage package declares one :class:`Stage` in its ``entry.py``; :mod:`dmp.registry`
lists them all, and :func:`dmp.driver.run_stage` runs any of them the same way for the
command line, the pipeline, ``dmp demo``, ``jobs/`` and the notebooks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dmp.config import Settings
from dmp.runlog import Run

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["Stage", "config_digest", "latest_event_date", "needs", "request_params"]

Q = TypeVar("Q")
R = TypeVar("R")


def request_params(request: Any) -> dict[str, Any]:
    """A request's fields as run-log parameters (a dataclass's fields or a pydantic dump)."""
    if is_dataclass(request) and not isinstance(request, type):
        return {f.name: getattr(request, f.name) for f in fields(request)}
    dump = getattr(request, "model_dump", None)
    if callable(dump):
        found = dump()
        assert isinstance(found, dict)
        return found
    raise TypeError(f"a stage request must be a dataclass or pydantic model, not {request!r}")


def config_digest(section: Any, *files: Path) -> str:
    """Digest of a config section and the config files a stage reads.

    The pipeline records it with a stage's parameters, so a config change re-runs the stage.
    """
    parts = [json.dumps(section, sort_keys=True, default=str)]
    parts += [path.read_text() if path.exists() else "" for path in files]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _no_check(settings: Settings, request: Any) -> None:
    """A request with nothing to check before Spark starts."""


@dataclass(frozen=True)
class Stage(Generic[Q, R]):
    """One stage as every entry point runs it.

    Attributes:
        name: The stage's job name in ``ops/runs``, its command and its ``jobs/`` script.
        request: The (frozen) request type: what one run of the stage is asked to do.
        run: ``run(spark, settings, run, request) -> result``; ``spark`` is None when the
            stage does not need Spark.
        reads: Catalogue tables (:mod:`dmp.tables`) the stage reads.
        writes: Catalogue tables the stage writes.
        needs_spark: Whether the driver starts (or reuses) Spark for the stage.
        check: Refuses a bad request with a :class:`~dmp.errors.UserError` before the lake
            lock is taken and before Spark starts.
        params: The request as run-log parameters (default: its fields). Stages whose
            requests hold personal data record counts instead.
        config: The config the stage's results depend on, as a digest; the pipeline records
            it so a config change re-runs the stage (None: no config of its own).
    """

    name: str
    request: type[Q]
    run: Callable[[SparkSession | None, Settings, Run, Q], R]
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    needs_spark: bool = True
    check: Callable[[Settings, Q], None] = _no_check
    params: Callable[[Q], Mapping[str, Any]] = request_params
    config: Callable[[Settings], str] | None = None

    def bind(self, settings: Settings, request: Q) -> Callable[[SparkSession | None, Run], R]:
        """Check the request and bind it into ``(spark, run) -> result`` for the driver.

        Raises:
            UserError: The request is wrong (nothing has started yet).
        """
        self.check(settings, request)

        def bound(spark: SparkSession | None, run: Run) -> R:
            return self.run(spark, settings, run, request)

        return bound


def needs(spark: SparkSession | None) -> SparkSession:
    """The session of a stage that needs Spark (the driver always passes one to it)."""
    assert spark is not None, "the driver starts Spark for stages with needs_spark=True"
    return spark


def latest_event_date(settings: Settings) -> date:
    """The latest ``event_date`` partition in bronze: the default as-of (never the clock)."""
    from dmp.errors import UserError
    from dmp.lake import Lake
    from dmp.tables import EVENTS_TABLE

    lake = Lake(settings.lake_dir)
    if not lake.exists(EVENTS_TABLE):
        raise UserError("bronze/events does not exist yet: run `dmp ingest` first")
    days = lake.partition_values(EVENTS_TABLE, "event_date")
    if not days:
        raise UserError("bronze/events is empty: nothing to build profiles from")
    return max(date.fromisoformat(d) for d in days)
