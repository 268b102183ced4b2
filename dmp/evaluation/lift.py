"""Ranking metrics for lookalike evaluation: recall and lift at audience tiers, AUC, AP, deciles.

A held-out part of the seed (the *positives*) is mixed with a random sample of the universe (the
*negatives*) and everyone is scored. A good model ranks the held-out seeds near the top of the
universe. All functions are exact, vectorised numpy (one O(n log n) sort) and run on the driver
over bounded samples.

Ties. A score tie carries no information about who ranks first, so every figure here is its
expected value over a uniformly random order within each group of tied scores. For a cut-off
that falls inside a tie group holding m negatives, j of them inside the cut, a positive tied with
them lands inside the cut with probability j / (m + 1) and counts that much. This is
deterministic, favours neither positives nor negatives, is the same convention as AUC counting a
tied (positive, negative) pair as 1/2 (Mann-Whitney), and makes the mean of recall over all cuts
equal AUC and a constant score behave exactly like a random one. Average precision is the
exception: it follows scikit-learn, where each distinct score is one threshold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "RankingMetrics",
    "jaccard",
    "mean_metrics",
    "metric_key",
    "ranking_metrics",
    "spearman",
]

# Cuts of the gains curve: every 0.2% over the audience tiers (top 10%), every 1.8% beyond.
_GAINS_GRID = np.r_[np.linspace(0.0, 0.1, 51), np.linspace(0.1, 1.0, 51)[1:]]


@dataclass(frozen=True, eq=False)
class RankingMetrics:
    """How well one scoring ranks held-out seeds (positives) above a universe sample (negatives).

    Attributes:
        positives: Number of held-out seeds scored.
        negatives: Number of universe-sample people scored (N).
        recall_at: ``k -> recall@k``. The universe sample alone is ranked by score; the top-k cut
            is at position ``ceil(k * N)`` of that ranking, so the threshold is the score of the
            ``ceil(k * N)``-th highest negative. recall@k is the share of positives scoring at or
            above the threshold, where a positive tied with the threshold counts fractionally:
            ``j / (m + 1)`` if m negatives share the threshold score and j of them are inside
            the cut (its chance of landing inside under a random order of the tie). This answers
            "is a held-out seed inside the k% audience of the universe"; positives never take
            places in the cut.
        lift_at: ``k -> lift@k = recall@k / k``. A perfect ranking gives ``1 / k`` whatever the
            number of positives; a random or constant score gives
            ``ceil(k * N) / (k * (N + 1))``, about 1, in expectation.
        auc: ROC AUC: the probability that a random positive scores above a random negative,
            ties counted as 1/2 (Mann-Whitney U / (P * N)).
        average_precision: Step-wise average precision as in scikit-learn
            (``sum over distinct scores of (R_n - R_(n-1)) * P_n``), ties forming one threshold.
        deciles: Over the *combined* ranking of positives and negatives (n = P + N people), cut
            at positions ``floor(d * n / 10)``, d = 0..10. Columns ``decile`` (1 = highest
            scores), ``people``, ``positives`` (expected count; fractional where a tie group
            straddles a boundary), ``positive_rate`` (NaN for an empty decile when n < 10),
            ``lift`` (positive_rate / (P / n)) and ``cumulative_recall``.
        gains: Cumulative gains over the *universe-sample* ranking, on the same cut as recall@k:
            ``share_of_universe`` (``c / N`` for 101 cuts ``c = ceil(x * N)``, x every 0.2% up
            to 10% and every 1.8% beyond, so including the endpoints 0 and 1; fewer when N is
            small) and
            ``share_of_positives`` (recall at that cut). At ``share_of_universe = k`` the curve
            equals recall@k; at 1 it is below 1 if some positives score below every negative.
    """

    positives: int
    negatives: int
    recall_at: dict[float, float]
    lift_at: dict[float, float]
    auc: float
    average_precision: float
    deciles: pd.DataFrame
    gains: pd.DataFrame

    def summary(self) -> dict[str, float]:
        """Flat figures with MLflow-safe names, e.g. ``auc``, ``ap``, ``lift_at_1pct``.

        Returns:
            ``positives``, ``negatives``, ``auc``, ``ap`` and for every k ``recall_at_<k>pct``
            and ``lift_at_<k>pct`` (see :func:`metric_key`).
        """
        flat = {
            "positives": float(self.positives),
            "negatives": float(self.negatives),
            "auc": self.auc,
            "ap": self.average_precision,
        }
        for k in sorted(self.recall_at):
            flat[metric_key("recall", k)] = self.recall_at[k]
            flat[metric_key("lift", k)] = self.lift_at[k]
        return flat


def metric_key(metric: str, k: float) -> str:
    """The flat name of a metric at tier k: ``metric_key("lift", 0.01) == "lift_at_1pct"``.

    MLflow rejects ``@`` and ``%`` in metric names, hence ``_at_`` and ``pct``.
    """
    return f"{metric}_at_{round(k * 100, 6):g}pct"


def ranking_metrics(
    scores: np.ndarray, labels: np.ndarray, ks: Sequence[float] = (0.01, 0.05, 0.10)
) -> RankingMetrics:
    """Recall and lift at audience tiers, AUC, average precision, deciles and gains.

    Ties are handled as in the module docstring: every figure is its expected value over a
    random order within tied scores (AUC: a tied pair counts 1/2), except average precision,
    which treats each distinct score as one threshold, as scikit-learn does.

    Args:
        scores: Model scores, higher = more seed-like; finite floats.
        labels: 1/True for a held-out seed (positive), 0/False for a universe-sample person.
        ks: Audience tiers as fractions of the universe sample, each in (0, 1].

    Returns:
        The metrics; see :class:`RankingMetrics` for the exact definitions.

    Raises:
        ValueError: On mismatched or non-finite inputs, labels other than 0/1, no positives or
            no negatives, a k outside (0, 1], or ``k * N < 1`` (a tier smaller than one person
            of the universe sample: score a larger sample or drop that k).
    """
    score, label = _checked(scores, labels)
    positives, negatives = int(label.sum()), int(label.size - label.sum())
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"ranking metrics need both held-out seeds and universe-sample people; got "
            f"{positives} positives and {negatives} negatives"
        )
    tiers = _checked_tiers(ks, negatives)
    groups = _TieGroups.of(score, label)
    recall = {k: float(groups.recall_at_cuts(np.array([_cut(k, negatives)]))[0]) for k in tiers}
    return RankingMetrics(
        positives=positives,
        negatives=negatives,
        recall_at=recall,
        lift_at={k: recall[k] / k for k in tiers},
        auc=groups.auc(),
        average_precision=groups.average_precision(),
        deciles=groups.deciles(),
        gains=groups.gains(),
    )


def mean_metrics(runs: Sequence[RankingMetrics]) -> dict[str, float]:
    """Average the :meth:`RankingMetrics.summary` figures over repeated splits.

    Args:
        runs: One result per split, all computed with the same ks.

    Returns:
        Every summary key with its mean, and ``<key>_std``: the sample standard deviation
        (ddof=1), NaN when there is a single run.

    Raises:
        ValueError: If ``runs`` is empty or the runs were computed with different ks.
    """
    if not runs:
        raise ValueError("mean_metrics needs at least one run")
    summaries = [run.summary() for run in runs]
    keys = list(summaries[0])
    if any(list(s) != keys for s in summaries[1:]):
        raise ValueError("runs have different metrics; compute every split with the same ks")
    table = np.array([[s[key] for key in keys] for s in summaries], dtype=float)
    means = table.mean(axis=0)
    stds = table.std(axis=0, ddof=1) if len(runs) > 1 else np.full(len(keys), np.nan)
    result = {key: float(m) for key, m in zip(keys, means, strict=True)}
    result.update({f"{key}_std": float(s) for key, s in zip(keys, stds, strict=True)})
    return result


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation: Pearson correlation of average ranks (ties = average rank).

    Used as a popularity-bias guardrail (score vs activity).

    Args:
        a: First variable, finite.
        b: Second variable, same length, finite.

    Returns:
        The correlation in [-1, 1]; NaN if either input is constant (no ranking to compare).

    Raises:
        ValueError: On different lengths, fewer than two values or non-finite values.
    """
    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if x.size != y.size or x.size < 2:
        raise ValueError(f"spearman needs two arrays of equal length >= 2; got {x.size}, {y.size}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("spearman inputs must be finite (no NaN or infinity)")
    rx, ry = _average_ranks(x), _average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = math.sqrt(float(rx @ rx) * float(ry @ ry))
    if denominator == 0.0:
        return math.nan
    return float(np.clip(float(rx @ ry) / denominator, -1.0, 1.0))


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    """Overlap of two sets of people, |A ∩ B| / |A ∪ B|, e.g. top tiers of two reruns.

    Returns:
        A value in [0, 1]; 1.0 when both are empty (two empty tiers are identical).
    """
    left, right = set(a), set(b)
    union = len(left | right)
    return 1.0 if union == 0 else len(left & right) / union


# --- internals ---------------------------------------------------------------------------------


def _checked(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    score = np.asarray(scores, dtype=float).ravel()
    raw = np.asarray(labels).ravel()
    if score.size != raw.size:
        raise ValueError(f"scores and labels differ in length: {score.size} vs {raw.size}")
    if not np.isfinite(score).all():
        raise ValueError("scores must be finite (no NaN or infinity); fill or drop them first")
    if raw.size and not np.isin(raw, (0, 1)).all():
        raise ValueError("labels must be 0/1 or booleans (1 = held-out seed)")
    return score, raw.astype(bool)


def _checked_tiers(ks: Sequence[float], negatives: int) -> list[float]:
    tiers = sorted({float(k) for k in ks})
    for k in tiers:
        if not 0.0 < k <= 1.0:
            raise ValueError(f"tier k={k} must be a fraction in (0, 1], e.g. 0.01 for 1%")
        if round(k * negatives, 6) < 1.0:  # same rounding as _cut
            raise ValueError(
                f"tier k={k} is less than one person of a universe sample of {negatives}; "
                f"score at least {math.ceil(1 / k)} universe-sample people or drop this tier"
            )
    return tiers


def _cut(k: float, negatives: int) -> int:
    # Rounding first keeps 0.07 * 100 == 7.000000000000001 from becoming a cut of 8.
    return math.ceil(round(k * negatives, 6))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, ordered.size])
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(starts + (sizes + 1) / 2.0, sizes)
    return ranks


