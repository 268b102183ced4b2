"""AUC of a whole-universe ranking from its positives' ranks, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dmp.evaluation.lookalike import auc_from_ranks


@pytest.mark.parametrize("trial", range(5))
def test_auc_from_ranks_agrees_with_scikit_learn(spark, trial: int) -> None:
    rng = np.random.default_rng(trial)
    size = int(rng.integers(20, 300))
    scores = rng.permutation(size).astype(float) + rng.normal(0, trial, size)
    labels = rng.random(size) < 0.1 + 0.02 * trial
    labels[0], labels[1] = True, False
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(size, dtype=int)
    rank[order] = np.arange(1, size + 1)
    rows = [(f"p{i}", int(rank[i])) for i in range(size) if labels[i]]
    positives = spark.createDataFrame(rows, "person_id string, rank long")
    assert auc_from_ranks(positives, size) == pytest.approx(roc_auc_score(labels, scores))
