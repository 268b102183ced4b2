"""Lookalike models, fitted on a bounded driver sample and small enough to broadcast.

- **similarity**: cosine similarity to the nearest of a few seed centroids (k-means on the
  seed) minus cosine similarity to the population centroid, so traits everyone shares
  count for nothing;
- **pu**: bagged positive-unlabelled classification (Mordelet & Vert): each bag trains the
  seed against a fresh sample of the universe; a person's score is the mean over the bags
  that did *not* train on them (out-of-bag), which for most people is every bag;
- **ensemble**: the mean of both methods' percentile ranks, the percentiles read from
  quantiles of the universe sample so scoring needs no global sort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from dmp.lookalike.features import FeatureSpec

METHODS = ("similarity", "pu", "ensemble")
_QUANTILES = 1001


@dataclass(frozen=True)
class SimilarityModel:
    """Seed centroids and the population centroid, in standardised feature space."""

    centroids: np.ndarray
    population: np.ndarray

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """Nearest-centroid cosine similarity minus similarity to the population."""
        rows = _unit(matrix)
        seed = (rows @ _unit(self.centroids).T).max(axis=1)
        population = rows @ _unit(self.population[None, :]).T
        return seed - population[:, 0]


@dataclass(frozen=True)
class PUModel:
    """Bagged classifiers and, per trained-on person, which bags saw them as unlabelled."""

    classifiers: tuple[object, ...]
    in_bag: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def score(self, matrix: np.ndarray, person_ids: Sequence[str] | None = None) -> np.ndarray:
        """Mean positive-class probability over the bags each person is out of."""
        probabilities = np.column_stack(
            [c.predict_proba(matrix)[:, 1] for c in self.classifiers]  # type: ignore[attr-defined]
        )
        if person_ids is None or not self.in_bag:
            return probabilities.mean(axis=1)
        keep = np.ones_like(probabilities, dtype=bool)
        for row, person in enumerate(person_ids):
            bags = self.in_bag.get(person)
            if bags and len(bags) < len(self.classifiers):
                keep[row, list(bags)] = False
        return (probabilities * keep).sum(axis=1) / keep.sum(axis=1)


@dataclass(frozen=True)
class LookalikeModel:
    """Everything needed to score people: the feature spec and the fitted method(s)."""

    method: str
    spec: FeatureSpec
    similarity: SimilarityModel | None = None
    pu: PUModel | None = None
    quantiles: Mapping[str, np.ndarray] = field(default_factory=dict)

    def score_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Scores for flat feature rows (with ``person_id`` when out-of-bag matters)."""
        matrix = self.spec.matrix(frame)
        people = frame["person_id"].tolist() if "person_id" in frame else None
        return self.score(matrix, people)

    def score(self, matrix: np.ndarray, person_ids: Sequence[str] | None = None) -> np.ndarray:
        """Scores for a standardised feature matrix; higher is more seed-like."""
        if self.method == "similarity":
            assert self.similarity is not None
            return self.similarity.score(matrix)
        if self.method == "pu":
            assert self.pu is not None
            return self.pu.score(matrix, person_ids)
        assert self.similarity is not None and self.pu is not None
        similarity = _percentile(self.similarity.score(matrix), self.quantiles["similarity"])
        pu = _percentile(self.pu.score(matrix, person_ids), self.quantiles["pu"])
        return (similarity + pu) / 2.0

    def without_people(self) -> LookalikeModel:
        """The model with no person id in it, to store or share (MLflow).

        The out-of-bag memberships name the training pool; without them every row is
        scored by all bags, as anyone outside the training pool is.
        """
        if self.pu is None or not self.pu.in_bag:
            return self
        return replace(self, pu=replace(self.pu, in_bag={}))


