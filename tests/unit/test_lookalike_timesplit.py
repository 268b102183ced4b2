"""The honest headline's pure parts: snapshot choice, the leakage guard (against scikit-learn)
and the time-split evaluation on planted data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from dmp.lookalike.features import FeatureSpec
from dmp.lookalike.settings import LookalikeSettings
from dmp.lookalike.timesplit import (
    CONVERTED,
    early_snapshot,
    feature_aucs,
    forward_evaluate,
    leaky_features,
    without_features,
)

SNAPSHOTS = ["2026-01-01", "2026-01-05", "2026-01-09", "2026-01-10"]


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [(1, date(2026, 1, 9)), (4, date(2026, 1, 5)), (5, date(2026, 1, 5)), (9, date(2026, 1, 1))],
)
def test_the_early_snapshot_is_the_latest_one_a_horizon_back(horizon: int, expected: date) -> None:
    assert early_snapshot(SNAPSHOTS, date(2026, 1, 10), horizon) == expected


def test_no_early_snapshot_when_none_is_old_enough() -> None:
    assert early_snapshot(SNAPSHOTS, date(2026, 1, 10), 10) is None
    assert early_snapshot([], date(2026, 1, 10), 1) is None


@pytest.mark.parametrize("trial", range(20))
def test_feature_aucs_agree_with_scikit_learn(trial: int) -> None:
    rng = np.random.default_rng(trial)
    seed = np.c_[
        rng.normal(trial % 3, 1, 40), rng.integers(0, 3, 40), np.zeros(40), rng.random(40)
    ]  # fmt: skip
    universe = np.c_[
        rng.normal(0, 1, 70), rng.integers(0, 4, 70), np.zeros(70), rng.random(70)
    ]  # fmt: skip
    labels = np.r_[np.ones(len(seed)), np.zeros(len(universe))]
    found = feature_aucs(seed, universe)
    for column in range(seed.shape[1]):
        values = np.r_[seed[:, column], universe[:, column]]
        assert found[column] == pytest.approx(roc_auc_score(labels, values), abs=1e-12)


def _spec() -> FeatureSpec:
    return FeatureSpec.build(["skincare", "toys"], [], 2)


def _frame(rows: int, rng: np.random.Generator, **fixed: np.ndarray) -> pd.DataFrame:
    spec = _spec()
    frame = pd.DataFrame(rng.normal(size=(rows, len(spec.names))), columns=list(spec.names))
    for name, values in fixed.items():
        frame[name] = values
    frame.insert(0, "person_id", [f"p{rng.integers(1 << 40)}" for _ in range(rows)])
    return frame


def test_the_leakage_guard_names_separating_features_either_way() -> None:
    rng = np.random.default_rng(3)
    seed = _frame(200, rng, aff_skincare=rng.uniform(0.8, 1.0, 200), log_aov=np.zeros(200))
    pool = _frame(600, rng, aff_skincare=rng.uniform(0.0, 0.5, 600), log_aov=np.ones(600))
    leaky = leaky_features(_spec(), seed, pool, 0.95)
    assert set(leaky) == {"aff_skincare", "log_aov"}
    assert leaky["aff_skincare"] == 1.0 and leaky["log_aov"] == 0.0  # low values separate too
    kept = without_features(_spec(), list(leaky))
    assert "aff_skincare" not in kept.names and "log_aov" not in kept.names
    assert len(kept.names) == len(_spec().names) - 2
    with pytest.raises(ValueError, match="before fitting"):
        without_features(_spec().fitted(pool), ["aff_toys"])


def _planted(rng: np.random.Generator, converters: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeds and converters lean to skincare; activity is unrelated to converting."""
    seed = _frame(200, rng, aff_skincare=rng.normal(1.5, 1.0, 200))
    pool = _frame(2000, rng)
    propensity = 1 / (1 + np.exp(-(2.0 * pool["aff_skincare"].to_numpy() - 4.0)))
    pool[CONVERTED] = (rng.random(len(pool)) < propensity * converters).astype(float)
    return seed, pool


@pytest.mark.parametrize("method", ["similarity", "pu", "ensemble"])
def test_every_method_beats_random_and_activity_on_planted_converters(method: str) -> None:
    rng = np.random.default_rng(11)
    seed, pool = _planted(rng, 1.0)
    settings = LookalikeSettings(bags=2, splits=2, evaluation_universe=1000, classifier="logistic")
    spec = _spec().fitted(pool)
    evaluation = forward_evaluate(spec, seed, pool, [method], settings)
    assert evaluation.kind == "time-split"
    assert evaluation.heldout > 15  # converters ranked in the first split
    lift = {n: m["lift_at_5pct"] for n, m in evaluation.methods.items()}
    assert lift[method] >= 1.5 * lift["random"]
    assert lift[method] >= 1.5 * lift["activity"]
    assert evaluation.methods[method]["auc"] > 0.6


def test_a_seed_unrelated_to_who_converts_does_not_beat_random() -> None:
    rng = np.random.default_rng(5)
    seed, pool = _planted(rng, 1.0)
    seed["aff_skincare"] = rng.normal(0.0, 1.0, len(seed))  # the seed is random people
    pool["aff_skincare"] = rng.permutation(pool["aff_skincare"].to_numpy())
    settings = LookalikeSettings(bags=2, splits=2, evaluation_universe=1000, classifier="logistic")
    evaluation = forward_evaluate(_spec().fitted(pool), seed, pool, ["pu"], settings)
    assert 0.35 < evaluation.methods["pu"]["auc"] < 0.65
    assert evaluation.best(["pu"])[1].startswith("auto: best time-split lift@1%")


def test_no_converter_in_the_evaluated_part_is_an_error_the_stage_reports() -> None:
    rng = np.random.default_rng(2)
    seed, pool = _planted(rng, 0.0)
    settings = LookalikeSettings(bags=2, splits=1, evaluation_universe=500, classifier="logistic")
    with pytest.raises(ValueError, match="0 positives"):
        forward_evaluate(_spec().fitted(pool), seed, pool, ["similarity"], settings)
