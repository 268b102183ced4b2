"""The lookalike stage: seed -> evaluated, tracked model -> tiered audience in gold/audiences.

:func:`build_lookalike` runs seven named steps on one :class:`Build`, each a function
below, in this order: :func:`prepare`, :func:`select`, :func:`fit`, :func:`score_and_rank`,
:func:`gate`, :func:`track` and :func:`publish`. The models are estimators of
:mod:`dmp.lookalike.models`; evaluation lives in :mod:`~dmp.lookalike.evaluate` and
:mod:`~dmp.lookalike.timesplit`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.caching import Keep, kept
from dmp.config import Settings
from dmp.errors import UserError
from dmp.expressions import expand_shorthands, referenced_columns
from dmp.lake import ReplacePartition
from dmp.lookalike.embedding import interactions, person_embeddings
from dmp.lookalike.evaluate import BASELINES, Evaluation, evaluate
from dmp.lookalike.exclusions import risky_people, seed_like_removed
from dmp.lookalike.explain import audience_insights, explain_model
from dmp.lookalike.features import FeatureSpec, flat_features, vocabularies
from dmp.lookalike.models import METHODS, LookalikeModel, ModelOptions, fit_model
from dmp.lookalike.scoring import in_tiers, ranked_universe, score_people, tier_sizes
from dmp.lookalike.seeds import SeedSet, seed_from_file, seed_from_segment
from dmp.lookalike.settings import LookalikeSettings
from dmp.lookalike.timesplit import (
    CONVERTED,
    Headline,
    early_snapshot,
    forward_evaluate,
    leaky_features,
    without_features,
)
from dmp.runlog import Run
from dmp.tables import (
    AUDIENCES_TABLE,
    EMBEDDINGS_TABLE,
    IDENTITY_MAP_TABLE,
    PROFILES_TABLE,
    REACH_TABLE,
    UNIVERSE_SCORES_TABLE,
)

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeedRequest:
    """Where the seed comes from: a segment, or a file of identifiers of one type."""

    segment: str | None = None
    file: Path | None = None
    id_type: str | None = None


@dataclass
class LookalikeResult:
    """What one lookalike build produced."""

    audience: str
    as_of: date
    seed_description: str = ""
    seed_rows: int | None = None
    seed_matched: int = 0
    universe: int = 0
    method: str = ""
    method_reason: str = ""
    evaluation: dict[str, dict[str, float]] = field(default_factory=dict)
    reach: list[tuple[int, int]] = field(default_factory=list)
    guardrails: dict[str, float] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)
    """Profile columns left out of the features because the seed's rule names them."""
    headline: Headline | None = None
    """What the headline figures (``evaluation``) were measured on."""
    heldout: dict[str, dict[str, float]] = field(default_factory=dict)
    """The held-out-seed figures when they are not the headline (a secondary view)."""
    leaky: dict[str, float] = field(default_factory=dict)
    """Features dropped because alone they separate an uploaded list (name -> AUC)."""
    truth_checks: dict[str, float] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    model_version: str | None = None
    report: str | None = None
    gate_report: str | None = None
    scoring_s: float = 0.0
    """Wall seconds to score, sort and tier the whole eligible universe."""
    exclusions: dict[str, int] = field(default_factory=dict)
    """Risky people left out (seed, universe) and the seed-like people among them."""
    importance: pd.DataFrame | None = None
    insights: pd.DataFrame | None = None
    value: str | None = None
    value_capture: pd.DataFrame | None = None

    @property
    def scored_per_s(self) -> float:
        """People scored, ranked and tiered per second (0 before scoring)."""
        return self.universe / self.scoring_s if self.scoring_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        shown: dict[str, Any] = {
            "audience": self.audience,
            "as of": self.as_of.isoformat(),
            "seed": self.seed_description,
            "seed rows": self.seed_rows if self.seed_rows is not None else "-",
            "seed people matched": self.seed_matched,
            "eligible universe": self.universe,
            "method": f"{self.method} ({self.method_reason})",
            "left out (seed rule)": ", ".join(self.left_out) or "-",
            "dropped (leakage guard)": ", ".join(self.leaky) or "-",
            "headline": self.headline.kind if self.headline else "-",
        }
        if self.headline is not None and self.headline.kind == "held-out":
            shown["headline note"] = self.headline.note
        for name, metrics in self.evaluation.items():
            shown[f"{name}: lift@1/5/10%, AUC"] = (
                f"{metrics['lift_at_1pct']:.1f} / {metrics['lift_at_5pct']:.1f} / "
                f"{metrics['lift_at_10pct']:.1f}, {metrics['auc']:.3f}"
            )
        for percent, size in self.reach:
            shown[f"tier {percent}%"] = size
        for reason, people in self.exclusions.items():
            shown[f"excluded: {reason}"] = people
        if self.scoring_s > 0:
            shown["scored people/s"] = round(self.scored_per_s)
        for name, value in {**self.guardrails, **self.truth_checks}.items():
            shown[name] = round(value, 4)
        shown["MLflow run"] = self.mlflow_run_id or "-"
        shown["registered model version"] = self.model_version or "-"
        shown["report"] = self.report or "-"
        return shown


