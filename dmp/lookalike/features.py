"""The feature spec of a lookalike model: which profile columns become which numbers.

Spark flattens a profile snapshot into numeric columns (:func:`flat_features`); the spec's
standardisation then turns those columns into the model's matrix (:meth:`FeatureSpec.matrix`),
identically on the driver (training), in ``mapInPandas`` tasks (scoring) and in the MLflow
model. The spec is saved with the model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

ONE_HOT: dict[str, tuple[str, ...]] = {
    "lifecycle_stage": ("never_bought", "new", "active", "sleeping", "lapsing", "churned"),
    "preferred_channel": ("web", "app"),
    "price_band": ("budget", "mid", "premium"),
    "gender": ("f", "m"),
    "age_band": ("under_18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
}


def _numeric() -> dict[str, Column]:
    """Numeric features from profile columns (built lazily: needs an active Spark context)."""
    return {
        "log_events": F.log1p(F.coalesce("events_total", F.lit(0))),
        "log_events_30d": F.log1p(F.coalesce("events_30d", F.lit(0))),
        "active_days_30d": F.coalesce("active_days_30d", F.lit(0)).cast("double"),
        "log_orders": F.log1p(F.coalesce("orders_count", F.lit(0))),
        "log_revenue": F.log1p(F.coalesce("revenue_total", F.lit(0.0))),
        "log_aov": F.log1p(F.coalesce("aov", F.lit(0.0))),
        "recency_decay": F.exp(-F.coalesce("recency_days", F.lit(3650)) / F.lit(90.0)),
        "price_index": F.coalesce("price_index", F.lit(0.5)),
        "app_share": F.coalesce("app_share", F.lit(0.0)),
        "vip_level": F.coalesce("vip_level", F.lit(0)).cast("double"),
        "log_coupon_events": F.log1p(F.coalesce("coupon_events", F.lit(0))),
        "influence": F.coalesce("influence_score", F.lit(0.0)) / 100.0,
        "city_tier": F.coalesce("city_tier", F.lit(0)).cast("double"),
        "registered": F.col("registered").cast("double"),
        "has_advertising_id": F.col("has_advertising_id").cast("double"),
    }


# The profile column each numeric feature is computed from (see :func:`_numeric`).
NUMERIC_SOURCES: dict[str, str] = {
    "log_events": "events_total", "log_events_30d": "events_30d",
    "active_days_30d": "active_days_30d", "log_orders": "orders_count",
    "log_revenue": "revenue_total", "log_aov": "aov", "recency_decay": "recency_days",
    "price_index": "price_index", "app_share": "app_share", "vip_level": "vip_level",
    "log_coupon_events": "coupon_events", "influence": "influence_score",
    "city_tier": "city_tier", "registered": "registered",
    "has_advertising_id": "has_advertising_id",
}  # fmt: skip


def source_column(feature: str) -> str:
    """The profile column a feature is computed from (``embedding`` for ``emb_*``)."""
    if feature in NUMERIC_SOURCES:
        return NUMERIC_SOURCES[feature]
    if feature.startswith("aff_"):
        return "category_affinity"
    if feature.startswith("seg_"):
        return "partner_segments"
    if feature.startswith("emb_"):
        return "embedding"
    for column in ONE_HOT:
        if feature.startswith(f"{column}_"):
            return column
    raise KeyError(f"unknown feature {feature!r}")


def _safe(name: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


@dataclass(frozen=True)
class FeatureSpec:
    """Feature names in model order, and their standardisation.

    Attributes:
        categories: Categories given an affinity feature (``aff_<category>``).
        partner_segments: Partner segments given a 0/1 feature (``seg_<name>``).
        embedding_dims: Behavioural embedding size (``emb_0`` ...).
        names: Every feature, in the order the model sees them.
        means: Per-feature mean of the fitting sample (empty before fitting).
        scales: Per-feature standard deviation (1 where constant).
        left_out: Profile columns whose features were left out of ``names`` (the columns
            that define the seed: a model must not find the seed by its own definition).
    """

    categories: tuple[str, ...]
    partner_segments: tuple[str, ...]
    embedding_dims: int
    names: tuple[str, ...] = ()
    means: tuple[float, ...] = field(default=())
    scales: tuple[float, ...] = field(default=())
    left_out: tuple[str, ...] = field(default=())

    @classmethod
    def build(
        cls, categories: Sequence[str], partner_segments: Sequence[str], embedding_dims: int
    ) -> FeatureSpec:
        """A spec (not yet fitted) over the given vocabularies."""
        names = [f"aff_{_safe(c)}" for c in categories]
        names += list(_numeric_names())
        names += [f"{column}_{_safe(v)}" for column, values in ONE_HOT.items() for v in values]
        names += [f"seg_{_safe(s)}" for s in partner_segments]
        names += [f"emb_{i}" for i in range(embedding_dims)]
        return cls(tuple(categories), tuple(partner_segments), embedding_dims, tuple(names))

    def without(self, columns: Sequence[str]) -> FeatureSpec:
        """The spec without every feature computed from one of the profile ``columns``.

        Raises:
            ValueError: The spec is already fitted (standardisation is per feature).
        """
        if self.means:
            raise ValueError("leave features out before fitting the spec")
        dropped = set(columns)
        names = tuple(n for n in self.names if source_column(n) not in dropped)
        used = {source_column(n) for n in self.names}
        left_out = tuple(sorted({*self.left_out, *(dropped & used)}))
        return replace(self, names=names, left_out=left_out)

    def fitted(self, sample: pd.DataFrame) -> FeatureSpec:
        """Learn the standardisation from a sample of flat feature rows."""
        values = sample[list(self.names)].to_numpy(dtype=np.float64)
        means = values.mean(axis=0)
        scales = values.std(axis=0)
        scales[scales < 1e-9] = 1.0
        return replace(self, means=tuple(means.tolist()), scales=tuple(scales.tolist()))

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Standardised feature matrix of flat feature rows (missing values count as 0)."""
        if not self.means:
            raise ValueError("the feature spec is not fitted")
        values = frame[list(self.names)].to_numpy(dtype=np.float64, na_value=0.0)
        return (values - np.asarray(self.means)) / np.asarray(self.scales)

    def to_json(self) -> str:
        """The spec as JSON (saved with the model)."""
        return json.dumps(asdict(self), indent=2)


