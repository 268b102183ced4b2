"""Ranking metrics against scikit-learn/SciPy, hand-computed fixtures and invariants."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from dmp.evaluation.lift import (
    RankingMetrics,
    jaccard,
    mean_metrics,
    metric_key,
    ranking_metrics,
    spearman,
)


def _case(negatives: list[float], positives: list[float], ks: tuple[float, ...]) -> RankingMetrics:
    scores = np.array(negatives + positives, dtype=float)
    labels = np.array([0] * len(negatives) + [1] * len(positives))
    return ranking_metrics(scores, labels, ks=ks)


def _random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scores with anything from no ties to heavy ties (2..40 distinct values), some signal."""
    n = int(rng.integers(20, 400))
    labels = rng.random(n) < rng.uniform(0.02, 0.6)
    labels[0], labels[1] = True, False  # both classes present
    distinct = int(rng.choice([2, 3, 5, 10, 40, 10_000]))
    scores = rng.integers(0, distinct, n) + rng.uniform(0, 0.6 * distinct) * labels
    return np.floor(scores).astype(float), labels


# --- reference answers -------------------------------------------------------------------------


def test_auc_and_average_precision_equal_sklearn_on_500_random_cases_with_ties() -> None:
    rng = np.random.default_rng(20240601)
    for _ in range(500):
        scores, labels = _random_case(rng)
        metrics = ranking_metrics(scores, labels, ks=(0.5,))
        assert metrics.auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
        assert metrics.average_precision == pytest.approx(
            average_precision_score(labels, scores), abs=1e-12
        )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=60).filter(
        lambda rows: len({label for _, label in rows}) == 2
    )
)
def test_auc_and_ap_equal_sklearn_hypothesis(rows: list[tuple[int, bool]]) -> None:
    scores = np.array([s for s, _ in rows], dtype=float)
    labels = np.array([label for _, label in rows])
    metrics = ranking_metrics(scores, labels, ks=(1.0,))
    assert metrics.auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert metrics.average_precision == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_mean_recall_over_all_cuts_equals_auc_so_ties_favour_neither_side() -> None:
    # Averaging recall over every cut c = 1..N counts, for each positive, the expected number of
    # negatives below it (ties: half the tied negatives) - which is exactly the Mann-Whitney AUC.
    # A tie rule leaning towards positives (e.g. j/m instead of j/(m+1)) would break this.
    rng = np.random.default_rng(7)
    for _ in range(200):
        scores, labels = _random_case(rng)
        negatives = int((~labels).sum())
        ks = tuple(c / negatives for c in range(1, negatives + 1))
        metrics = ranking_metrics(scores, labels, ks=ks)
        mean_recall = np.mean(list(metrics.recall_at.values()))
        assert mean_recall == pytest.approx(roc_auc_score(labels, scores), abs=1e-9)


def test_tie_rule_is_the_expectation_over_random_tie_orders() -> None:
    # Breaking ties by random jitter many times and averaging must approach the exact figure.
    negatives = [3.0] * 4 + [2.0] * 6 + [1.0] * 10
    positives = [3.0, 2.0, 2.0, 1.0]
    exact = _case(negatives, positives, ks=(0.1, 0.25, 0.4)).recall_at
    rng = np.random.default_rng(3)
    scores = np.array(negatives + positives)
    labels = np.array([0] * 20 + [1] * 4)
    draws = [
        ranking_metrics(scores + rng.uniform(0, 1e-3, 24), labels, ks=(0.1, 0.25, 0.4)).recall_at
        for _ in range(4000)
    ]
    for k, value in exact.items():
        assert np.mean([d[k] for d in draws]) == pytest.approx(value, abs=0.01)


def test_spearman_equals_scipy_with_ties() -> None:
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(3, 300))
        a = rng.integers(0, int(rng.integers(2, 50)), n).astype(float)
        b = a * rng.uniform(-1, 1) + rng.integers(0, 20, n)
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            continue
        assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


# --- hand-computed fixture ---------------------------------------------------------------------

# N = 10 negatives: 9, 8, 7, 5, 5, 5, 5, 3, 2, 1.   P = 4 positives: 10, 8, 5, 0.
NEGATIVES = [9.0, 8.0, 7.0, 5.0, 5.0, 5.0, 5.0, 3.0, 2.0, 1.0]
POSITIVES = [10.0, 8.0, 5.0, 0.0]