@dataclass
class Build:
    """One lookalike build in progress: where it runs and what it has found so far.

    Attributes:
        spark: The Spark session.
        settings: The configuration.
        run: The run (reads, writes, counts).
        stack: Frames the build keeps (cached) until it ends.
        result: Filled step by step; returned by :func:`build_lookalike`.
    """

    spark: SparkSession
    settings: Settings
    run: Run
    stack: ExitStack
    result: LookalikeResult

    @property
    def options(self) -> LookalikeSettings:
        """The ``lookalike:`` settings."""
        return self.settings.lookalike

    def keep(self, frame: DataFrame, how: Keep = Keep.MEMORY_AND_DISK) -> DataFrame:
        """``frame``, materialised once and kept until the build ends."""
        return self.stack.enter_context(kept(frame, how))


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare` hands to the later steps.

    Attributes:
        profiles: The profile snapshot (kept).
        seed_people: ``person_id`` of the seed people with a profile, risky people removed.
        matched: ``person_id`` of every seed person with a profile (risky ones too).
        risky: ``person_id`` of people flagged as bots or coupon abusers.
        universe: ``person_id`` of everyone eligible for the audience, minus the seed.
        features: Flat features of the snapshot (kept on disk).
        spec: The feature spec, fitted on ``pool``.
        unfitted: The same spec before fitting (the time split fits it on its own sample).
        rule: The seed segment's rule, if any.
        seed_sample: Flat features of a bounded seed sample (driver).
        pool: Flat features of a bounded universe sample (driver).
        seed_values: The seed sample's ``--value`` column, if given.
    """

    profiles: DataFrame
    seed_people: DataFrame
    matched: DataFrame
    risky: DataFrame
    universe: DataFrame
    features: DataFrame
    spec: FeatureSpec
    unfitted: FeatureSpec
    rule: str | None
    seed_sample: pd.DataFrame
    pool: pd.DataFrame
    seed_values: np.ndarray | None


@dataclass(frozen=True)
class Ranked:
    """What :func:`score_and_rank` produced.

    Attributes:
        ranked: Every eligible person's ``score``, ``rank`` and ``tier`` (kept on disk).
        audience: The people inside a tier.
    """

    ranked: DataFrame
    audience: DataFrame


def build_lookalike(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    *,
    name: str,
    seed: SeedRequest,
    method: str | None = None,
    as_of: date | None = None,
    truth_product: str | None = None,
    value: str | None = None,
) -> LookalikeResult:
    """Expand a seed into a tiered lookalike audience, with evaluation and MLflow tracking.

    The build runs seven named steps, each a function of this module: :func:`prepare`
    (seed, universe, features, driver samples), :func:`select` (headline evaluation and the
    method), :func:`fit` (final model, explanation, guardrails), :func:`score_and_rank`
    (the whole universe, in Spark), :func:`gate` (the audience gate), :func:`track`
    (report and MLflow) and :func:`publish` (the gold tables).

    ``value`` names a numeric profile column that weights the seed people, so the audience
    favours high-value look-alikes; the report then shows the value captured per tier.

    Raises:
        UserError: No profiles, unknown segment, seed below ``lookalike.min_seed``, a
            ``value`` column that is missing or not numeric.
        StageFailed: The MLflow tracking server does not answer; nothing was written.
        GateFailed: The audience gate failed; nothing was written.
    """
    chosen = method or settings.lookalike.method
    if chosen not in (*METHODS, "auto"):
        raise UserError(f"--method must be one of {', '.join((*METHODS, 'auto'))}")
    from dmp.lookalike.tracking import check_tracking_server

    check_tracking_server(settings)  # before any work: a server that is down publishes nothing
    day = _snapshot(run, as_of)
    result = LookalikeResult(audience=name, as_of=day, value=value)
    with ExitStack() as stack:
        build = Build(spark, settings, run, stack, result)
        data = prepare(build, seed, value)
        evaluation = select(build, data, seed, chosen)
        model = fit(build, data)
        ranked = score_and_rank(build, data, model, truth_product)
        gate(build, data, ranked, evaluation)
        track(build, model, evaluation, data.pool)
        publish(build, ranked)
    run.count("seed_matched", result.seed_matched)
    run.count("universe", result.universe)
    return result


def prepare(build: Build, seed: SeedRequest, value: str | None) -> Prepared:
    """Step 1: the seed people, the eligible universe, features and bounded driver samples.

    Risky seed people are left out (and counted); features named by a segment seed's rule
    are left out of the spec; an uploaded list's leaky features are dropped.

    Raises:
        UserError: A seed or universe below the configured minimum, a bad ``value`` column.
    """
    spark, settings, run, result = build.spark, build.settings, build.run, build.result
    options, day = build.options, result.as_of
    profiles = build.keep(run.read(spark, PROFILES_TABLE).filter(F.col("as_of") == F.lit(day)))
    if value is not None:
        from dmp.lookalike.value import check_value_column

        check_value_column(profiles, value)
    seeds = _seed(spark, settings, run, seed, day)
    everyone = seeds.persons.join(profiles.select("person_id"), "person_id").distinct()
    risky = risky_people(profiles)
    matched = everyone.join(risky, "person_id", "left_anti") if options.exclude_risky else everyone
    seed_people = build.keep(matched)
    result.seed_description, result.seed_rows = seeds.description, seeds.rows
    result.seed_matched = seed_people.count()
    if options.exclude_risky:
        result.exclusions["seed people flagged as risky"] = everyone.count() - result.seed_matched
    if result.seed_matched < options.min_seed:
        raise UserError(
            f"the seed matched {result.seed_matched} people with a profile as of {day}; "
            f"at least {options.min_seed} are needed (lookalike.min_seed)"
        )
    universe = build.keep(_universe(profiles, seed_people, settings))
    result.universe = universe.count()
    if result.universe < options.min_universe:
        raise UserError(
            f"only {result.universe} people are eligible for the audience; at least "
            f"{options.min_universe} are needed to rank 1% tiers (lookalike.min_universe)"
        )
    embeddings = _embeddings(spark, settings, run, day)
    categories, segments = vocabularies(profiles)
    spec = FeatureSpec.build(categories, segments, options.embedding.rank)
    if seeds.rule:
        # A segment seed is defined by its rule: features of the columns it names would
        # find the held-out seed by definition and inflate every figure of the report.
        spec = spec.without(sorted(referenced_columns(seeds.rule, profiles.columns)))
        result.left_out = list(spec.left_out)
    features = build.keep(flat_features(profiles, embeddings, spec), Keep.DISK)
    seeds_with_value = seed_people
    if value is not None:
        seed_value = F.coalesce(F.col(value).cast("double"), F.lit(0.0)).alias("seed_value")
        seeds_with_value = seed_people.join(profiles.select("person_id", seed_value), "person_id")
    seed_sample = _sample(
        features.join(seeds_with_value, "person_id"), options.max_training_seeds,
        options.random_seed,
    )  # fmt: skip
    seed_values = seed_sample["seed_value"].to_numpy(float) if value is not None else None
    pool_size = _pool_size(options, len(seed_sample))
    pool = _sample(features.join(universe, "person_id"), pool_size, options.random_seed + 1)
    if seed.file is not None:
        spec = _leakage_guard(spec, seed_sample, pool, options, result)
    _log.info(
        "lookalike: %d seeds, %d universe sample, %d features",
        len(seed_sample), len(pool), len(spec.names),
    )  # fmt: skip
    return Prepared(
        profiles=profiles, seed_people=seed_people, matched=everyone, risky=risky,
        universe=universe, features=features, spec=spec.fitted(pool), unfitted=spec,
        rule=seeds.rule, seed_sample=seed_sample, pool=pool, seed_values=seed_values,
    )  # fmt: skip


def select(build: Build, data: Prepared, seed: SeedRequest, chosen: str) -> Evaluation:
    """Step 2: evaluate the candidate methods and baselines and pick the method.

    Every build evaluates on held-out seeds; a segment seed is also evaluated on a time
    split, which then becomes the headline (the held-out figures stay as a secondary
    view). ``auto`` picks the best method on the headline metric.

    Returns:
        The headline evaluation (its curves go into the report).
    """
    result, options = build.result, build.options
    candidates = list(METHODS) if chosen == "auto" else [chosen]
    heldout = evaluate(data.spec, data.seed_sample, data.pool, candidates, options)
    evaluation, result.headline = heldout, _file_headline(result, options)
    if seed.segment is not None:
        forward, result.headline = _time_split(
            build, seed.segment, data.rule, data.seed_people, data.unfitted, candidates
        )
        if forward is not None:
            evaluation = forward
            result.heldout = {n: heldout.methods[n] for n in (*candidates, *BASELINES)}
    _log.info("lookalike: headline %s (%s)", result.headline.kind, result.headline.note)
    if chosen == "auto":
        chosen, result.method_reason = evaluation.best(candidates, options.guardrails.metric)
    else:
        result.method_reason = "chosen with --method"
    result.method = chosen
    result.evaluation = {n: evaluation.methods[n] for n in (*candidates, *BASELINES)}
    return evaluation


def fit(build: Build, data: Prepared) -> LookalikeModel:
    """Step 3: fit the chosen method on the samples, explain it and measure its guardrails
    (score-activity correlation, top-tier stability across a rerun with another seed)."""
    result, options = build.result, build.options
    model = _fit(result.method, data, options, options.random_seed)
    explained = explain_model(
        result.method, data.spec, data.seed_sample, data.pool, options, data.seed_values
    )
    result.importance, result.value_capture = explained.importance, explained.value_capture
    result.guardrails = _guardrails(model, data, options)
    return model


def score_and_rank(
    build: Build, data: Prepared, model: LookalikeModel, truth_product: str | None
) -> Ranked:
    """Step 4: score, rank and tier the whole universe in Spark; describe the top tier;
    count the risky people the exclusions removed who would have ranked high; with
    ``truth_product`` (generated worlds), measure how its future buyers rank."""
    spark, settings, result, options = build.spark, build.settings, build.result, build.options
    # Timed from here: scoring, ranking and tiering of the universe. The scores are kept
    # before the sort, which samples its input first: the model runs once per person.
    began = time.perf_counter()
    scores = build.keep(score_people(spark, model, data.features.join(data.universe, "person_id")),
                        Keep.DISK)  # fmt: skip
    ranked = build.keep(
        ranked_universe(scores, result.universe, options.tiers, result.audience), Keep.DISK
    )
    audience = in_tiers(ranked)
    ranked.count()
    result.scoring_s = time.perf_counter() - began
    _log.info(
        "lookalike: scored and ranked %d people in %.1f s (%.0f people/s)",
        result.universe, result.scoring_s, result.scored_per_s,
    )  # fmt: skip
    result.reach = tier_sizes(result.universe, options.tiers)
    top = audience.filter(F.col("tier") <= min(options.tiers))
    result.insights = audience_insights(
        data.profiles, data.universe, top, limit=options.insights,
        min_people=options.insights_min_people,
    )  # fmt: skip
    if options.exclude_risky:
        # risky seeds are counted once, as seed exclusions
        removed = data.risky.join(data.matched, "person_id", "left_anti")
        result.exclusions["universe people flagged as risky"] = removed.count()
        shown = sorted({min(options.tiers), *(t for t in (5,) if t in options.tiers),
                        max(options.tiers)})  # fmt: skip
        for tier, people in seed_like_removed(
            spark, model, data.features, removed, audience, shown
        ).items():
            result.exclusions[f"risky people who would rank in the top {tier}%"] = people
    if truth_product and settings.truth_dir is not None:
        from dmp.evaluation.lookalike import future_conversion_lift

        result.truth_checks = future_conversion_lift(
            spark, settings, build.run, ranked, data.seed_people, data.universe, truth_product
        )
    return Ranked(ranked, audience)


def gate(build: Build, data: Prepared, ranked: Ranked, evaluation: Evaluation) -> None:
    """Step 5: the audience gate (expectations and enforced guardrails).

    Raises:
        GateFailed: A check failed; nothing is tracked or published.
    """
    from dmp.lookalike.gate import audience_gate, guardrail_outcomes

    result = build.result
    assert result.headline is not None
    checks = guardrail_outcomes(
        result.evaluation, result.method, result.guardrails, mixture=evaluation.mixture,
        options=build.options.guardrails, headline=result.headline.kind,
    )  # fmt: skip
    result.gate_report = audience_gate(
        build.spark, build.settings, build.run, ranked.audience, data.seed_people,
        data.profiles, checks,
    )  # fmt: skip


def track(build: Build, model: LookalikeModel, evaluation: Evaluation, pool: pd.DataFrame) -> None:
    """Step 6: write the report and log the build to MLflow (params, metrics, the model
    without person ids, registered as ``lookalike_<name>`` with alias ``current``)."""
    from dmp.lookalike.report import ReportInputs, write_report
    from dmp.lookalike.tracking import log_build

    settings, run, result = build.settings, build.run, build.result
    stamp = datetime.now(UTC)
    folder = (
        settings.reports_dir / "lookalike" / result.audience
        / f"{stamp:%Y%m%dT%H%M%SZ}-{run.run_id}"
    )  # fmt: skip
    inputs = ReportInputs(
        audience=result.audience, run_id=run.run_id, created_at=stamp, as_of=result.as_of,
        seed_description=result.seed_description, seed_rows=result.seed_rows,
        seed_matched=result.seed_matched, universe=result.universe, method=result.method,
        method_reason=result.method_reason, methods=result.evaluation,
        gains={n: evaluation.gains[n] for n in result.evaluation},
        deciles=evaluation.deciles[result.method], reach=result.reach,
        guardrails=result.guardrails, truth_checks=result.truth_checks,
        left_out=tuple(result.left_out), headline=result.headline, heldout=result.heldout,
        leaky=result.leaky, exclusions=dict(result.exclusions),
        importance=result.importance, insights=result.insights, value=result.value,
        value_capture=result.value_capture,
    )  # fmt: skip
    files = write_report(inputs, folder)
    spec_file = folder / "feature_spec.json"
    spec_file.write_text(model.spec.to_json())
    metrics: dict[str, float] = {}
    for name, values in result.evaluation.items():
        metrics.update(
            {f"{name}.{k}": v for k, v in values.items() if not np.isnan(v)}  # 1 split: no std
        )
    for name, values in result.heldout.items():  # the secondary view, when not the headline
        metrics.update({f"heldout.{name}.{k}": v for k, v in values.items() if not np.isnan(v)})
    metrics.update(
        {_metric_key(k): v for k, v in {**result.guardrails, **result.truth_checks}.items()}
    )
    metrics.update({"seed_matched": result.seed_matched, "universe": result.universe})
    metrics.update(explanation_metrics(result))
    if result.scoring_s > 0:
        metrics["scoring_seconds"] = result.scoring_s
    params = {
        "audience": result.audience, "as_of": result.as_of, "seed": result.seed_description,
        **{f"input.{t}": v for t, v in run.inputs.items()},
        # the configured default ("auto") is "configured_method"; "method" is the one used
        **{
            ("configured_method" if k == "method" else k): v
            for k, v in settings.lookalike.model_dump(
                exclude={"embedding", "tiers", "guardrails"}
            ).items()
        },
        **{f"guardrails.{k}": v for k, v in settings.lookalike.guardrails.model_dump().items()},
        "method": result.method, "method_reason": result.method_reason,
        "features_left_out": ",".join(result.left_out) or "-",
        "features_dropped_leakage": ",".join(result.leaky) or "-",
        **_headline_params(result.headline),
    }  # fmt: skip
    tracked = log_build(
        settings, audience=result.audience, model=model, params=params, metrics=metrics,
        tags={
            "dmp.run_id": run.run_id, "dmp.as_of": result.as_of.isoformat(),
            "dmp.headline": result.headline.kind if result.headline else "-",
            "dmp.features_left_out": ",".join(result.left_out) or "-",
            "dmp.features_dropped_leakage": ",".join(result.leaky) or "-",
        },
        artifacts={"report": folder}, example=pool.head(5).reset_index(drop=True),
    )  # fmt: skip
    result.mlflow_run_id = tracked.run_id
    result.model_version = tracked.model_version
    result.report = str(files.get("report.html", folder))
    _write_summary(folder, result)


def publish(build: Build, ranked: Ranked) -> None:
    """Step 7: replace the audience's partition of ``gold/audiences`` (the tiers),
    ``gold/universe_scores`` (everyone ranked) and ``gold/audience_reach``."""
    run, result = build.run, build.result
    name, day = result.audience, result.as_of
    partition = ReplacePartition({"audience": name, "as_of": day})
    stamped = {
        AUDIENCES_TABLE: ranked.audience,
        # Everyone ranked, not only the exported tiers: quality beyond the tiers is measurable.
        UNIVERSE_SCORES_TABLE: ranked.ranked,
    }
    for table, frame in stamped.items():
        rows = frame.withColumn("run_id", F.lit(result.mlflow_run_id)).withColumn(
            "as_of", F.lit(day)
        )
        run.write(rows, table, mode=partition, partition_by=["audience", "as_of"])
    reach = build.spark.createDataFrame(
        [(name, day, p, s, result.mlflow_run_id) for p, s in result.reach],
        "audience string, as_of date, tier int, people long, run_id string",
    )
    run.write(reach, REACH_TABLE, mode=partition, partition_by=["audience", "as_of"])


def _snapshot(run: Run, as_of: date | None) -> date:
    if not run.lake.exists(PROFILES_TABLE):
        raise UserError("silver/profiles does not exist yet: run `dmp profiles` first")
    snapshots = run.lake.partition_values(PROFILES_TABLE, "as_of")
    if not snapshots:
        raise UserError("silver/profiles has no snapshot yet")
    day = as_of or date.fromisoformat(max(snapshots))
    if day.isoformat() not in snapshots:
        raise UserError(f"no profile snapshot as of {day}; available: {', '.join(snapshots[-5:])}")
    return day


def _seed(
    spark: SparkSession, settings: Settings, run: Run, seed: SeedRequest, day: date
) -> SeedSet:
    if (seed.segment is None) == (seed.file is None):
        raise UserError("give exactly one of --segment or --seed-file")
    if seed.segment is not None:
        return seed_from_segment(spark, run, seed.segment, day)
    assert seed.file is not None
    if seed.id_type is None:
        raise UserError("--seed-file needs --id-type")
    identity_map = run.read(spark, IDENTITY_MAP_TABLE)
    return seed_from_file(
        spark, run, identity_map, seed.file, seed.id_type,  # type: ignore[arg-type]
        settings.ingest.default_country_code, id_key=settings.id_key(),
    )  # fmt: skip


def _universe(profiles: DataFrame, seeds: DataFrame, settings: Settings) -> DataFrame:
    """Everyone the policy allows to be modelled and targeted, minus the seed."""
    options = settings.lookalike
    allowed = profiles
    if options.exclude_risky:
        allowed = allowed.filter(~F.col("bot_flag") & ~F.col("coupon_abuse_flag"))
    if options.exclude_shared_identities:
        allowed = allowed.filter(~F.col("shared_identity"))
    if options.consent_for_modelling:
        allowed = allowed.filter(F.col("consent_advertising"))
    return allowed.select("person_id").join(seeds, "person_id", "left_anti")


def _pool_size(options: LookalikeSettings, seeds: int) -> int:
    """Universe people sampled to the driver: the evaluation sample plus training people."""
    return int(options.evaluation_universe + max(20_000, int(4 * options.unlabelled_ratio * seeds)))


def _leakage_guard(
    spec: FeatureSpec, seed: pd.DataFrame, pool: pd.DataFrame, options: LookalikeSettings,
    result: LookalikeResult,
) -> FeatureSpec:  # fmt: skip
    """An uploaded list: drop (and name) every feature that alone separates it."""
    result.leaky = leaky_features(spec, seed, pool, options.headline.max_feature_auc)
    if len(result.leaky) == len(spec.names):
        raise UserError(
            "every feature alone separates the seed list from the universe "
            f"(AUC >= {options.headline.max_feature_auc}); nothing is left to model"
        )
    if result.leaky:
        _log.warning("lookalike: leakage guard dropped %s", ", ".join(result.leaky))
    return without_features(spec, list(result.leaky))


def _file_headline(result: LookalikeResult, options: LookalikeSettings) -> Headline:
    """The headline of a seed list (held-out, guarded), also the fallback's starting point."""
    threshold = options.headline.max_feature_auc
    dropped = (
        "dropped " + ", ".join(f"{n} (AUC {a:.3f})" for n, a in result.leaky.items())
        if result.leaky
        else "none did"
    )
    return Headline(
        "held-out",
        "an uploaded list has no definition to replay over time, so part of it is held out "
        f"and looked for; features that alone separate it from the universe (AUC >= "
        f"{threshold}) are left out: {dropped}",
    )


def _time_split(
    build: Build, segment: str, rule: str | None, seed_people: DataFrame, spec: FeatureSpec,
    candidates: list[str],
) -> tuple[Evaluation | None, Headline]:  # fmt: skip
    """Evaluate on a time split (see :mod:`dmp.lookalike.timesplit`), or say why not.

    The seed as of the earlier snapshot comes from the segment's rule re-evaluated on that
    snapshot (or the segment's members then); the converters are the people eligible then
    who are in the seed now. ``spec`` is not fitted yet (the early sample fits it).
    """
    spark, settings, run, options = build.spark, build.settings, build.run, build.options
    day = build.result.as_of
    horizon = options.headline.horizon_days
    fallback = "the headline is the held-out view, which flatters a seed defined by behaviour"
    early = early_snapshot(run.lake.partition_values(PROFILES_TABLE, "as_of"), day, horizon)
    if early is None:
        return None, Headline(
            "held-out",
            f"no profile snapshot {horizon} or more days before {day} "
            f"(lookalike.headline.horizon_days): {fallback}; run `dmp profiles --as-of "
            f"{day - timedelta(days=horizon)}` to measure a time split",
        )
    profiles = build.keep(run.read(spark, PROFILES_TABLE).filter(F.col("as_of") == F.lit(early)))
    members = _early_members(spark, run, profiles, segment, rule, early)
    if members is None:
        return None, Headline(
            "held-out",
            f"segment {segment} can be neither re-evaluated on the {early} snapshot nor read "
            f"as of then: {fallback}",
        )
    members = build.keep(members)
    early_seed = members.count()
    if early_seed < options.min_seed:
        return None, Headline(
            "held-out",
            f"segment {segment} had {early_seed} members as of {early}, fewer than "
            f"lookalike.min_seed ({options.min_seed}): {fallback}",
        )
    universe = _universe(profiles, members, settings)
    converters = universe.join(seed_people, "person_id").withColumn(CONVERTED, F.lit(1.0))
    labelled = build.keep(universe.join(converters, "person_id", "left").fillna(0.0, [CONVERTED]))
    converted = labelled.filter(F.col(CONVERTED) > 0).count()
    embeddings = _embeddings(spark, settings, run, early)
    features = build.keep(flat_features(profiles, embeddings, spec), Keep.DISK)
    seed = _sample(features.join(members, "person_id"), options.max_training_seeds,
                   options.random_seed)  # fmt: skip
    pool = _sample(
        features.join(labelled, "person_id"), _pool_size(options, len(seed)),
        options.random_seed + 1,
    )  # fmt: skip
    try:
        evaluation = forward_evaluate(spec.fitted(pool), seed, pool, candidates, options)
    except ValueError as error:
        return None, Headline(
            "held-out",
            f"{converted} people newly joined segment {segment} between {early} and {day}, "
            f"too few to rank ({error}): {fallback}",
        )
    note = (
        f"seed as of {early} ({early_seed} people, features as of then); success = the "
        f"{converted} people eligible then who newly joined segment {segment} by {day}"
    )
    return evaluation, Headline("time-split", note, early, (day - early).days, early_seed,
                                converted)  # fmt: skip


