"""The lookalike estimators against independent references (scikit-learn, SciPy) and their
shared protocol: fit returns the estimator, an unfitted one refuses to score, scores are
out-of-bag for people trained on, and nothing fitted names a person once shared."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.stats import percentileofscore
from sklearn.linear_model import LogisticRegression
from sklearn.metrics.pairwise import cosine_similarity

from dmp.lookalike.models import (
    METHODS,
    EnsembleEstimator,
    ModelOptions,
    PUEstimator,
    SimilarityEstimator,
)


def _data(seed_rows: int = 40) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(11)
    seed = rng.normal(0.8, size=(seed_rows, 4))
    universe = rng.normal(size=(300, 4))
    return seed, universe, [f"person-{i}" for i in range(len(universe))]


def test_similarity_is_cosine_to_the_seed_minus_cosine_to_the_population() -> None:
    seed, universe, _ = _data(seed_rows=24)  # under 50 seeds: one centroid, the seed mean
    scores = SimilarityEstimator(n_centroids=4).fit(seed, universe).score_samples(universe)
    expected = (
        cosine_similarity(universe, seed.mean(axis=0, keepdims=True))[:, 0]
        - cosine_similarity(universe, universe.mean(axis=0, keepdims=True))[:, 0]
    )
    np.testing.assert_allclose(scores, expected, atol=1e-12)


def test_one_bag_over_the_whole_universe_is_scikit_learns_classifier() -> None:
    seed, universe, _ = _data()
    ratio = len(universe) / len(seed)  # the one bag draws every unlabelled row
    pu = PUEstimator(n_bags=1, ratio=ratio, classifier="logistic", random_state=3)
    scores = pu.fit(seed, universe).score_samples(universe)
    reference = LogisticRegression(C=0.5, max_iter=2000, random_state=3).fit(
        np.vstack([seed, universe]), np.r_[np.ones(len(seed)), np.zeros(len(universe))]
    )
    np.testing.assert_allclose(scores, reference.predict_proba(universe)[:, 1], atol=1e-9)


def test_people_trained_on_are_scored_only_by_the_bags_that_left_them_out() -> None:
    seed, universe, ids = _data()
    pu = PUEstimator(n_bags=4, ratio=1.0, classifier="logistic", random_state=5)
    pu.fit(seed, universe, unlabelled_ids=ids)
    each = np.column_stack([c.predict_proba(universe)[:, 1] for c in pu.classifiers_])
    scores = pu.score_samples(universe, ids)
    person = next(p for p, bags in pu.in_bag_.items() if 0 < len(bags) < 4)
    row = ids.index(person)
    outside = [b for b in range(4) if b not in pu.in_bag_[person]]
    assert scores[row] == pytest.approx(each[row, outside].mean())
    never = [i for i, p in enumerate(ids) if p not in pu.in_bag_]
    np.testing.assert_allclose(scores[never], each[never].mean(axis=1))
    shared = pu.without_people()
    assert not shared.in_bag_ and b"person-" not in pickle.dumps(shared)
    np.testing.assert_allclose(shared.score_samples(universe, ids), each.mean(axis=1))


def test_the_ensemble_is_the_mean_percentile_of_both_methods() -> None:
    seed, universe, _ = _data()
    ensemble = ModelOptions(bags=2, classifier="logistic").estimator("ensemble")
    assert isinstance(ensemble, EnsembleEstimator)
    ensemble.fit(seed, universe)
    rows = np.vstack([seed[:10], universe[:10]])
    similarity = ensemble.similarity.score_samples(universe)
    pu = ensemble.pu.score_samples(universe)
    expected = (
        np.array(
            [percentileofscore(similarity, s) for s in ensemble.similarity.score_samples(rows)]
        )
        + np.array([percentileofscore(pu, s) for s in ensemble.pu.score_samples(rows)])
    ) / 200
    # percentiles read from 1,001 quantiles of the universe scores: within half a percent
    np.testing.assert_allclose(ensemble.score_samples(rows), expected, atol=0.005)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_follows_the_protocol(method: str) -> None:
    seed, universe, ids = _data()
    estimator = ModelOptions(bags=2, classifier="logistic").estimator(method)
    with pytest.raises((ValueError, KeyError)):
        estimator.score_samples(universe)
    assert estimator.fit(seed, universe, unlabelled_ids=ids) is estimator
    scores = estimator.score_samples(np.vstack([seed, universe]))
    assert scores.shape == (len(seed) + len(universe),) and np.isfinite(scores).all()
    assert scores[: len(seed)].mean() > scores[len(seed) :].mean()
    again = ModelOptions(bags=2, classifier="logistic").estimator(method)
    np.testing.assert_array_equal(again.fit(seed, universe).score_samples(universe),
                                  estimator.score_samples(universe))  # fmt: skip
    assert b"person-" not in pickle.dumps(estimator.without_people())


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown method 'knn'"):
        ModelOptions().estimator("knn")
