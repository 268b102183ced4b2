"""Value-based lookalikes: seeds weighted by a numeric profile column (``--value``), and the
share of the held-out seed value each audience tier captures."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql.types import NumericType

from dmp.errors import UserError

_MIN_WEIGHT = 0.05
"""Weight floor: a seed person without value still says a little about who looks alike."""
_CAP_QUANTILE = 0.99
"""Weights above this quantile are capped, so one whale does not become the whole seed."""


def check_value_column(profiles: DataFrame, column: str) -> None:
    """Refuse a ``--value`` column the profiles lack or that is not numeric.

    Raises:
        UserError: One line naming the column and the numeric columns there are.
    """
    fields = {f.name: f.dataType for f in profiles.schema.fields}
    numeric = sorted(n for n, t in fields.items() if isinstance(t, NumericType) and n != "as_of")
    if column not in fields:
        raise UserError(
            f"--value {column}: no such profile column; numeric columns: {', '.join(numeric)}"
        )
    if not isinstance(fields[column], NumericType):
        raise UserError(
            f"--value {column}: the column is {fields[column].simpleString()}, not numeric; "
            f"numeric columns: {', '.join(numeric)}"
        )


def value_weights(values: np.ndarray) -> np.ndarray:
    """Fitting weights of seed people from their values: mean 1 before the floor and cap.

    Negative or missing values count as 0; weights are floored at ``_MIN_WEIGHT`` and capped
    at the ``_CAP_QUANTILE`` quantile. All-zero values give equal weights.
    """
    clean = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    clean = np.clip(clean, 0.0, None)
    if clean.size == 0 or clean.sum() <= 0:
        return np.ones_like(clean)
    weights = clean / clean.mean()
    cap = max(float(np.quantile(weights, _CAP_QUANTILE)), 1.0)
    return np.clip(weights, _MIN_WEIGHT, cap)


def value_capture(
    scores: np.ndarray, labels: np.ndarray, values: np.ndarray, ks: Sequence[float]
) -> dict[str, float]:
    """Share of the held-out seed people and of their value found in each top ``k``.

    The top ``k`` is the ``ceil(k x rows)`` best-scored rows of the evaluation set (held-out
    seed people and the universe sample), ties in score broken by row order.

    Returns:
        ``people_at_<k>pct`` and ``value_at_<k>pct`` for each ``k`` (fractions 0..1).
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    positive = np.asarray(labels, dtype=bool)
    worth = np.where(positive, np.clip(np.nan_to_num(values), 0.0, None), 0.0)
    total_people, total_value = int(positive.sum()), float(worth.sum())
    found: dict[str, float] = {}
    for k in ks:
        top = order[: max(1, math.ceil(k * len(order)))]
        key = f"{round(k * 100):d}pct"
        found[f"people_at_{key}"] = positive[top].sum() / total_people if total_people else 0.0
        found[f"value_at_{key}"] = worth[top].sum() / total_value if total_value else 0.0
    return found