def fit_similarity(
    seed: np.ndarray,
    universe: np.ndarray,
    centroids: int,
    seed_value: int,
    seed_weights: np.ndarray | None = None,
) -> SimilarityModel:
    """Seed centroids by k-means (k capped by seed size, weighted by ``seed_weights`` when
    given) and the population centroid."""
    from sklearn.cluster import KMeans

    k = max(1, min(centroids, len(seed) // 25))
    if k == 1:
        centres = np.average(seed, axis=0, weights=seed_weights)[None, :]
    else:
        kmeans = KMeans(n_clusters=k, n_init=4, random_state=seed_value)
        centres = kmeans.fit(seed, sample_weight=seed_weights).cluster_centers_
    return SimilarityModel(centres, universe.mean(axis=0))


def fit_pu(
    seed: np.ndarray,
    universe: np.ndarray,
    universe_ids: Sequence[str],
    *,
    bags: int,
    ratio: float,
    classifier: str,
    seed_value: int,
    seed_weights: np.ndarray | None = None,
) -> PUModel:
    """Bagged PU classification: seed vs a fresh unlabelled sample per bag.

    Args:
        seed: Standardised features of the seed people.
        universe: Standardised features of a universe sample to draw unlabelled bags from.
        universe_ids: ``person_id`` of each universe row (for out-of-bag scoring).
        bags: Number of bags.
        ratio: Unlabelled people per seed person in a bag.
        classifier: ``logistic`` or ``gradient_boosting``.
        seed_value: Random seed.
        seed_weights: Per-seed sample weights (mean about 1; unlabelled people weigh 1).
    """
    rng = np.random.default_rng(seed_value)
    size = min(len(universe), max(1, round(ratio * len(seed))))
    classifiers = []
    membership: dict[str, list[int]] = {}
    for bag in range(bags):
        chosen = rng.choice(len(universe), size=size, replace=False)
        features = np.vstack([seed, universe[chosen]])
        labels = np.concatenate([np.ones(len(seed)), np.zeros(size)])
        weights = None
        if seed_weights is not None:
            weights = np.concatenate([seed_weights, np.ones(size)])
        model = _classifier(classifier, seed_value + bag)
        classifiers.append(model.fit(features, labels, sample_weight=weights))
        for index in chosen:
            membership.setdefault(universe_ids[index], []).append(bag)
    return PUModel(tuple(classifiers), {k: tuple(v) for k, v in membership.items()})


def _classifier(kind: str, seed_value: int) -> Any:
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=0.5, max_iter=2000, random_state=seed_value)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.08, max_leaf_nodes=15, l2_regularization=1.0,
        random_state=seed_value,
    )  # fmt: skip


def fit_model(
    method: str,
    spec: FeatureSpec,
    seed: np.ndarray,
    universe: np.ndarray,
    universe_ids: Sequence[str],
    *,
    centroids: int,
    bags: int,
    ratio: float,
    classifier: str,
    seed_value: int,
    seed_weights: np.ndarray | None = None,
) -> LookalikeModel:
    """Fit ``method`` (``similarity``, ``pu`` or ``ensemble``) on standardised features;
    ``seed_weights`` make some seed people count more (value-based lookalikes)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    similarity = pu = None
    if method in ("similarity", "ensemble"):
        similarity = fit_similarity(seed, universe, centroids, seed_value, seed_weights)
    if method in ("pu", "ensemble"):
        pu = fit_pu(
            seed, universe, universe_ids, bags=bags, ratio=ratio, classifier=classifier,
            seed_value=seed_value, seed_weights=seed_weights,
        )  # fmt: skip
    quantiles: dict[str, np.ndarray] = {}
    if method == "ensemble":
        assert similarity is not None and pu is not None
        levels = np.linspace(0, 1, _QUANTILES)
        quantiles["similarity"] = np.quantile(similarity.score(universe), levels)
        quantiles["pu"] = np.quantile(pu.score(universe), levels)
    return LookalikeModel(method, spec, similarity, pu, quantiles)


def centroid_baseline(seed: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The plain seed-centroid cosine similarity every audience is compared with."""
    return _unit(matrix) @ _unit(seed.mean(axis=0, keepdims=True)).T[:, 0]


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms < 1e-12, 1.0, norms)


def _percentile(scores: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Share of the reference universe scoring below each score (0..1), interpolated."""
    return np.interp(scores, quantiles, np.linspace(0, 1, len(quantiles)))