def _early_members(
    spark: SparkSession, run: Run, profiles: DataFrame, segment: str, rule: str | None,
    early: date,
) -> DataFrame | None:  # fmt: skip
    """``person_id`` of the segment as of ``early``: its rule on that snapshot, else its
    members materialised then, else None."""
    from pyspark.errors import AnalysisException, ParseException

    from dmp.segments.members import segment_table

    if rule:
        try:
            condition = F.coalesce(F.expr(expand_shorthands(rule)), F.lit(False))
            members = profiles.filter(condition).select("person_id")
            members.schema  # noqa: B018 - analyse now: a rule over columns the snapshot lacks
            return members
        except (AnalysisException, ParseException) as error:
            _log.info("lookalike: rule of %s not valid on %s: %s", segment, early, error)
    table = segment_table(segment)
    if run.lake.exists(table) and early.isoformat() in run.lake.partition_values(table, "as_of"):
        return (
            run.read(spark, table)
            .filter((F.col("segment") == segment) & (F.col("as_of") == F.lit(early)))
            .select("person_id")
            .distinct()
        )
    return None


def _embeddings(spark: SparkSession, settings: Settings, run: Run, day: date) -> DataFrame:
    """Person embeddings of the snapshot, computed once per as-of date and cached."""
    if run.lake.exists(EMBEDDINGS_TABLE) and day.isoformat() in run.lake.partition_values(
        EMBEDDINGS_TABLE, "as_of"
    ):
        return run.read(spark, EMBEDDINGS_TABLE).filter(F.col("as_of") == F.lit(day))
    from dmp.profiles.attribution import attribute_events, until
    from dmp.tables import EVENTS_TABLE

    events = run.read(spark, EVENTS_TABLE).filter(until(day))
    attributed = attribute_events(events, run.read(spark, IDENTITY_MAP_TABLE), settings.identity)
    matrix = interactions(attributed, settings.lookalike.embedding)
    with kept(matrix, Keep.DISK) as cached:
        fitted = person_embeddings(
            cached, day, settings.lookalike.embedding, settings.lookalike.random_seed
        )
        run.write(
            fitted, EMBEDDINGS_TABLE, mode=ReplacePartition({"as_of": day}),
            partition_by=["as_of"],
        )  # fmt: skip
    return run.read(spark, EMBEDDINGS_TABLE).filter(F.col("as_of") == F.lit(day))


