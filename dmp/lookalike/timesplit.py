"""The honest headline of a lookalike build: how it is measured for each kind of seed.

A held-out evaluation hides part of the seed and looks for it with the features that define
the seed (the product bought, its category affinity, the embedding of the purchase), so its
figures are inflated for any seed defined by behaviour. For those seeds (every segment seed:
a segment is a rule over a profile snapshot) the headline is a *time split*: the seed as of
an earlier snapshot T−h, features as of T−h, and success = the people who newly meet the
seed's definition in (T−h, T]. That is what a marketer asks of a lookalike: does it find who
will become like the seed? Uploaded lists have no definition to replay over time; they keep
the held-out view with a leakage guard (:func:`leaky_features`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from dmp.evaluation.lift import RankingMetrics, mean_metrics, ranking_metrics
from dmp.lookalike.evaluate import BASELINES, Evaluation
from dmp.lookalike.features import FeatureSpec
from dmp.lookalike.models import ModelOptions, centroid_baseline, fit_model
from dmp.lookalike.settings import LookalikeSettings

__all__ = [
    "CONVERTED",
    "Headline",
    "early_snapshot",
    "feature_aucs",
    "forward_evaluate",
    "leaky_features",
    "without_features",
]

CONVERTED = "_converted"
"""Column of the early universe sample: 1 for people who newly met the definition by T."""

HeadlineKind = Literal["time-split", "held-out"]


@dataclass(frozen=True)
class Headline:
    """What the headline figures of a build were measured on.

    Attributes:
        kind: ``time-split`` (seed as of T−h, success = newly meeting the definition in
            (T−h, T]) or ``held-out`` (part of the seed hidden and looked for).
        note: One sentence for the report: why this kind, and any fallback.
        early_as_of: The earlier snapshot (time split only).
        horizon_days: Days between the earlier snapshot and the build's as-of date.
        early_seed: People meeting the definition as of the earlier snapshot.
        converted: People of the earlier universe who newly met the definition by T.
    """

    kind: HeadlineKind
    note: str
    early_as_of: date | None = None
    horizon_days: int | None = None
    early_seed: int = 0
    converted: int = 0


def early_snapshot(snapshots: Sequence[str], day: date, horizon_days: int) -> date | None:
    """The latest snapshot at least ``horizon_days`` before ``day`` (ISO dates), if any.

    >>> early_snapshot(["2026-01-01", "2026-01-05", "2026-01-09"], date(2026, 1, 10), 4)
    datetime.date(2026, 1, 5)
    >>> early_snapshot(["2026-01-09"], date(2026, 1, 10), 4) is None
    True
    """
    latest = day - timedelta(days=horizon_days)
    earlier = [date.fromisoformat(s) for s in snapshots if date.fromisoformat(s) <= latest]
    return max(earlier) if earlier else None


def forward_evaluate(
    spec: FeatureSpec,
    seed: pd.DataFrame,
    pool: pd.DataFrame,
    methods: Sequence[str],
    settings: LookalikeSettings,
) -> Evaluation:
    """Evaluate ``methods`` and the baselines on a time split (all frames as of T−h).

    Each split fits on the early seed against unlabelled people from one part of the early
    universe sample and ranks a disjoint part; the positives are the people there who newly
    met the seed's definition by T (column :data:`CONVERTED`). Lift@k is therefore the share
    of those converters inside the top k% of the ranked universe over k, the figure a
    campaign to the audience would see.

    Args:
        spec: Feature spec fitted on ``pool``.
        seed: Flat features of the seed as of T−h (a bounded sample).
        pool: Flat features of an early universe sample with :data:`CONVERTED`.
        methods: Methods to evaluate.
        settings: Splits, bagging options and the random seed.

    Raises:
        ValueError: No converter or no non-converter lands in an evaluated part.
    """
    seed_matrix = spec.matrix(seed)
    pool_matrix = spec.matrix(pool)
    pool_ids = pool["person_id"].tolist()
    converted = pool[CONVERTED].to_numpy(dtype=float)
    activity = pool["log_events"].to_numpy(dtype=float)
    runs: dict[str, list[RankingMetrics]] = {name: [] for name in (*methods, *BASELINES)}
    result = Evaluation(kind="time-split")
    evaluation_size = min(settings.evaluation_universe, len(pool) // 2)
    for split in range(settings.splits):
        rng = np.random.default_rng(settings.random_seed + 1000 * split)
        order = rng.permutation(len(pool))
        evaluated, training = order[:evaluation_size], order[evaluation_size:]
        labels = converted[evaluated]
        scored: dict[str, np.ndarray] = {
            "random": rng.random(len(evaluated)),
            "activity": activity[evaluated],
            "centroid": centroid_baseline(seed_matrix, pool_matrix[evaluated]),
        }
        for method in methods:
            model = fit_model(
                method, spec, seed_matrix, pool_matrix[training],
                [pool_ids[i] for i in training],
                ModelOptions.from_settings(settings, settings.random_seed + split),
            )  # fmt: skip
            scored[method] = model.score(pool_matrix[evaluated], [pool_ids[i] for i in evaluated])
        for name, scores in scored.items():
            metrics = ranking_metrics(scores, labels)
            runs[name].append(metrics)
            if split == 0:
                result.heldout, result.mixture = metrics.positives, len(labels)
                result.gains[name] = metrics.gains
                result.deciles[name] = metrics.deciles
    result.methods = {name: mean_metrics(found) for name, found in runs.items()}
    return result


def feature_aucs(seed: np.ndarray, universe: np.ndarray) -> np.ndarray:
    """ROC AUC of each feature column alone at telling ``seed`` rows from ``universe`` rows.

    Mann-Whitney with average ranks for ties (a tied pair counts 1/2), one column at a time,
    the same figure as ``sklearn.metrics.roc_auc_score(labels, column)``.
    """
    if len(seed) == 0 or len(universe) == 0:
        raise ValueError("feature AUCs need seed and universe rows")
    both = np.vstack([seed, universe])
    ranks = rankdata(both, axis=0, method="average")
    positives, negatives = len(seed), len(universe)
    seed_ranks = ranks[:positives].sum(axis=0)
    return np.asarray(
        (seed_ranks - positives * (positives + 1) / 2) / (positives * negatives), dtype=float
    )


def leaky_features(
    spec: FeatureSpec, seed: pd.DataFrame, pool: pd.DataFrame, max_auc: float
) -> dict[str, float]:
    """Features that alone separate the seed from the universe sample: ``name -> AUC``.

    A feature whose AUC (or 1 − AUC: separating by low values) reaches ``max_auc`` most
    likely encodes how the list was made (an export of "bought X" carries X's affinity);
    a model built on it finds the list again and nobody new.
    """
    names = list(spec.names)
    aucs = feature_aucs(
        seed[names].to_numpy(dtype=np.float64, na_value=0.0),
        pool[names].to_numpy(dtype=np.float64, na_value=0.0),
    )
    separation = np.maximum(aucs, 1.0 - aucs)
    return {
        name: round(float(auc), 4)
        for name, auc, s in zip(names, aucs, separation, strict=True)
        if s >= max_auc
    }


def without_features(spec: FeatureSpec, names: Sequence[str]) -> FeatureSpec:
    """The (unfitted) spec without the named features.

    Raises:
        ValueError: The spec is already fitted.
    """
    if spec.means:
        raise ValueError("drop features before fitting the spec")
    dropped = set(names)
    return replace(spec, names=tuple(n for n in spec.names if n not in dropped))
