"""Profile tags: system tags derived from the profile, plus rule tags from conf/tags.yaml."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.expressions import check_name, validate_expressions
from dmp.spec import StrictModel, load_yaml_spec


class TagRule(StrictModel):
    """A rule tag: ``name`` is added to every profile where ``where`` holds."""

    name: str
    description: str = ""
    where: str = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str) -> str:
        return check_name(value, "tag")


class TagRules(StrictModel):
    """The contents of ``conf/tags.yaml``."""

    tags: list[TagRule] = Field(default_factory=list)


def load_tag_rules(path: Path) -> list[TagRule]:
    """Rule tags from ``path`` (none when the file does not exist)."""
    if not path.exists():
        return []
    rules = load_yaml_spec(path, TagRules).tags
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        from dmp.errors import ConfigError

        raise ConfigError(f"{path}: tags: duplicate names {duplicates}")
    return rules


def system_tags() -> Column:
    """Tags every profile gets from its own columns (lifecycle, VIP, RFM, interests, ...)."""
    candidates = [
        F.concat(F.lit("lifecycle:"), F.col("lifecycle_stage")),
        F.when(F.col("vip_level") > 0, F.concat(F.lit("vip:v"), F.col("vip_level").cast("string"))),
        F.when(F.col("rfm_segment").isNotNull(), F.concat(F.lit("rfm:"), F.col("rfm_segment"))),
        F.when(F.col("registered"), F.lit("registered")).otherwise(F.lit("anonymous")),
        F.when(
            F.col("preferred_channel").isNotNull(),
            F.concat(F.lit("channel:"), F.col("preferred_channel")),
        ),
        F.when(F.col("price_band").isNotNull(), F.concat(F.lit("price:"), F.col("price_band"))),
        F.when(F.col("bot_flag"), F.lit("risk:bot")),
        F.when(F.col("coupon_abuse_flag"), F.lit("risk:coupon_abuse")),
        F.when(F.col("influence_score") >= 90, F.lit("influencer")),
        F.when(~F.col("consent_advertising"), F.lit("consent:no_advertising")),
    ]
    interests = F.transform(
        F.coalesce(F.col("top_interests"), F.array().cast("array<string>")),
        lambda c: F.concat(F.lit("interest:"), c),
    )
    due = F.transform(
        F.filter(F.coalesce(F.col("purchase_cycles"), F.array()), lambda c: c["due_soon"]),
        lambda c: F.concat(F.lit("due_soon:"), c["category"]),
    )
    plain = F.filter(F.array(*candidates), lambda t: t.isNotNull())
    return F.concat(plain, interests, due)


def with_tags(spark: SparkSession, profiles: DataFrame, rules: list[TagRule]) -> DataFrame:
    """Add ``tags``: system tags then rule tags, validated against the profile schema."""
    validate_expressions(spark, profiles.schema, [(r.name, r.where) for r in rules], "tag")
    rule_tags = [F.when(F.coalesce(F.expr(r.where), F.lit(False)), F.lit(r.name)) for r in rules]
    rule_array = F.filter(F.array(*rule_tags), lambda t: t.isNotNull()) if rules else F.array()
    return profiles.withColumn(
        "tags", F.array_distinct(F.concat(system_tags(), rule_array.cast("array<string>")))
    )