def test_recall_and_lift_by_hand() -> None:
    metrics = _case(NEGATIVES, POSITIVES, ks=(0.1, 0.2, 0.3, 0.5))
    # k=0.1: cut ceil(1) = 1 -> threshold 9. Only the positive 10 is above: 1/4.
    # k=0.2: cut 2 -> threshold 8, held by one negative (m=1, j=1). The positive 8 is tied with
    #        it: inside with probability j/(m+1) = 1/2. Recall (1 + 0.5) / 4 = 0.375.
    # k=0.3: cut 3 -> threshold 7: positives 10 and 8 are above: 2/4.
    # k=0.5: cut 5 -> threshold 5: 3 negatives above (9, 8, 7), m=4 tied at 5, j=5-3=2 inside.
    #        Positive 5 counts 2/5 = 0.4: recall (2 + 0.4) / 4 = 0.6.
    assert metrics.recall_at == pytest.approx({0.1: 0.25, 0.2: 0.375, 0.3: 0.5, 0.5: 0.6})
    # lift = recall / k.
    assert metrics.lift_at == pytest.approx({0.1: 2.5, 0.2: 1.875, 0.3: 0.5 / 0.3, 0.5: 1.2})
    assert (metrics.positives, metrics.negatives) == (4, 10)


def test_auc_ap_by_hand() -> None:
    metrics = _case(NEGATIVES, POSITIVES, ks=(0.1,))
    # Pairs won (tie = 1/2): 10 beats all 10; 8 beats 8 and ties 1 (8.5); 5 beats 3 and ties 4
    # (5); 0 beats none. (10 + 8.5 + 5 + 0) / (4 * 10) = 0.5875.
    assert metrics.auc == pytest.approx(0.5875)
    # AP: at score 10 precision 1/1, at 8 precision 2/4, at 5 precision 3/10, at 0 precision
    # 4/14; each adds 1/4 of recall.
    assert metrics.average_precision == pytest.approx((1 + 0.5 + 0.3 + 4 / 14) / 4)


def test_deciles_by_hand() -> None:
    deciles = _case(NEGATIVES, POSITIVES, ks=(0.1,)).deciles
    # Combined ranking of n = 14: 10P | 9N | 8P 8N (tie) | 7N | 5P 5N 5N 5N 5N (tie) | 3N 2N 1N | 0P
    # Boundaries floor(d * 14 / 10) = 0 1 2 4 5 7 8 9 11 12 14.
    # The positive among the five tied at 5 (positions 5..9) counts 1/5 per position.
    assert deciles["people"].tolist() == [1, 1, 2, 1, 2, 1, 1, 2, 1, 2]
    assert deciles["positives"].tolist() == pytest.approx([1, 0, 1, 0, 0.4, 0.2, 0.2, 0.2, 0, 1])
    assert deciles["positive_rate"].tolist() == pytest.approx(
        [1, 0, 0.5, 0, 0.2, 0.2, 0.2, 0.1, 0, 0.5]
    )
    # lift = rate / (4 / 14): the top decile is 3.5x the base rate.
    assert deciles["lift"].iloc[0] == pytest.approx(3.5)
    assert deciles["cumulative_recall"].tolist() == pytest.approx(
        [0.25, 0.25, 0.5, 0.5, 0.6, 0.65, 0.7, 0.75, 0.75, 1.0]
    )
    assert deciles["decile"].tolist() == list(range(1, 11))


def test_gains_by_hand_and_consistent_with_recall() -> None:
    metrics = _case(NEGATIVES, POSITIVES, ks=(0.1, 0.2, 0.3, 0.5))
    gains = metrics.gains
    # N = 10, so the cuts are c = 0..10 and shares c / 10. c=4: threshold 5, j=1 of m=4 -> the
    # tied positive counts 1/5; c=6: 3/5; c=7: 4/5; c >= 8 all of 10, 8, 5 but never 0 (below
    # every negative), so the curve ends at 3/4.
    assert gains["share_of_universe"].tolist() == pytest.approx([c / 10 for c in range(11)])
    assert gains["share_of_positives"].tolist() == pytest.approx(
        [0, 0.25, 0.375, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.75, 0.75]
    )
    for k, recall in metrics.recall_at.items():
        row = gains.loc[np.isclose(gains["share_of_universe"], k)]
        assert row["share_of_positives"].item() == pytest.approx(recall)


