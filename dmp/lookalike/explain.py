"""Why an audience looks the way it does.

- **Permutation importance** per profile column on a held-out evaluation set: how much the
  model's AUC (held-out seed people against a universe sample) drops when the column's
  features are shuffled across people. Features computed from one column (the one-hot values
  of ``lifecycle_stage``, every embedding dimension) are shuffled together, so the figure
  answers "how much does the model rely on this column". With one feature per group it is
  exactly scikit-learn's ``permutation_importance`` (same shuffles from the same seed).
- **Audience insights**: the traits that most over-index in the top tier against the eligible
  universe, as ad platforms show them: ``index = 100 x share in the top tier / share in the
  universe`` (100 = as common as anywhere, 300 = three times as common). Counted in Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dmp.lookalike.features import FeatureSpec, source_column
from dmp.lookalike.models import LookalikeModel, ModelOptions, fit_model
from dmp.lookalike.settings import LookalikeSettings

# scalar profile columns whose values are traits, and array columns whose elements are
_SCALAR_TRAITS = ("lifecycle_stage", "preferred_channel", "price_band", "gender", "age_band")
_ARRAY_TRAITS = {"top_interests": "interest", "tags": "tag"}


@dataclass(frozen=True)
class HoldoutSet:
    """A model fitted without part of the seed, and the people it is judged on.

    Attributes:
        model: Fitted on the training part of the seed and a disjoint part of the pool.
        matrix: Standardised features of the held-out seed people, then a universe sample.
        labels: 1 for a held-out seed person, 0 for a universe-sample person.
        values: The value of each row (0 for universe rows); None without a value column.
    """

    model: LookalikeModel
    matrix: np.ndarray
    labels: np.ndarray
    values: np.ndarray | None = None

    def scores(self) -> np.ndarray:
        """The model's scores of ``matrix`` (every bag scores every row)."""
        return self.model.score(self.matrix)


