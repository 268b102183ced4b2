"""Pairwise precision and recall of an identity map against a generated world's truth.

Counting pairs through the contingency table of (resolved person, true person) keeps it
linear: true positives are the sum over cells of C(n, 2), predicted pairs the sum over
resolved persons, true pairs the sum over true persons. Identifiers the truth marks as
shared (a family tablet, a public computer) or garbage have no single true person and are
left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F


@dataclass(frozen=True)
class PairwiseScores:
    """Pairwise scores over identifiers present in both the map and the truth."""

    identifiers: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int

    @property
    def precision(self) -> float:
        """Share of predicted same-person pairs that are truly the same person."""
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Share of true same-person pairs the map put together."""
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0


def truth_identifiers(
    spark: SparkSession, truth_dir: Path, default_country_code: str, *, id_key: bytes
) -> DataFrame:
    """The truth's identifiers in the identity map's form: ``id_type, id_value, true_person``.

    E-mails and phones are normalised and hashed exactly as ingestion does.
    """
    from dmp.privacy.columns import (
        email_normalized,
        phone_normalized,
        pseudonymous_id_col,
        sha256_hex_col,
    )

    truth = spark.read.parquet(str(truth_dir / "identifiers")).filter(
        ~F.col("shared") & ~F.col("garbage")
    )
    value = F.trim(F.col("value"))
    kind = F.col("id_type")
    mapped_type: Column = (
        F.when(kind == "email", F.lit("email_sha256"))
        .when(kind == "phone", F.lit("phone_sha256"))
        .when(kind == "beta_uid", F.lit("partner_uid"))
        .otherwise(kind)
    )
    mapped_value: Column = (
        F.when(kind == "email", sha256_hex_col(email_normalized(value, "basic")))
        .when(
            kind == "phone", sha256_hex_col(phone_normalized(value, "meta", default_country_code))
        )
        .when(kind == "beta_uid", F.concat(F.lit("mobi_beta:"), value))
        .when(kind.isin("device_id", "advertising_id"), F.lower(value))
        .when(
            kind.isin("user_id", "anonymous_id"),
            pseudonymous_id_col(value, default_country_code, key=id_key),
        )
        .otherwise(value)
    )
    return (
        truth.select(
            mapped_type.alias("id_type"),
            mapped_value.alias("id_value"),
            F.col("person_key").alias("true_person"),
        )
        .filter(F.col("id_value").isNotNull())
        .distinct()
    )


def pairwise_scores(identity_map: DataFrame, truth: DataFrame) -> PairwiseScores:
    """Pairwise precision/recall of ``identity_map`` (``id_type, id_value, person_id``)."""
    joined = identity_map.select("id_type", "id_value", "person_id").join(
        truth, ["id_type", "id_value"]
    )
    pairs = F.col("n") * (F.col("n") - 1) / 2
    cells = joined.groupBy("person_id", "true_person").agg(F.count(F.lit(1)).alias("n"))
    predicted = joined.groupBy("person_id").agg(F.count(F.lit(1)).alias("n"))
    actual = joined.groupBy("true_person").agg(F.count(F.lit(1)).alias("n"))
    true_positive = cells.agg(F.sum(pairs)).first()
    predicted_pairs = predicted.agg(F.sum(pairs), F.sum("n")).first()
    true_pairs = actual.agg(F.sum(pairs)).first()
    return PairwiseScores(
        identifiers=int((predicted_pairs[1] if predicted_pairs else 0) or 0),
        true_pairs=int((true_pairs[0] if true_pairs else 0) or 0),
        predicted_pairs=int((predicted_pairs[0] if predicted_pairs else 0) or 0),
        true_positive_pairs=int((true_positive[0] if true_positive else 0) or 0),
    )