def _numeric_names() -> tuple[str, ...]:
    return (
        "log_events", "log_events_30d", "active_days_30d", "log_orders", "log_revenue",
        "log_aov", "recency_decay", "price_index", "app_share", "vip_level",
        "log_coupon_events", "influence", "city_tier", "registered", "has_advertising_id",
    )  # fmt: skip


def vocabularies(profiles: DataFrame, max_segments: int = 60) -> tuple[list[str], list[str]]:
    """Categories and the most common partner segments of a snapshot (small results)."""
    categories = sorted(
        r["c"]
        for r in profiles.select(F.explode(F.map_keys("category_affinity")).alias("c"))
        .distinct()
        .collect()
    )
    segments = (
        profiles.select(F.explode("partner_segments").alias("s"))
        .groupBy(F.col("s.segment").alias("segment"))
        .count()
        .orderBy(F.desc("count"), "segment")
        .limit(max_segments)
        .collect()
    )
    return categories, sorted(r["segment"] for r in segments)


def flat_features(
    profiles: DataFrame, embeddings: DataFrame | None, spec: FeatureSpec
) -> DataFrame:
    """``person_id`` plus one double column per feature of ``spec``, in spec order."""
    numeric = _numeric()
    columns: list[Column] = [F.col("person_id")]
    for category in spec.categories:
        columns.append(
            F.coalesce(F.col("category_affinity")[category], F.lit(0.0)).alias(
                f"aff_{_safe(category)}"
            )
        )
    columns += [numeric[name].cast("double").alias(name) for name in _numeric_names()]
    for column, values in ONE_HOT.items():
        for value in values:
            columns.append(
                F.coalesce(F.col(column) == value, F.lit(False))
                .cast("double")
                .alias(f"{column}_{_safe(value)}")
            )
    segment_names = F.transform(F.coalesce("partner_segments", F.array()), lambda s: s["segment"])
    for segment in spec.partner_segments:
        columns.append(
            F.array_contains(segment_names, segment).cast("double").alias(f"seg_{_safe(segment)}")
        )
    if spec.embedding_dims and embeddings is not None:
        joined = profiles.join(embeddings, "person_id", "left")
        vector = F.coalesce(F.col("embedding"), F.array_repeat(F.lit(0.0), spec.embedding_dims))
        columns += [vector[i].cast("double").alias(f"emb_{i}") for i in range(spec.embedding_dims)]
        return joined.select(*columns)
    columns += [F.lit(0.0).alias(f"emb_{i}") for i in range(spec.embedding_dims)]
    return profiles.select(*columns)
