"""Lookalike models, fitted on a bounded driver sample and small enough to broadcast.

- **similarity**: cosine similarity to the nearest of a few seed centroids (k-means on the
  seed) minus cosine similarity to the population centroid, so traits everyone shares
  count for nothing;
- **pu**: bagged positive-unlabelled classification (Mordelet & Vert): each bag trains the
  seed against a fresh sample of the universe; a person's score is the mean over the bags
  that did *not* train on them (out-of-bag), which for most people is every bag;
- **ensemble**: the mean of both methods' percentile ranks, the percentiles read from
  quantiles of the universe sample so scoring needs no global sort.

Each method is a scikit-learn-style estimator behind one protocol,
:class:`LookalikeEstimator`: hyper-parameters at construction (from typed
:class:`ModelOptions`), ``fit(seed, unlabelled)`` returning the estimator, fitted state in
attributes ending in ``_``, then ``score_samples(X)`` (higher is more seed-like). ``fit``
takes the seed rows and the unlabelled universe rows as two matrices rather than one ``X``
with labels: positive-unlabelled learning has no negatives, and the matrices are used as
passed, so a build gives the same scores to the last bit whichever step fits the model.
:class:`LookalikeModel` bundles a fitted estimator with its feature spec.

>>> rng = np.random.default_rng(0)
>>> seed, universe = rng.normal(1.0, size=(40, 3)), rng.normal(size=(200, 3))
>>> estimator = ModelOptions(bags=2, classifier="logistic").estimator("pu")
>>> scores = estimator.fit(seed, universe).score_samples(np.vstack([seed[:5], universe[:5]]))
>>> bool(scores[:5].mean() > scores[5:].mean())
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self

import numpy as np
import pandas as pd

from dmp.lookalike.features import FeatureSpec

if TYPE_CHECKING:
    from dmp.lookalike.settings import LookalikeSettings

METHODS = ("similarity", "pu", "ensemble")
_QUANTILES = 1001

Classifier = Literal["logistic", "gradient_boosting"]

__all__ = [
    "METHODS",
    "EnsembleEstimator",
    "LookalikeEstimator",
    "LookalikeModel",
    "ModelOptions",
    "PUEstimator",
    "SimilarityEstimator",
    "centroid_baseline",
    "fit_model",
]


class LookalikeEstimator(Protocol):
    """A lookalike method: fitted on seed and unlabelled rows, then scoring any rows."""

    def fit(
        self,
        seed: np.ndarray,
        unlabelled: np.ndarray,
        *,
        unlabelled_ids: Sequence[str] | None = None,
        seed_weight: np.ndarray | None = None,
    ) -> Self:
        """Fit on standardised features.

        Args:
            seed: Seed rows (the positives).
            unlabelled: A sample of the universe (unlabelled, not negatives).
            unlabelled_ids: ``person_id`` of each unlabelled row: people trained on are
                scored out-of-bag where the method allows.
            seed_weight: Per-seed weight (mean about 1; unlabelled rows weigh 1).
        """
        ...

    def score_samples(self, X: np.ndarray, ids: Sequence[str] | None = None) -> np.ndarray:
        """One score per row of ``X``; higher is more seed-like. ``ids`` (``person_id`` per
        row) matter only for people the estimator was trained on."""
        ...

    def without_people(self) -> Self:
        """The fitted estimator without any person id in it (to store or share)."""
        ...


@dataclass(frozen=True)
class ModelOptions:
    """Typed hyper-parameters of every method.

    Attributes:
        centroids: Seed centroids of the similarity method at most.
        bags: Bags of the positive-unlabelled classifier.
        ratio: Unlabelled rows per seed row in each bag.
        classifier: Base learner of the PU bagging.
        random_state: Seed of k-means, of the bag draws and of the base learners.
    """

    centroids: int = 4
    bags: int = 8
    ratio: float = 2.0
    classifier: Classifier = "gradient_boosting"
    random_state: int = 42

    @classmethod
    def from_settings(cls, settings: LookalikeSettings, random_state: int) -> ModelOptions:
        """The options of the ``lookalike:`` settings, with ``random_state`` for this fit
        (evaluation splits and the stability rerun each use their own)."""
        return cls(
            centroids=settings.similarity_centroids,
            bags=settings.bags,
            ratio=settings.unlabelled_ratio,
            classifier=settings.classifier,
            random_state=random_state,
        )

    def estimator(self, method: str) -> LookalikeEstimator:
        """A new, unfitted estimator of ``method``.

        Raises:
            ValueError: ``method`` is not one of :data:`METHODS`.
        """
        if method == "similarity":
            return SimilarityEstimator(self.centroids, self.random_state)
        if method == "pu":
            return PUEstimator(self.bags, self.ratio, self.classifier, self.random_state)
        if method == "ensemble":
            similarity = SimilarityEstimator(self.centroids, self.random_state)
            pu = PUEstimator(self.bags, self.ratio, self.classifier, self.random_state)
            return EnsembleEstimator(similarity, pu)
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")


@dataclass
class SimilarityEstimator:
    """Nearest-seed-centroid cosine similarity minus similarity to the population centroid.

    Attributes:
        n_centroids: Seed centroids at most (k-means; one per 25 seed people at most).
        random_state: Seed of k-means.
        centroids_: Fitted seed centroids (standardised feature space).
        population_: Fitted mean of the unlabelled rows.
    """

    n_centroids: int = 4
    random_state: int = 42
    centroids_: np.ndarray | None = None
    population_: np.ndarray | None = None

    def fit(
        self,
        seed: np.ndarray,
        unlabelled: np.ndarray,
        *,
        unlabelled_ids: Sequence[str] | None = None,
        seed_weight: np.ndarray | None = None,
    ) -> Self:
        """Seed centroids by k-means (weighted by ``seed_weight``) and the population
        centroid; ``unlabelled_ids`` are not needed."""
        from sklearn.cluster import KMeans

        k = max(1, min(self.n_centroids, len(seed) // 25))
        if k == 1:
            self.centroids_ = np.average(seed, axis=0, weights=seed_weight)[None, :]
        else:
            kmeans = KMeans(n_clusters=k, n_init=4, random_state=self.random_state)
            self.centroids_ = kmeans.fit(seed, sample_weight=seed_weight).cluster_centers_
        self.population_ = unlabelled.mean(axis=0)
        return self

    def score_samples(self, X: np.ndarray, ids: Sequence[str] | None = None) -> np.ndarray:
        """Nearest-centroid cosine similarity minus similarity to the population."""
        if self.centroids_ is None or self.population_ is None:
            raise ValueError("the similarity estimator is not fitted")
        rows = _unit(X)
        seed = (rows @ _unit(self.centroids_).T).max(axis=1)
        population = rows @ _unit(self.population_[None, :]).T
        return seed - population[:, 0]

    def without_people(self) -> Self:
        """Itself: centroids name no one."""
        return self


@dataclass
class PUEstimator:
    """Bagged positive-unlabelled classification with out-of-bag scores.

    Attributes:
        n_bags: Bags; each trains the seed against a fresh sample of the unlabelled rows.
        ratio: Unlabelled rows per seed row in a bag.
        classifier: ``logistic`` or ``gradient_boosting``.
        random_state: Seed of the bag draws; bag ``b``'s learner gets ``random_state + b``.
        classifiers_: Fitted: one classifier per bag.
        in_bag_: Fitted: per trained-on ``person_id``, the bags that saw them as unlabelled.
    """

    n_bags: int = 8
    ratio: float = 2.0
    classifier: Classifier = "gradient_boosting"
    random_state: int = 42
    classifiers_: tuple[Any, ...] = ()
    in_bag_: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def fit(
        self,
        seed: np.ndarray,
        unlabelled: np.ndarray,
        *,
        unlabelled_ids: Sequence[str] | None = None,
        seed_weight: np.ndarray | None = None,
    ) -> Self:
        """Train each bag on the seed against a fresh sample of the unlabelled rows; with
        ``unlabelled_ids``, remember which bags trained on whom (out-of-bag scoring)."""
        rng = np.random.default_rng(self.random_state)
        size = min(len(unlabelled), max(1, round(self.ratio * len(seed))))
        classifiers = []
        membership: dict[str, list[int]] = {}
        for bag in range(self.n_bags):
            chosen = rng.choice(len(unlabelled), size=size, replace=False)
            features = np.vstack([seed, unlabelled[chosen]])
            labels = np.concatenate([np.ones(len(seed)), np.zeros(size)])
            weights = None
            if seed_weight is not None:
                weights = np.concatenate([seed_weight, np.ones(size)])
            model = _classifier(self.classifier, self.random_state + bag)
            classifiers.append(model.fit(features, labels, sample_weight=weights))
            if unlabelled_ids is not None:
                for index in chosen:
                    membership.setdefault(unlabelled_ids[index], []).append(bag)
        self.classifiers_ = tuple(classifiers)
        self.in_bag_ = {k: tuple(v) for k, v in membership.items()}
        return self

    def score_samples(self, X: np.ndarray, ids: Sequence[str] | None = None) -> np.ndarray:
        """Mean positive-class probability over the bags each row's person is out of
        (every bag for people outside the training pool, or without ``ids``)."""
        if not self.classifiers_:
            raise ValueError("the PU estimator is not fitted")
        probabilities = np.column_stack([c.predict_proba(X)[:, 1] for c in self.classifiers_])
        if ids is None or not self.in_bag_:
            return probabilities.mean(axis=1)
        keep = np.ones_like(probabilities, dtype=bool)
        for row, person in enumerate(ids):
            bags = self.in_bag_.get(person)
            if bags and len(bags) < len(self.classifiers_):
                keep[row, list(bags)] = False
        return (probabilities * keep).sum(axis=1) / keep.sum(axis=1)

    def without_people(self) -> Self:
        """The classifiers without the out-of-bag memberships, which name the training pool;
        every row is then scored by all bags, as anyone outside the pool is."""
        return replace(self, in_bag_={}) if self.in_bag_ else self


@dataclass
class EnsembleEstimator:
    """The mean of the similarity and PU percentile ranks.

    Attributes:
        similarity: The similarity estimator (fitted by :meth:`fit`).
        pu: The PU estimator (fitted by :meth:`fit`).
        quantiles_: Fitted: per method, quantiles of its scores of the unlabelled rows,
            which turn a score into a percentile without a global sort.
    """

    similarity: SimilarityEstimator
    pu: PUEstimator
    quantiles_: Mapping[str, np.ndarray] = field(default_factory=dict)

    def fit(
        self,
        seed: np.ndarray,
        unlabelled: np.ndarray,
        *,
        unlabelled_ids: Sequence[str] | None = None,
        seed_weight: np.ndarray | None = None,
    ) -> Self:
        """Fit both estimators, then the quantiles of their scores of the unlabelled rows
        (scored by every bag)."""
        self.similarity.fit(seed, unlabelled, seed_weight=seed_weight)
        self.pu.fit(seed, unlabelled, unlabelled_ids=unlabelled_ids, seed_weight=seed_weight)
        levels = np.linspace(0, 1, _QUANTILES)
        self.quantiles_ = {
            "similarity": np.quantile(self.similarity.score_samples(unlabelled), levels),
            "pu": np.quantile(self.pu.score_samples(unlabelled), levels),
        }
        return self

    def score_samples(self, X: np.ndarray, ids: Sequence[str] | None = None) -> np.ndarray:
        """Mean of the two methods' percentile ranks (0..1)."""
        similarity = _percentile(self.similarity.score_samples(X), self.quantiles_["similarity"])
        pu = _percentile(self.pu.score_samples(X, ids), self.quantiles_["pu"])
        return (similarity + pu) / 2.0

    def without_people(self) -> Self:
        """The ensemble with its PU part :meth:`PUEstimator.without_people`."""
        return replace(self, pu=self.pu.without_people())