def test_gains_have_about_100_points_and_both_endpoints() -> None:
    rng = np.random.default_rng(0)
    gains = ranking_metrics(rng.random(5000), rng.random(5000) < 0.05).gains
    assert 95 <= len(gains) <= 102
    assert gains["share_of_universe"].iloc[0] == 0.0
    assert gains["share_of_universe"].iloc[-1] == 1.0
    assert gains["share_of_positives"].is_monotonic_increasing


# --- expectations: perfect, reversed and random rankings --------------------------------------


@pytest.mark.parametrize("positives", [5, 10, 50, 3000])
def test_perfect_ranking_gives_lift_one_over_k_whatever_the_number_of_positives(
    positives: int,
) -> None:
    # The cut is taken in the universe sample alone, so positives never use up audience places:
    # with every positive above every negative, recall@k = 1 and lift@k = 1/k (100 at 1%) even
    # when positives outnumber the 1% cut (10 people here) or the whole sample.
    metrics = _case(list(range(1000)), [5000.0] * positives, ks=(0.01, 0.05, 0.10))
    assert metrics.lift_at == pytest.approx({0.01: 100.0, 0.05: 20.0, 0.10: 10.0})
    assert metrics.auc == 1.0
    assert metrics.average_precision == 1.0


def test_reversed_ranking_gives_zero() -> None:
    metrics = _case(list(range(100, 1100)), [0.0] * 20, ks=(0.01, 0.5))
    assert metrics.lift_at == {0.01: 0.0, 0.5: 0.0}
    assert metrics.auc == 0.0


@pytest.mark.parametrize("distinct", [None, 3])
def test_random_scores_give_lift_about_one_over_many_seeds(distinct: int | None) -> None:
    # With N = 2000 and P = 200, a single run's lift@10% has sd ~0.2; over 200 seeds the mean has
    # sd ~0.015. Expected value: ceil(kN) / (k (N + 1)) = 2000/2001, with or without ties.
    lifts: dict[float, list[float]] = {0.01: [], 0.10: []}
    aucs = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        scores = rng.random(2200) if distinct is None else rng.integers(0, distinct, 2200) * 1.0
        labels = np.r_[np.zeros(2000, bool), np.ones(200, bool)]
        metrics = ranking_metrics(scores, labels, ks=(0.01, 0.10))
        for k in lifts:
            lifts[k].append(metrics.lift_at[k])
        aucs.append(metrics.auc)
    assert np.mean(lifts[0.10]) == pytest.approx(1.0, abs=0.06)
    assert np.mean(lifts[0.01]) == pytest.approx(1.0, abs=0.2)
    assert np.mean(aucs) == pytest.approx(0.5, abs=0.01)


# --- edge cases --------------------------------------------------------------------------------


def test_all_tied_behaves_like_a_random_score_exactly() -> None:
    # One tie group: j = ceil(kN) of m = N negatives inside, so recall = ceil(kN) / (N + 1).
    metrics = _case([1.0] * 200, [1.0] * 30, ks=(0.01, 0.1, 1.0))
    assert metrics.recall_at == pytest.approx({0.01: 2 / 201, 0.1: 20 / 201, 1.0: 200 / 201})
    assert metrics.lift_at[0.01] == pytest.approx(200 / 201)
    assert metrics.auc == 0.5
    # Every decile holds the base rate; AP is the base rate (one threshold).
    assert metrics.deciles["lift"].tolist() == pytest.approx([1.0] * 10)
    assert metrics.average_precision == pytest.approx(30 / 230)


def test_tier_below_one_person_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"k=0.01 .* sample of 50; score at least 100"):
        _case(list(range(50)), [1.0], ks=(0.01,))
    # k * N == 1 exactly is the smallest valid tier.
    assert _case(list(range(100)), [1000.0], ks=(0.01,)).lift_at[0.01] == 100.0