def holdout_set(
    method: str,
    spec: FeatureSpec,
    seed: pd.DataFrame,
    pool: pd.DataFrame,
    options: LookalikeSettings,
    *,
    seed_weights: np.ndarray | None = None,
    seed_values: np.ndarray | None = None,
    max_rows: int | None = None,
) -> HoldoutSet:
    """Hold out part of the seed, fit ``method`` on the rest, and mix the held-out people
    into a disjoint universe sample (at most ``max_rows`` rows in all).

    Args:
        method: ``similarity``, ``pu`` or ``ensemble``.
        spec: Fitted feature spec.
        seed: Flat features of the seed sample.
        pool: Flat features of the universe sample.
        options: Hold-out share, evaluation size and the model options.
        seed_weights: Per-seed fitting weights (value-based lookalikes).
        seed_values: Per-seed value, kept for the held-out rows.
        max_rows: Cap on the rows of the evaluation set.

    Raises:
        ValueError: The seed is too small to hold part of it out.
    """
    rng = np.random.default_rng(options.random_seed + 4243)
    held = rng.random(len(seed)) < options.holdout_share
    if held.sum() == 0 or (~held).sum() == 0:
        raise ValueError("the seed is too small to hold part of it out")
    order = rng.permutation(len(pool))
    size = min(options.evaluation_universe, len(pool) // 2)
    judged = np.flatnonzero(held)  # held-out people judged (all are left out of training)
    if max_rows is not None:
        judged = judged[: max(1, max_rows // 4)]
        size = max(1, min(size, max_rows - len(judged)))
    evaluated, training = order[:size], order[len(pool) // 2 :]
    seed_matrix, pool_matrix = spec.matrix(seed), spec.matrix(pool)
    ids = pool["person_id"].tolist()
    model = fit_model(
        method, spec, seed_matrix[~held], pool_matrix[training], [ids[i] for i in training],
        ModelOptions.from_settings(options, options.random_seed),
        seed_weights=None if seed_weights is None else seed_weights[~held],
    )  # fmt: skip
    matrix = np.vstack([seed_matrix[judged], pool_matrix[evaluated]])
    labels = np.concatenate([np.ones(len(judged)), np.zeros(len(evaluated))])
    values = None
    if seed_values is not None:
        values = np.concatenate([seed_values[judged], np.zeros(len(evaluated))])
    return HoldoutSet(model, matrix, labels, values)


@dataclass(frozen=True)
class Explanation:
    """What the report and MLflow show about the chosen model.

    Attributes:
        importance: :func:`permutation_importance` per profile column.
        value_capture: With a value column: per tier, the share of held-out seed people and
            of their value in the top ``tier_percent`` for the value-weighted model and for
            the same model fitted without weights; None otherwise.
    """

    importance: pd.DataFrame
    value_capture: pd.DataFrame | None = None


def explain_model(
    method: str,
    spec: FeatureSpec,
    seed: pd.DataFrame,
    pool: pd.DataFrame,
    options: LookalikeSettings,
    values: np.ndarray | None = None,
) -> Explanation:
    """Permutation importance of the chosen method on a held-out set and, given seed
    ``values``, the value captured per tier with and without value weights.

    Args:
        method: The chosen method.
        spec: Fitted feature spec.
        seed: Flat features of the seed sample.
        pool: Flat features of the universe sample.
        options: Lookalike settings (hold-out, repeats, rows, tiers).
        values: Value of each seed row (``--value``), or None.
    """
    from dmp.lookalike.value import value_capture, value_weights

    weights = None if values is None else value_weights(values)
    held = holdout_set(
        method, spec, seed, pool, options, seed_weights=weights, seed_values=values,
        max_rows=options.explain_rows,
    )  # fmt: skip
    importance = permutation_importance(
        held.model.score, held.matrix, held.labels, feature_groups(spec),
        n_repeats=options.explain_repeats, random_state=options.random_seed,
    )  # fmt: skip
    if values is None or held.values is None:
        return Explanation(importance)
    plain = holdout_set(
        method, spec, seed, pool, options, seed_values=values, max_rows=options.explain_rows
    )
    assert plain.values is not None
    ks = [t / 100 for t in sorted(options.tiers) if t in (1, 5, 10)] or [min(options.tiers) / 100]
    weighted = value_capture(held.scores(), held.labels, held.values, ks)
    unweighted = value_capture(plain.scores(), plain.labels, plain.values, ks)
    rows = []
    for k in ks:
        key = f"{round(k * 100):d}pct"
        rows.append(
            (round(k * 100), weighted[f"people_at_{key}"], weighted[f"value_at_{key}"],
             unweighted[f"people_at_{key}"], unweighted[f"value_at_{key}"])
        )  # fmt: skip
    columns = ["tier_percent", "people_share", "value_share", "people_share_unweighted",
               "value_share_unweighted"]  # fmt: skip
    return Explanation(importance, pd.DataFrame(rows, columns=columns))


def feature_groups(spec: FeatureSpec) -> dict[str, list[int]]:
    """Profile column -> indices of the features computed from it, in spec order."""
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(spec.names):
        groups.setdefault(source_column(name), []).append(index)
    return groups


def permutation_importance(
    score: Callable[[np.ndarray], np.ndarray],
    matrix: np.ndarray,
    labels: np.ndarray,
    groups: Mapping[str, Sequence[int]],
    *,
    n_repeats: int = 5,
    random_state: int = 0,
) -> pd.DataFrame:
    """Drop in AUC when each group of columns is shuffled across rows.

    Shuffles follow scikit-learn's ``permutation_importance`` (one seed drawn from
    ``random_state``, the same shuffle sequence for every group, each repeat shuffling the
    already shuffled columns again), so single-column groups give its numbers exactly.

    Args:
        score: Scores of a feature matrix (higher = more seed-like).
        matrix: Features of the evaluation set.
        labels: 1 for a held-out seed person, 0 otherwise.
        groups: Name -> column indices shuffled together.
        n_repeats: Shuffles per group.
        random_state: Seed.

    Returns:
        ``feature, importance, importance_std`` (mean and standard deviation of the AUC drop
        over the repeats), most important first.
    """
    from sklearn.metrics import roc_auc_score

    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    baseline = roc_auc_score(labels, score(matrix))
    rows = []
    for name, columns in groups.items():
        state = np.random.RandomState(seed)
        permuted = matrix.copy()
        order = np.arange(len(matrix))
        drops = []
        for _ in range(n_repeats):
            state.shuffle(order)
            permuted[:, list(columns)] = permuted[order][:, list(columns)]
            drops.append(baseline - roc_auc_score(labels, score(permuted)))
        rows.append((name, float(np.mean(drops)), float(np.std(drops))))
    frame = pd.DataFrame(rows, columns=["feature", "importance", "importance_std"])
    return frame.sort_values(["importance", "feature"], ascending=[False, True], kind="stable")


def _prefixed(values: Column, prefix: str) -> Column:
    # A one-argument lambda: Spark passes (element, index) to a two-argument one.
    return F.transform(values, lambda v: F.concat(F.lit(prefix), v))


def _traits(profiles: DataFrame) -> Column:
    """Every trait of a person as ``column=value`` text."""
    parts: list[Column] = []
    scalars = [c for c in _SCALAR_TRAITS if c in profiles.columns]
    if scalars:
        parts.append(
            F.filter(
                F.array(*[F.concat(F.lit(f"{c}="), F.col(c).cast("string")) for c in scalars]),
                lambda t: t.isNotNull(),
            )
        )
    if "vip_level" in profiles.columns:
        vip = F.when(F.col("vip_level") > 0, F.concat(F.lit("vip_level=V"), F.col("vip_level")))
        parts.append(F.filter(F.array(vip), lambda t: t.isNotNull()))
    for column, label in _ARRAY_TRAITS.items():
        if column in profiles.columns:
            values = F.coalesce(F.col(column), F.array().cast("array<string>"))
            parts.append(_prefixed(values, f"{label}="))
    if "partner_segments" in profiles.columns:
        parts.append(
            F.transform(
                F.coalesce(F.col("partner_segments"), F.array()),
                lambda s: F.concat(F.lit("partner_segment="), s["segment"]),
            )
        )
    return F.array_distinct(F.concat(*parts)) if parts else F.array().cast("array<string>")


def audience_insights(
    profiles: DataFrame,
    universe: DataFrame,
    top: DataFrame,
    *,
    limit: int = 15,
    min_people: int = 5,
) -> pd.DataFrame:
    """The traits that most over-index in ``top`` against ``universe`` (counted in Spark).

    Args:
        profiles: The profile snapshot (``person_id`` and the trait columns).
        universe: ``person_id`` of the eligible universe.
        top: ``person_id`` of the top tier (inside the universe).
        limit: Traits returned at most.
        min_people: Traits held by fewer top-tier people are left out (an index of 1,000
            on three people is noise).

    Returns:
        ``trait, top_people, top_share, universe_share, index``, highest index first.
    """
    marked = (
        universe.select("person_id")
        .join(top.select("person_id", F.lit(1).alias("_top")), "person_id", "left")
        .join(profiles.select("person_id", _traits(profiles).alias("_traits")), "person_id")
    )
    sizes = marked.agg(F.count(F.lit(1)), F.sum(F.coalesce("_top", F.lit(0)))).first()
    everyone, top_size = (int(v or 0) for v in (sizes or (0, 0)))
    columns = ["trait", "top_people", "top_share", "universe_share", "index"]
    if everyone == 0 or top_size == 0:
        return pd.DataFrame(columns=columns)
    counts = (
        marked.select(F.explode("_traits").alias("trait"), F.coalesce("_top", F.lit(0)).alias("t"))
        .groupBy("trait")
        .agg(F.count(F.lit(1)).alias("people"), F.sum("t").alias("top_people"))
        .filter(F.col("top_people") >= min_people)
        .select(
            "trait",
            "top_people",
            (F.col("top_people") / F.lit(top_size)).alias("top_share"),
            (F.col("people") / F.lit(everyone)).alias("universe_share"),
        )
        .withColumn("index", F.round(100 * F.col("top_share") / F.col("universe_share"), 1))
        .orderBy(F.desc("index"), F.desc("top_people"), "trait")
        .limit(limit)
    )
    found = counts.toPandas()  # at most ``limit`` rows
    return found[columns].reset_index(drop=True)