@dataclass(frozen=True)
class LookalikeModel:
    """Everything needed to score people: the feature spec and the fitted estimator."""

    method: str
    spec: FeatureSpec
    estimator: LookalikeEstimator

    def score_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Scores for flat feature rows (with ``person_id`` when out-of-bag matters)."""
        matrix = self.spec.matrix(frame)
        people = frame["person_id"].tolist() if "person_id" in frame else None
        return self.score(matrix, people)

    def score(self, matrix: np.ndarray, person_ids: Sequence[str] | None = None) -> np.ndarray:
        """Scores for a standardised feature matrix; higher is more seed-like."""
        return self.estimator.score_samples(matrix, person_ids)

    def without_people(self) -> LookalikeModel:
        """The model with no person id in it, to store or share (MLflow)."""
        return replace(self, estimator=self.estimator.without_people())


def fit_model(
    method: str,
    spec: FeatureSpec,
    seed: np.ndarray,
    universe: np.ndarray,
    universe_ids: Sequence[str],
    options: ModelOptions,
    seed_weights: np.ndarray | None = None,
) -> LookalikeModel:
    """Fit ``method`` on standardised features of the seed and a universe sample;
    ``seed_weights`` make some seed people count more (value-based lookalikes).

    Raises:
        ValueError: An unknown method.
    """
    estimator = options.estimator(method).fit(
        seed, universe, unlabelled_ids=universe_ids, seed_weight=seed_weights
    )
    return LookalikeModel(method, spec, estimator)


def centroid_baseline(seed: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The plain seed-centroid cosine similarity every audience is compared with."""
    return _unit(matrix) @ _unit(seed.mean(axis=0, keepdims=True)).T[:, 0]


def _classifier(kind: str, seed_value: int) -> Any:
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=0.5, max_iter=2000, random_state=seed_value)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.08, max_leaf_nodes=15, l2_regularization=1.0,
        random_state=seed_value,
    )  # fmt: skip


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms < 1e-12, 1.0, norms)


def _percentile(scores: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Share of the reference universe scoring below each score (0..1), interpolated."""
    return np.interp(scores, quantiles, np.linspace(0, 1, len(quantiles)))
