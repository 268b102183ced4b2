"""Settings of the lookalike builder (the ``lookalike:`` section of the config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dmp.spec import StrictModel

Method = Literal["similarity", "pu", "ensemble", "auto"]


class EmbeddingSettings(StrictModel):
    """Behavioural embedding: implicit ALS on the person x product interaction matrix."""

    rank: int = Field(16, ge=2, le=200)
    iterations: int = Field(10, ge=1)
    regularisation: float = Field(0.05, gt=0)
    alpha: float = Field(10.0, gt=0)
    view_weight: float = 1.0
    cart_weight: float = 3.0
    order_weight: float = 5.0


class GuardrailSettings(StrictModel):
    """When the audience gate refuses a lookalike model (exit 3, nothing published).

    Attributes:
        enforce: Fail the gate on a breached guardrail (False: report it as a warning).
        metric: The headline metric the chosen method is compared (and ``auto`` picks) on,
            measured by the headline evaluation (time split or held-out, see
            :class:`HeadlineSettings`).
        min_lift_ratio: The chosen method's headline lift must be at least this many
            times the activity baseline's and the random baseline's (the random baseline
            counts at least 1, its expected value, so a lucky-low random draw lowers no bar).
        max_activity_spearman: Above this rank correlation between score and activity, the
            model mostly ranks activity: refused.
        min_top_people: The lift comparison is enforced only when the top tier of the
            metric (1%, 5% or 10%) of each evaluation split holds at least this many people;
            on smaller evaluations the lift moves by whole people and the check is reported
            as a warning.
    """

    enforce: bool = True
    metric: Literal["lift_at_1pct", "lift_at_5pct", "lift_at_10pct"] = "lift_at_1pct"
    min_lift_ratio: float = Field(1.1, ge=1.0)
    max_activity_spearman: float = Field(0.9, gt=0, le=1)
    min_top_people: int = Field(20, ge=1)


class HeadlineSettings(StrictModel):
    """How the headline figure (report, MLflow, ``auto`` and the gate) is measured.

    Attributes:
        horizon_days: A segment seed is evaluated on a time split: the seed as of the latest
            profile snapshot at least this many days before the build's as-of date, success
            = people who newly meet the segment's rule since. Without such a snapshot the
            held-out view is the headline, with a note in the report.
        max_feature_auc: Uploaded lists: a feature that alone separates the list from the
            universe sample with an AUC (or 1 - AUC) at or above this is dropped and named.
    """

    horizon_days: int = Field(7, ge=1)
    max_feature_auc: float = Field(0.95, gt=0.5, le=1.0)


class LookalikeSettings(StrictModel):
    """How seeds are expanded into audiences.

    Attributes:
        min_seed: Refuse seeds with fewer matched people than this.
        min_universe: Refuse when fewer people are eligible: tiers of 1% and the offline
            evaluation need at least a hundred people to rank.
        exclude_risky: Leave people flagged as bots or coupon abusers out of the seed and
            the universe (the report counts them, and the seed-like people among them).
        exclude_shared_identities: Leave shared identifiers (public computers) out.
        consent_for_modelling: Also require advertising consent to be *modelled* (consent
            is always enforced at export; modelling on it is a policy choice).
        method: Default method; ``auto`` picks by the offline evaluation.
        classifier: Base learner of the PU bagging.
        bags: Bags of the positive-unlabelled classifier.
        unlabelled_ratio: Unlabelled people per seed in each bag.
        max_training_seeds: Seeds used for training at most (a bounded driver sample).
        similarity_centroids: Seed centroids (k-means on the seed) of the similarity method.
        holdout_share: Share of the seed held out in each evaluation split.
        splits: Repeated evaluation splits.
        evaluation_universe: Universe people in each evaluation sample.
        tiers: Audience tiers in percent of the eligible universe (like ad platforms).
        random_seed: Same inputs and seed give the same audience.
        register_model: Register the model in MLflow with alias ``current``.
        guardrails: When the audience gate refuses the model.
        headline: How the headline figures are measured for each kind of seed.
        explain_repeats: Shuffles per profile column in the permutation importance.
        explain_rows: Rows of the held-out set the importance is measured on, at most.
        insights: Traits listed in the audience insights.
        insights_min_people: Traits held by fewer top-tier people are not listed.
    """

    min_seed: int = Field(100, ge=1)
    min_universe: int = Field(200, ge=100)
    exclude_risky: bool = True
    exclude_shared_identities: bool = True
    consent_for_modelling: bool = False
    method: Method = "auto"
    classifier: Literal["logistic", "gradient_boosting"] = "gradient_boosting"
    bags: int = Field(8, ge=1, le=100)
    unlabelled_ratio: float = Field(2.0, gt=0)
    max_training_seeds: int = Field(20_000, ge=10)
    similarity_centroids: int = Field(4, ge=1, le=50)
    holdout_share: float = Field(0.2, gt=0, lt=1)
    splits: int = Field(3, ge=1, le=20)
    evaluation_universe: int = Field(20_000, ge=100)
    tiers: list[int] = Field(default_factory=lambda: list(range(1, 11)))
    random_seed: int = 42
    register_model: bool = True
    embedding: EmbeddingSettings = EmbeddingSettings()
    guardrails: GuardrailSettings = GuardrailSettings()
    headline: HeadlineSettings = HeadlineSettings()
    explain_repeats: int = Field(3, ge=1, le=50)
    explain_rows: int = Field(4000, ge=100)
    insights: int = Field(15, ge=1, le=200)
    insights_min_people: int = Field(5, ge=1)