@dataclass(frozen=True, eq=False)
class _TieGroups:
    """Distinct scores in descending order with the positives and negatives holding each."""

    pos: np.ndarray  # positives per group
    neg: np.ndarray  # negatives per group

    @classmethod
    def of(cls, score: np.ndarray, label: np.ndarray) -> _TieGroups:
        order = np.argsort(-score, kind="stable")
        ordered = score[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        pos = np.add.reduceat(label[order].astype(np.int64), starts)
        sizes = np.diff(np.r_[starts, ordered.size])
        return cls(pos=pos, neg=sizes - pos)

    @property
    def total_pos(self) -> int:
        return int(self.pos.sum())

    @property
    def total_neg(self) -> int:
        return int(self.neg.sum())

    def auc(self) -> float:
        negatives_below = self.total_neg - np.cumsum(self.neg)
        pairs = float(self.pos @ (negatives_below + 0.5 * self.neg))
        return pairs / (self.total_pos * self.total_neg)

    def average_precision(self) -> float:
        true_pos = np.cumsum(self.pos)
        precision = true_pos / (true_pos + np.cumsum(self.neg))
        return float(self.pos @ precision) / self.total_pos

    def recall_at_cuts(self, cuts: np.ndarray) -> np.ndarray:
        """Recall when the audience is the top ``cuts`` negatives (0 <= cut <= N)."""
        neg_through = np.cumsum(self.neg)
        pos_before = np.cumsum(self.pos) - self.pos
        group = np.searchsorted(neg_through, np.maximum(cuts, 1), side="left")
        # j of the group's m negatives are inside the cut: a tied positive is inside w.p. j/(m+1).
        inside = (cuts - (neg_through[group] - self.neg[group])) / (self.neg[group] + 1)
        captured = pos_before[group] + inside * self.pos[group]
        return np.where(cuts > 0, captured / self.total_pos, 0.0)

    def gains(self) -> pd.DataFrame:
        n = self.total_neg
        cuts = np.unique(np.ceil(np.round(_GAINS_GRID * n, 6)))
        cuts = cuts.astype(np.int64)
        return pd.DataFrame(
            {"share_of_universe": cuts / n, "share_of_positives": self.recall_at_cuts(cuts)}
        )

    def deciles(self) -> pd.DataFrame:
        sizes = self.pos + self.neg
        n = int(sizes.sum())
        bounds = (np.arange(11) * n) // 10
        starts = np.cumsum(sizes) - sizes
        group = np.clip(np.searchsorted(starts, bounds, side="right") - 1, 0, sizes.size - 1)
        pos_before = np.cumsum(self.pos) - self.pos
        # Positives are spread evenly over the positions of their tie group.
        through = pos_before[group] + self.pos[group] * (bounds - starts[group]) / sizes[group]
        positives = np.diff(through)
        people = np.diff(bounds)
        rate = np.divide(positives, people, out=np.full(10, np.nan), where=people > 0)
        return pd.DataFrame(
            {
                "decile": np.arange(1, 11),
                "people": people,
                "positives": positives,
                "positive_rate": rate,
                "lift": rate / (self.total_pos / n),
                "cumulative_recall": np.cumsum(positives) / self.total_pos,
            }
        )