def _sample(frame: DataFrame, size: int, seed: int) -> pd.DataFrame:
    """A deterministic bounded sample (hash order) collected to the driver."""
    ordered = frame.withColumn("_key", F.xxhash64("person_id", F.lit(seed))).orderBy("_key")
    return ordered.limit(size).drop("_key").toPandas()


def _fit(
    method: str, data: Prepared, options: LookalikeSettings, random_state: int
) -> LookalikeModel:
    """``method`` fitted on the driver samples (seed people weighted by ``--value``)."""
    from dmp.lookalike.value import value_weights

    weights = None if data.seed_values is None else value_weights(data.seed_values)
    return fit_model(
        method, data.spec, data.spec.matrix(data.seed_sample), data.spec.matrix(data.pool),
        data.pool["person_id"].tolist(), ModelOptions.from_settings(options, random_state),
        seed_weights=weights,
    )  # fmt: skip


def _guardrails(
    model: LookalikeModel, data: Prepared, options: LookalikeSettings
) -> dict[str, float]:
    """Popularity bias and stability of the top tier across a rerun with another seed."""
    from dmp.evaluation.lift import jaccard, spearman

    pool = data.pool
    scores = model.score_frame(pool)
    rerun = _fit(model.method, data, options, options.random_seed + 7919).score_frame(pool)
    top = max(1, int(np.ceil(len(pool) * min(options.tiers) / 100)))
    ids = pool["person_id"].to_numpy()
    first = ids[np.argsort(-scores, kind="stable")[:top]]
    second = ids[np.argsort(-rerun, kind="stable")[:top]]
    return {
        "score-activity spearman": spearman(scores, pool["log_events"].to_numpy(dtype=float)),
        "top-tier jaccard across reruns": jaccard(first.tolist(), second.tolist()),
    }


