"""Cross-sell rules: frequent itemsets and association rules over order baskets (FP-Growth).

A basket is the set of distinct products of one order. Spark MLlib's FP-Growth (parallel
FP-Growth, Li et al. 2008) mines the itemsets bought in at least ``min_support`` of the
baskets and the rules ``antecedent -> consequent`` with at least ``min_confidence``; the
``max_rules`` strongest rules (by lift, then confidence, then support) are kept.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dmp.profiles.settings import ProductRuleSettings

PRODUCT_RULE_COLUMNS: tuple[str, ...] = (
    "antecedent", "consequent", "support", "confidence", "lift", "as_of",
)  # fmt: skip


def baskets(lines: DataFrame) -> DataFrame:
    """One row per order with at least one product: ``order_id, items`` (distinct, sorted)."""
    return (
        lines.filter(F.col("product_id").isNotNull())
        .groupBy("person_id", "order_id")
        .agg(F.sort_array(F.collect_set("product_id")).alias("items"))
        .select("order_id", "items")
    )


def product_rules(basket_frame: DataFrame, settings: ProductRuleSettings, as_of: date) -> DataFrame:
    """Association rules over ``basket_frame`` (``items``: array of distinct product ids).

    Returns:
        ``antecedent`` (sorted array of product ids), ``consequent`` (one product id),
        ``support`` (share of baskets holding antecedent and consequent), ``confidence``,
        ``lift`` and ``as_of``, at most ``settings.max_rules`` rows.
    """
    from pyspark.ml.fpm import FPGrowth

    model = FPGrowth(
        itemsCol="items",
        minSupport=settings.min_support,
        minConfidence=settings.min_confidence,
    ).fit(basket_frame.select("items"))
    rules = model.associationRules.filter(F.size("consequent") == 1).select(
        F.sort_array("antecedent").alias("antecedent"),
        F.col("consequent")[0].alias("consequent"),
        F.col("support").cast("double").alias("support"),
        F.col("confidence").cast("double").alias("confidence"),
        F.col("lift").cast("double").alias("lift"),
    )
    strongest = rules.orderBy(
        F.col("lift").desc(),
        F.col("confidence").desc(),
        F.col("support").desc(),
        F.concat_ws("\u0001", "antecedent"),
        "consequent",
    ).limit(settings.max_rules)
    return strongest.withColumn("as_of", F.lit(as_of)).select(*PRODUCT_RULE_COLUMNS)
