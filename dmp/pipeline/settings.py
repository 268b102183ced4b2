"""Settings of the scheduled pipeline (the ``pipeline:`` section of the config)."""

from __future__ import annotations

from pydantic import Field, field_validator

from dmp.naming import name_problem
from dmp.spec import StrictModel


class PipelineAudience(StrictModel):
    """An audience the daily pipeline rebuilds and exports."""

    name: str
    segment: str
    method: str = "auto"
    channels: list[str] = Field(default_factory=list)
    tier: int | None = Field(None, ge=1, le=100)
    holdout: float = Field(0.0, ge=0, lt=1)

    @field_validator("name", "segment")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        # The name becomes folders and an MLflow model name: refuse "../x", "/abs", "a.b".
        problem = name_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class PipelineSettings(StrictModel):
    """The ``pipeline:`` section: audiences to rebuild and lock policy."""

    audiences: list[PipelineAudience] = Field(default_factory=list)
    stale_lock_hours: float = Field(6.0, gt=0)
    optimize: bool = True
    """Compact and vacuum the lake (``dmp optimize``) after a run that wrote something."""
