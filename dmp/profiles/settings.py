"""Settings of the profile stage (the ``profiles:`` section of the config)."""

from __future__ import annotations

import itertools

from pydantic import Field, field_validator, model_validator

from dmp.spec import StrictModel


class LifecycleBoundaries(StrictModel):
    """Lifecycle stages by days since the last order (``recency_days``) as of the date.

    ``never_bought``: no order; ``new``: first order at most ``new_days`` before as-of;
    otherwise ``active`` <= ``active_days`` < ``sleeping`` <= ``sleeping_days`` <
    ``lapsing`` <= ``lapsing_days`` < ``churned``.
    """

    new_days: int = Field(15, ge=0)
    active_days: int = Field(75, ge=1)
    sleeping_days: int = Field(180, ge=1)
    lapsing_days: int = Field(365, ge=1)

    @model_validator(mode="after")
    def _increasing(self) -> LifecycleBoundaries:
        if not self.active_days < self.sleeping_days < self.lapsing_days:
            raise ValueError("need active_days < sleeping_days < lapsing_days")
        return self


class InterestWeights(StrictModel):
    """How much each behaviour says about interest in a category or brand."""

    view: float = 1.0
    list_view: float = 0.3
    search: float = 0.5
    favourite: float = 2.0
    cart: float = 3.0
    order: float = 5.0
    review: float = 1.5
    share: float = 1.0


class BtydSettings(StrictModel):
    """Buy-till-you-die models (``profiles.btyd``): BG/NBD + Gamma-Gamma.

    Attributes:
        enabled: Fit the models and fill ``p_alive``, ``expected_orders_90d`` and
            ``expected_revenue_365d`` (off: the columns are null).
        max_fit_buyers: At most this many buyers' summaries are collected to the driver to
            fit; above it a seeded random sample of about this size is used.
        seed: Seed of that sample.
        min_buyers: Fewer buyers than this: no fit, the columns are null (a model fitted on a
            handful of people would be noise).
        holdout_days: Calibration/holdout check logged to MLflow: refit on the data up to
            ``as_of - holdout_days`` and compare the predicted with the actual orders in the
            holdout days (0: no check).
        track: Log parameters, log-likelihoods and the holdout check to MLflow.
    """

    enabled: bool = True
    max_fit_buyers: int = Field(200_000, ge=10)
    seed: int = 17
    min_buyers: int = Field(20, ge=3)
    holdout_days: int = Field(0, ge=0)
    track: bool = True


class ProductRuleSettings(StrictModel):
    """Cross-sell rules (``product_rules``): FP-Growth over order baskets.

    Attributes:
        enabled: Mine rules into ``gold/product_rules`` during ``dmp profiles``.
        min_support: Minimum share of baskets holding a rule's products.
        min_confidence: Minimum P(consequent | antecedent).
        max_rules: Keep at most this many rules (highest lift first).
    """

    enabled: bool = True
    min_support: float = Field(0.002, gt=0, le=1)
    min_confidence: float = Field(0.1, ge=0, le=1)
    max_rules: int = Field(1000, ge=1)


class ProfileSettings(StrictModel):
    """Profile rules.

    Attributes:
        half_life_days: Interest decays by half over this many days.
        weights: Event weights for interest affinities.
        top_interests: How many categories (and brands) the top-N tags hold.
        min_interest_share: A category (or brand) needs at least this share of the person's
            interest to be a top interest: a tag should mean something.
        min_interest_score: ... and at least this much decayed evidence (1.5 is about two
            recent product views), so a lone gift episode makes nobody a fan.
        gift_weight: Weight multiplier of an order line that does not fit the person's
            history (a likely gift): its category's share of the person's browsing is below
            ``gift_browse_share`` and it is the only order in that category.
        gift_browse_share: See ``gift_weight``.
        vip_thresholds: Lower bounds of trailing-year spend for V1..V6 (six increasing values);
            ``vip_level`` is 0 below V1.
        lifecycle: Stage boundaries.
        rfm_window_days: Frequency and monetary value count orders in this trailing window.
        cycle_min_orders: Orders in a category before a purchase cycle is estimated.
        due_soon_days: ``due soon`` when the next expected purchase falls within this many
            days after as-of (or is overdue by at most this many).
        bot_threshold: Bot score from which a person is flagged.
        coupon_abuse_threshold: Coupon-abuse score from which a person is flagged.
        shared_device_accounts: A device seen with more user ids than this marks its users as
            coupon-abuse suspects.
        consent_default: Consent of a person who never stated one (None: use
            ``ingest.consent_default``).
        btyd: Buy-till-you-die models (``p_alive`` and the expected orders and revenue).
    """

    half_life_days: float = Field(30.0, gt=0)
    weights: InterestWeights = InterestWeights()
    top_interests: int = Field(3, ge=1, le=20)
    min_interest_share: float = Field(0.1, ge=0, le=1)
    min_interest_score: float = Field(1.5, ge=0)
    gift_weight: float = Field(0.1, ge=0, le=1)
    gift_browse_share: float = Field(0.05, ge=0, le=1)
    vip_thresholds: list[float] = Field(
        default_factory=lambda: [0.01, 100.0, 300.0, 800.0, 2000.0, 5000.0]
    )
    lifecycle: LifecycleBoundaries = LifecycleBoundaries()
    rfm_window_days: int = Field(365, ge=1)
    cycle_min_orders: int = Field(3, ge=2)
    due_soon_days: int = Field(7, ge=0)
    bot_threshold: float = Field(0.5, gt=0, le=1)
    coupon_abuse_threshold: float = Field(0.5, gt=0, le=1)
    shared_device_accounts: int = Field(3, ge=1)
    consent_default: bool | None = None
    btyd: BtydSettings = BtydSettings()

    @field_validator("vip_thresholds")
    @classmethod
    def _six_increasing(cls, values: list[float]) -> list[float]:
        if len(values) != 6 or any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError("vip_thresholds needs six increasing spend bounds (V1..V6)")
        return values
