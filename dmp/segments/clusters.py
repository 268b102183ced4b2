"""Persona clustering for marketers: k-means over interest and consumption features, each
cluster described by the traits (tags) most over-represented in it.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dmp.segments.settings import ClusterSettings


def cluster_features(profiles: DataFrame, categories: list[str]) -> DataFrame:
    """One numeric column per feature: category affinities, price level, spend, channel.

    Args:
        profiles: One snapshot of ``silver/profiles``.
        categories: The categories to give affinity columns (the snapshot's own).
    """
    affinity = [
        F.coalesce(F.col("category_affinity")[c], F.lit(0.0)).alias(f"aff_{c}") for c in categories
    ]
    return profiles.filter(~F.col("bot_flag") & ~F.col("shared_identity")).select(
        "person_id",
        "tags",
        *affinity,
        F.coalesce(F.col("price_index"), F.lit(0.5)).alias("price_index"),
        F.log1p("orders_count").alias("log_orders"),
        F.log1p("revenue_total").alias("log_revenue"),
        F.coalesce(F.col("app_share"), F.lit(0.0)).alias("app_share"),
        (F.col("active_days_30d") / 30.0).alias("activity"),
    )


def fit_clusters(
    features: DataFrame, settings: ClusterSettings
) -> tuple[DataFrame, float | None, int]:
    """Standardise the features and fit k-means (Spark MLlib, distributed).

    Near-identical people can leave k-means with a single non-empty cluster (k-means||
    finds fewer distinct centres than ``k``); the silhouette is undefined then (MLlib's
    evaluator fails with a Java ``AssertionError``), so it is only computed for two
    clusters or more.

    Returns:
        ``(person_id, tags, cluster)``, the silhouette score (``None`` with fewer than two
        non-empty clusters) and the number of non-empty clusters.
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.clustering import KMeans, KMeansModel
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.ml.feature import StandardScaler, VectorAssembler

    inputs = [c for c in features.columns if c not in ("person_id", "tags")]
    pipeline = Pipeline(
        stages=[
            VectorAssembler(inputCols=inputs, outputCol="_raw"),
            StandardScaler(inputCol="_raw", outputCol="_features", withMean=True),
            KMeans(
                k=settings.k,
                seed=settings.seed,
                maxIter=settings.max_iterations,
                featuresCol="_features",
                predictionCol="cluster",
            ),
        ]
    )
    model = pipeline.fit(features)
    assigned = model.transform(features)
    # Cluster sizes come with the fitted model: no extra pass over the data.
    kmeans = model.stages[-1]
    assert isinstance(kmeans, KMeansModel)
    sizes = kmeans.summary.clusterSizes
    non_empty = sum(1 for size in sizes if size > 0)
    if non_empty < 2:
        return assigned.select("person_id", "tags", "cluster"), None, non_empty
    silhouette = ClusteringEvaluator(featuresCol="_features", predictionCol="cluster").evaluate(
        assigned
    )
    return assigned.select("person_id", "tags", "cluster"), float(silhouette), non_empty


def cluster_traits(assigned: DataFrame, settings: ClusterSettings) -> DataFrame:
    """The tags most over-represented in each cluster.

    Returns:
        ``cluster, size, trait, share_in_cluster, share_overall, lift`` for the top
        ``traits_per_cluster`` traits with at least ``min_trait_share`` of the cluster.
    """
    from pyspark.sql import Window

    total = assigned.count()
    sizes = assigned.groupBy("cluster").agg(F.count(F.lit(1)).alias("size"))
    tagged = assigned.select("cluster", F.explode("tags").alias("trait"))
    overall = tagged.groupBy("trait").agg((F.count(F.lit(1)) / F.lit(total)).alias("share_overall"))
    inside = tagged.groupBy("cluster", "trait").agg(F.count(F.lit(1)).alias("n"))
    scored = (
        inside.join(sizes, "cluster")
        .join(overall, "trait")
        .withColumn("share_in_cluster", F.col("n") / F.col("size"))
        .withColumn("lift", F.col("share_in_cluster") / F.col("share_overall"))
        .filter(F.col("share_in_cluster") >= settings.min_trait_share)
    )
    ranked = Window.partitionBy("cluster").orderBy(F.desc("lift"), F.asc("trait"))
    return (
        scored.withColumn("_rank", F.row_number().over(ranked))
        .filter(F.col("_rank") <= settings.traits_per_cluster)
        .select(
            "cluster",
            "size",
            "trait",
            F.round("share_in_cluster", 4).alias("share_in_cluster"),
            F.round("share_overall", 4).alias("share_overall"),
            F.round("lift", 3).alias("lift"),
        )
    )
