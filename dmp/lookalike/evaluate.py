"""Offline evaluation of lookalike methods on repeated held-out seed splits (driver sample).

Each split holds out part of the seed, fits on the rest against unlabelled people drawn
from one part of the universe sample, and ranks the held-out seeds among a disjoint part.
Baselines get the same splits: random order, most active first, and similarity to the
training seed's centroid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dmp.evaluation.lift import RankingMetrics, mean_metrics, ranking_metrics
from dmp.lookalike.features import FeatureSpec
from dmp.lookalike.models import ModelOptions, centroid_baseline, fit_model
from dmp.lookalike.settings import LookalikeSettings

BASELINES = ("random", "activity", "centroid")


@dataclass
class Evaluation:
    """Mean metrics per method and baseline, and one split's curves for the report."""

    methods: dict[str, dict[str, float]] = field(default_factory=dict)
    gains: dict[str, pd.DataFrame] = field(default_factory=dict)
    deciles: dict[str, pd.DataFrame] = field(default_factory=dict)
    heldout: int = 0
    """Held-out seed people ranked in each split (the first split's count)."""
    mixture: int = 0
    """People ranked in each split: the held-out seed plus the evaluation sample."""
    kind: str = "held-out"
    """How the positives were found: ``held-out`` seeds, or ``time-split`` converters."""

    def best(self, candidates: Sequence[str], metric: str = "lift_at_1pct") -> tuple[str, str]:
        """The candidate with the highest mean ``metric`` (AUC breaks ties), and why."""
        ranked = sorted(
            candidates,
            key=lambda m: (self.methods[m][metric], self.methods[m]["auc"]),
            reverse=True,
        )
        shown = ", ".join(f"{m} {self.methods[m][metric]:.1f}" for m in ranked)
        return ranked[0], f"auto: best {self.kind} {metric_words(metric)} ({shown})"


def metric_words(metric: str) -> str:
    """``lift_at_1pct`` -> ``lift@1%``.

    >>> metric_words("lift_at_10pct")
    'lift@10%'
    """
    return metric.replace("_at_", "@").replace("pct", "%")


def evaluate(
    spec: FeatureSpec,
    seed: pd.DataFrame,
    pool: pd.DataFrame,
    methods: Sequence[str],
    settings: LookalikeSettings,
) -> Evaluation:
    """Evaluate ``methods`` and the baselines on ``settings.splits`` held-out splits.

    Args:
        spec: Fitted feature spec.
        seed: Flat features of (a bounded sample of) the seed people.
        pool: Flat features of a universe sample (never seed people).
        methods: Methods to evaluate (``similarity``, ``pu``, ``ensemble``).
        settings: Split sizes, bagging options and the random seed.
    """
    seed_matrix = spec.matrix(seed)
    pool_matrix = spec.matrix(pool)
    pool_ids = pool["person_id"].tolist()
    activity = pool["log_events"].to_numpy(dtype=float)
    seed_activity = seed["log_events"].to_numpy(dtype=float)
    runs: dict[str, list[RankingMetrics]] = {name: [] for name in (*methods, *BASELINES)}
    result = Evaluation()
    for split in range(settings.splits):
        rng = np.random.default_rng(settings.random_seed + 1000 * split)
        held = rng.random(len(seed)) < settings.holdout_share
        if held.sum() == 0 or (~held).sum() == 0:
            raise ValueError("the seed is too small to hold part of it out")
        evaluation_size = min(settings.evaluation_universe, len(pool) // 2)
        order = rng.permutation(len(pool))
        evaluated, training = order[:evaluation_size], order[evaluation_size:]
        labels = np.concatenate([np.ones(held.sum()), np.zeros(len(evaluated))])
        mixture = np.vstack([seed_matrix[held], pool_matrix[evaluated]])
        mixture_ids = [f"heldout-{i}" for i in range(held.sum())] + [pool_ids[i] for i in evaluated]
        scored: dict[str, np.ndarray] = {
            "random": rng.random(len(labels)),
            "activity": np.concatenate([seed_activity[held], activity[evaluated]]),
            "centroid": centroid_baseline(seed_matrix[~held], mixture),
        }
        for method in methods:
            model = fit_model(
                method,
                spec,
                seed_matrix[~held],
                pool_matrix[training],
                [pool_ids[i] for i in training],
                ModelOptions.from_settings(settings, settings.random_seed + split),
            )
            scored[method] = model.score(mixture, mixture_ids)
        for name, scores in scored.items():
            metrics = ranking_metrics(scores, labels)
            runs[name].append(metrics)
            if split == 0:
                result.heldout, result.mixture = int(held.sum()), len(labels)
                result.gains[name] = metrics.gains
                result.deciles[name] = metrics.deciles
    result.methods = {name: mean_metrics(found) for name, found in runs.items()}
    return result