@pytest.mark.parametrize(
    ("scores", "labels", "ks", "message"),
    [
        ([1.0, 2.0], [0, 0], (0.5,), "0 positives and 2 negatives"),
        ([1.0, 2.0], [1, 1], (0.5,), "2 positives and 0 negatives"),
        ([], [], (0.5,), "0 positives and 0 negatives"),
        ([1.0, 2.0], [1], (0.5,), "differ in length"),
        ([1.0, math.nan], [1, 0], (0.5,), "finite"),
        ([1.0, math.inf], [1, 0], (0.5,), "finite"),
        ([1.0, 2.0], [1, 2], (0.5,), "0/1"),
        ([1.0, 2.0], [1, 0], (0.0,), r"\(0, 1\]"),
        ([1.0, 2.0], [1, 0], (1.5,), r"\(0, 1\]"),
    ],
)
def test_bad_inputs_raise_clear_errors(
    scores: list[float], labels: list[int], ks: tuple[float, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ranking_metrics(np.array(scores), np.array(labels), ks=ks)


def test_whole_cuts_are_not_rounded_up_by_floating_point() -> None:
    # 0.07 * 100 == 7.000000000000001 must cut at 7, not 8: a positive at 92.5 sits between the 7th
    # (93) and 8th (92) highest negative.
    metrics = _case([float(s) for s in range(100)], [92.5], ks=(0.07,))
    assert metrics.recall_at[0.07] == 0.0


def test_one_million_scores_is_fast() -> None:
    rng = np.random.default_rng(1)
    scores, labels = rng.random(1_000_000), rng.random(1_000_000) < 0.01
    started = time.perf_counter()
    ranking_metrics(scores, labels)
    assert time.perf_counter() - started < 5.0


# --- summaries, spearman, jaccard --------------------------------------------------------------


def test_summary_names_are_flat_and_mlflow_safe() -> None:
    summary = _case(NEGATIVES, POSITIVES, ks=(0.1, 0.5)).summary()
    assert summary == pytest.approx(
        {
            "positives": 4.0,
            "negatives": 10.0,
            "auc": 0.5875,
            "ap": (1 + 0.5 + 0.3 + 4 / 14) / 4,
            "recall_at_10pct": 0.25,
            "lift_at_10pct": 2.5,
            "recall_at_50pct": 0.6,
            "lift_at_50pct": 1.2,
        }
    )
    assert metric_key("lift", 0.01) == "lift_at_1pct"
    assert metric_key("recall", 0.005) == "recall_at_0.5pct"
    assert metric_key("lift", 0.07) == "lift_at_7pct"


def test_mean_metrics_averages_splits_with_sample_std() -> None:
    first = _case(NEGATIVES, POSITIVES, ks=(0.1,))
    second = _case(NEGATIVES, [10.0, 10.0, 10.0, 10.0], ks=(0.1,))  # lift@10% = 10
    result = mean_metrics([first, second])
    assert result["lift_at_10pct"] == pytest.approx((2.5 + 10) / 2)
    assert result["lift_at_10pct_std"] == pytest.approx(np.std([2.5, 10], ddof=1))
    assert result["auc"] == pytest.approx((0.5875 + 1.0) / 2)
    assert set(result) == {*first.summary(), *(f"{k}_std" for k in first.summary())}
    single = mean_metrics([first])
    assert single["auc"] == 0.5875 and math.isnan(single["auc_std"])


def test_mean_metrics_rejects_empty_and_mixed_tiers() -> None:
    with pytest.raises(ValueError, match="at least one run"):
        mean_metrics([])
    with pytest.raises(ValueError, match="same ks"):
        mean_metrics([_case(NEGATIVES, POSITIVES, (0.1,)), _case(NEGATIVES, POSITIVES, (0.2,))])


def test_spearman_edge_cases() -> None:
    assert math.isnan(spearman(np.ones(5), np.arange(5)))
    assert spearman(np.arange(5), -np.arange(5.0)) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="equal length"):
        spearman(np.arange(3), np.arange(4))
    with pytest.raises(ValueError, match="finite"):
        spearman(np.array([1.0, math.nan]), np.array([1.0, 2.0]))


def test_jaccard() -> None:
    assert jaccard(["a", "b", "c"], ["b", "c", "d"]) == pytest.approx(2 / 4)
    assert jaccard(["a"], ["a", "a"]) == 1.0
    assert jaccard([], []) == 1.0
    assert jaccard(["a"], []) == 0.0
    assert jaccard(pd.Series(["x", "y"]), iter(["y"])) == 0.5
