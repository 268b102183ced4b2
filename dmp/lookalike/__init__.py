"""Lookalike audiences: seeds -> a scored, tiered audience in ``gold/audiences``.

A seed (a segment or an uploaded list) is expanded with a positive-unlabelled model (or
similarity) over profile features and ALS embeddings; every run is evaluated against
random and activity baselines, tracked in MLflow and gated before it is published.
``build_lookalike`` is the stage; ``SeedRequest`` says what to build.

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.lookalike.evaluate import Evaluation, evaluate
    from dmp.lookalike.features import FeatureSpec
    from dmp.lookalike.gate import audience_gate
    from dmp.lookalike.models import LookalikeModel, fit_model
    from dmp.lookalike.report import BASELINES
    from dmp.lookalike.seeds import SeedSet, seed_from_file, seed_from_segment
    from dmp.lookalike.settings import GuardrailSettings, LookalikeSettings
    from dmp.lookalike.stage import LookalikeResult, SeedRequest, build_lookalike
    from dmp.lookalike.tracking import model_name, tracking_uri

__all__ = [
    "BASELINES",
    "Evaluation",
    "FeatureSpec",
    "GuardrailSettings",
    "LookalikeModel",
    "LookalikeResult",
    "LookalikeSettings",
    "SeedRequest",
    "SeedSet",
    "audience_gate",
    "build_lookalike",
    "evaluate",
    "fit_model",
    "model_name",
    "seed_from_file",
    "seed_from_segment",
    "tracking_uri",
]
_LAZY = {
    "Evaluation": "dmp.lookalike.evaluate",
    "evaluate": "dmp.lookalike.evaluate",
    "FeatureSpec": "dmp.lookalike.features",
    "audience_gate": "dmp.lookalike.gate",
    "LookalikeModel": "dmp.lookalike.models",
    "fit_model": "dmp.lookalike.models",
    "BASELINES": "dmp.lookalike.report",
    "SeedSet": "dmp.lookalike.seeds",
    "seed_from_file": "dmp.lookalike.seeds",
    "seed_from_segment": "dmp.lookalike.seeds",
    "GuardrailSettings": "dmp.lookalike.settings",
    "LookalikeSettings": "dmp.lookalike.settings",
    "LookalikeResult": "dmp.lookalike.stage",
    "SeedRequest": "dmp.lookalike.stage",
    "build_lookalike": "dmp.lookalike.stage",
    "model_name": "dmp.lookalike.tracking",
    "tracking_uri": "dmp.lookalike.tracking",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.lookalike' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
