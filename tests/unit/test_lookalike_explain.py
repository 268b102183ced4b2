"""Permutation importance against scikit-learn, and value-based lookalikes on a world where
value differs between two kinds of seed people."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dmp.lookalike.explain import holdout_set, permutation_importance
from dmp.lookalike.features import FeatureSpec
from dmp.lookalike.settings import LookalikeSettings
from dmp.lookalike.value import value_capture, value_weights


def _classification(seed: int, rows: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(rows, 5))
    logit = 2.0 * matrix[:, 0] - 1.0 * matrix[:, 1] + 0.3 * matrix[:, 2]
    labels = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return matrix, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_column_importance_is_scikit_learns(seed: int) -> None:
    from sklearn.inspection import permutation_importance as reference
    from sklearn.linear_model import LogisticRegression

    matrix, labels = _classification(seed)
    model = LogisticRegression().fit(matrix, labels)
    expected = reference(
        model, matrix, labels, scoring="roc_auc", n_repeats=4, random_state=seed + 10
    )
    found = permutation_importance(
        model.decision_function, matrix, labels, {f"x{i}": [i] for i in range(5)},
        n_repeats=4, random_state=seed + 10,
    ).set_index("feature")  # fmt: skip
    for i in range(5):
        assert found.loc[f"x{i}", "importance"] == pytest.approx(
            expected.importances_mean[i], abs=1e-12
        )
        assert found.loc[f"x{i}", "importance_std"] == pytest.approx(
            expected.importances_std[i], abs=1e-12
        )
    assert list(found.index[:2]) == ["x0", "x1"]


def test_columns_of_one_source_are_shuffled_together() -> None:
    rng = np.random.default_rng(4)
    signal = rng.normal(size=600)
    labels = (signal + 0.5 * rng.normal(size=600) > 0).astype(int)
    # two copies of the signal (one-hot values of one column, say) and a column of noise
    matrix = np.column_stack([signal, signal, rng.normal(size=600)])

    def score(rows: np.ndarray) -> np.ndarray:
        return rows[:, 0] + rows[:, 1]

    single = permutation_importance(score, matrix, labels, {"a": [0], "b": [1], "noise": [2]})
    grouped = permutation_importance(score, matrix, labels, {"ab": [0, 1], "noise": [2]})
    single, grouped = single.set_index("feature"), grouped.set_index("feature")
    assert grouped.loc["ab", "importance"] > single.loc["a", "importance"] + 0.1
    assert grouped.loc["ab", "importance"] > 0.3
    assert grouped.loc["noise", "importance"] == 0.0  # the score never reads it


def test_value_weights() -> None:
    weights = value_weights(np.array([0.0, 1.0, 1.0, 2.0, np.nan, -5.0]))
    assert weights.min() == pytest.approx(0.05)
    assert weights[3] > weights[1] > weights[0]
    assert np.all(value_weights(np.zeros(4)) == 1.0)
    skewed = value_weights(np.array([1.0] * 99 + [1e6]))
    assert skewed.max() < 1e6 / np.mean([1.0] * 99 + [1e6])  # the whale is capped


def test_value_capture_counts_people_and_value_in_the_top() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.0, 0.5, 0.4, 0.3, 0.2])
    labels = np.array([1, 0, 1, 0, 1, 0, 0, 0, 0, 0])
    values = np.array([10.0, 0, 30.0, 0, 60.0, 0, 0, 0, 0, 0])
    found = value_capture(scores, labels, values, [0.2, 0.5])
    assert found["people_at_20pct"] == pytest.approx(1 / 3)
    assert found["value_at_20pct"] == pytest.approx(0.1)
    assert found["people_at_50pct"] == pytest.approx(2 / 3)
    assert found["value_at_50pct"] == pytest.approx(0.4)


def _value_world(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Seeds of two kinds: a few big spenders near one point, many small ones near another;
    the universe holds look-alikes of both among background people."""
    rng = np.random.default_rng(seed)
    big, small = np.array([2.5, 0.0, 0.0, 0.0]), np.array([0.0, 2.5, 0.0, 0.0])

    def people(centre: np.ndarray, n: int) -> np.ndarray:
        return centre + rng.normal(scale=0.8, size=(n, 4))

    seed_rows = np.vstack([people(big, 120), people(small, 380)])
    values = np.concatenate(
        [rng.lognormal(np.log(200), 0.3, 120), rng.lognormal(np.log(5), 0.3, 380)]
    )
    pool_rows = np.vstack([people(big, 150), people(small, 450), rng.normal(size=(5400, 4))])

    def frame(rows: np.ndarray, prefix: str) -> pd.DataFrame:
        out = pd.DataFrame(rows, columns=[f"f{i}" for i in range(4)])
        out.insert(0, "person_id", [f"{prefix}{i}" for i in range(len(rows))])
        return out

    return frame(seed_rows, "s"), frame(pool_rows, "u"), values


def test_a_value_weighted_audience_captures_more_value_in_the_top_tier() -> None:
    method = "pu"  # similarity only moves its centroids with the weights (see value.py)
    seed, pool, values = _value_world(7)
    spec = FeatureSpec((), (), 0, tuple(f"f{i}" for i in range(4))).fitted(pool)
    options = LookalikeSettings(bags=4, classifier="logistic", holdout_share=0.3, random_seed=3)
    plain = holdout_set(method, spec, seed, pool, options, seed_values=values)
    weighted = holdout_set(
        method, spec, seed, pool, options, seed_values=values, seed_weights=value_weights(values)
    )
    assert plain.values is not None and weighted.values is not None
    before = value_capture(plain.scores(), plain.labels, plain.values, [0.02, 0.05])
    after = value_capture(weighted.scores(), weighted.labels, weighted.values, [0.02, 0.05])
    assert after["value_at_2pct"] > before["value_at_2pct"] + 0.1
    assert after["value_at_5pct"] > before["value_at_5pct"]
    # the value-blind audience finds more seed people: it favours the many small spenders
    assert before["people_at_2pct"] >= after["people_at_2pct"] - 0.05


def test_explain_model_reports_importance_and_value_capture() -> None:
    from dmp.lookalike.explain import explain_model

    seed, pool, values = _value_world(11)
    names = {"f0": "log_orders", "f1": "app_share", "f2": "city_tier", "f3": "vip_level"}
    seed, pool = seed.rename(columns=names), pool.rename(columns=names)
    spec = FeatureSpec((), (), 0, tuple(names.values())).fitted(pool)
    options = LookalikeSettings(
        bags=2, classifier="logistic", holdout_share=0.3, explain_rows=1200, explain_repeats=2
    )
    explained = explain_model("ensemble", spec, seed, pool, options, values)
    importance = explained.importance.set_index("feature")
    # the two directions the seed people differ in matter; the other two are noise
    # named by the profile column each feature comes from
    assert set(importance.index) == {"orders_count", "app_share", "city_tier", "vip_level"}
    assert min(importance.loc[["orders_count", "app_share"], "importance"]) > max(
        importance.loc[["city_tier", "vip_level"], "importance"]
    )
    capture = explained.value_capture
    assert capture is not None and list(capture["tier_percent"]) == [1, 5, 10]
    assert (capture["value_share"] >= 0).all() and (capture["value_share"] <= 1).all()
    assert explain_model("pu", spec, seed, pool, options).value_capture is None
