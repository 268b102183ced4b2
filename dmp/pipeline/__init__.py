"""The scheduled pipeline (``dmp pipeline run``, ``jobs/daily.py``).

The runner and the lock load on first use: ``dmp.config`` imports the settings module of
this package, and the runner imports the config.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from dmp.pipeline.settings import PipelineAudience, PipelineSettings

__all__ = [
    "PIPELINE_STAGES",
    "LakeLocked",
    "PipelineAudience",
    "PipelineLocked",
    "PipelineResult",
    "PipelineSettings",
    "lake_lock",
    "pipeline_lock",
    "run_pipeline",
]
_LAZY = {
    "LakeLocked": "dmp.pipeline.lock",
    "lake_lock": "dmp.pipeline.lock",
    "PIPELINE_STAGES": "dmp.pipeline.runner",
    "PipelineLocked": "dmp.pipeline.lock",
    "pipeline_lock": "dmp.pipeline.lock",
    "PipelineResult": "dmp.pipeline.runner",
    "run_pipeline": "dmp.pipeline.runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.pipeline' has no attribute {name!r}")
