"""Evaluation: ranking metrics, campaign lift statistics and truth scoring.

Pure functions used by the stages and notebooks: lift@k, AUC and gains
(``ranking_metrics``), campaign lift with bootstrap intervals (``campaign_lift``), and the
scores of identity, profiles and lookalikes against a generated world's truth.

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.evaluation.campaign import (
        GroupOutcome,
        LiftResult,
        bootstrap_relative_ci,
        campaign_lift,
        sample_ratio_p_value,
    )
    from dmp.evaluation.identity import PairwiseScores, pairwise_scores
    from dmp.evaluation.lift import RankingMetrics, jaccard, metric_key, ranking_metrics, spearman
    from dmp.evaluation.lookalike import future_conversion_lift

__all__ = [
    "GroupOutcome",
    "LiftResult",
    "PairwiseScores",
    "RankingMetrics",
    "bootstrap_relative_ci",
    "campaign_lift",
    "future_conversion_lift",
    "jaccard",
    "metric_key",
    "pairwise_scores",
    "ranking_metrics",
    "sample_ratio_p_value",
    "spearman",
]
_LAZY = {
    "GroupOutcome": "dmp.evaluation.campaign",
    "LiftResult": "dmp.evaluation.campaign",
    "bootstrap_relative_ci": "dmp.evaluation.campaign",
    "campaign_lift": "dmp.evaluation.campaign",
    "sample_ratio_p_value": "dmp.evaluation.campaign",
    "PairwiseScores": "dmp.evaluation.identity",
    "pairwise_scores": "dmp.evaluation.identity",
    "RankingMetrics": "dmp.evaluation.lift",
    "jaccard": "dmp.evaluation.lift",
    "metric_key": "dmp.evaluation.lift",
    "ranking_metrics": "dmp.evaluation.lift",
    "spearman": "dmp.evaluation.lift",
    "future_conversion_lift": "dmp.evaluation.lookalike",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.evaluation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