def _headline_params(headline: Headline | None) -> dict[str, Any]:
    """MLflow params saying what the headline metrics (``<method>.lift_at_1pct``) measure."""
    if headline is None:
        return {}
    return {
        "headline": headline.kind, "headline_note": headline.note[:500],
        "headline_early_as_of": headline.early_as_of or "-",
        "headline_horizon_days": headline.horizon_days or "-",
        "headline_early_seed": headline.early_seed, "headline_converted": headline.converted,
    }  # fmt: skip


def _write_summary(folder: Path, result: LookalikeResult) -> None:
    """``summary.json`` beside the report: the headline figures the report index shows."""
    chosen = result.evaluation.get(result.method, {})
    lift = chosen.get("lift_at_1pct", math.nan)
    summary = {
        "audience": result.audience,
        "as_of": result.as_of.isoformat(),
        "method": result.method,
        "lift_at_1pct": lift if math.isfinite(lift) else None,
        "headline": result.headline.kind if result.headline else None,
        "universe": result.universe,
        "seed_matched": result.seed_matched,
        "mlflow_run_id": result.mlflow_run_id,
        "model_version": result.model_version,
    }
    temporary = folder / f".summary-{uuid.uuid4().hex[:8]}.json"
    temporary.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    os.replace(temporary, folder / "summary.json")


def explanation_metrics(result: LookalikeResult) -> dict[str, float]:
    """MLflow metrics of the exclusions, the importance, the insights and the value capture."""
    import re

    def key(name: str) -> str:  # MLflow takes letters, digits, _ - . / and spaces
        return re.sub(r"[^A-Za-z0-9_./-]+", "_", _metric_key(name))

    found: dict[str, float] = {f"excluded.{key(k)}": float(v) for k, v in result.exclusions.items()}
    if result.importance is not None:
        for row in result.importance.to_dict("records"):
            found[f"importance.{key(str(row['feature']))}"] = float(row["importance"])
    if result.insights is not None:
        for row in result.insights.to_dict("records"):
            found[f"insight_index.{key(str(row['trait']))}"] = float(row["index"])
    if result.value_capture is not None:
        for row in result.value_capture.to_dict("records"):
            found[f"value_captured_at_{row['tier_percent']}pct"] = float(row["value_share"])
            found[f"value_captured_unweighted_at_{row['tier_percent']}pct"] = float(
                row["value_share_unweighted"]
            )
    return found


def _metric_key(name: str) -> str:
    return name.replace("%", "pct").replace("@", "_at_").replace(" ", "_").replace("-", "_")
