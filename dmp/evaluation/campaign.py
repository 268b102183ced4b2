"""Campaign lift from a holdout test: conversion and revenue lift with intervals, p-value and MDE.

Spark aggregates the uploaded outcomes to one :class:`GroupOutcome` per group; everything here is
closed-form arithmetic on those sufficient statistics. Notation used in every docstring:
``n`` people, ``x`` converters, ``p = x / n`` the conversion rate, ``R`` and ``Q`` the sums of
revenue and of revenue², suffix ``t`` for the test group (sent the campaign) and ``c`` for the
control group (held out), ``alpha = 1 - confidence``, ``z = Phi^-1(1 - alpha / 2)`` and
``Phi`` the standard normal distribution function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "GroupOutcome",
    "LiftResult",
    "bootstrap_relative_ci",
    "campaign_lift",
    "sample_ratio_p_value",
]

_NAN_CI = (math.nan, math.nan)


@dataclass(frozen=True)
class GroupOutcome:
    """The sufficient statistics of one group (test or control).

    Attributes:
        people: People in the group (n).
        converters: People who converted at least once (x), ``0 <= x <= n``.
        revenue: Sum of revenue over the group's people (R); negative values (refunds) allowed.
        revenue_sq: Sum of revenue² over the group's people (Q), for the revenue variance. By
            Cauchy-Schwarz ``Q >= R² / n``; smaller values mean the fields were mixed up.

    Raises:
        ValueError: If a count is negative, converters exceed people, a sum is not finite or
            ``Q < R² / n``.
    """

    people: int
    converters: int
    revenue: float = 0.0
    revenue_sq: float = 0.0

    def __post_init__(self) -> None:
        if self.people < 0 or not 0 <= self.converters <= self.people:
            raise ValueError(
                f"a group needs 0 <= converters <= people; got {self.converters} converters "
                f"among {self.people} people"
            )
        if not (math.isfinite(self.revenue) and math.isfinite(self.revenue_sq)):
            raise ValueError("revenue and revenue_sq must be finite numbers")
        floor = self.revenue**2 / self.people if self.people else 0.0
        if self.revenue_sq < floor * (1 - 1e-9) - 1e-9 or (self.people == 0 and self.revenue):
            raise ValueError(
                f"revenue_sq ({self.revenue_sq:g}) must be the sum of squared revenues, at "
                f"least revenue²/people ({floor:g}); were revenue and revenue_sq swapped?"
            )

    @property
    def rate(self) -> float:
        """Conversion rate ``p = x / n`` (NaN for an empty group)."""
        return self.converters / self.people if self.people else math.nan

    @property
    def revenue_per_person(self) -> float:
        """Mean revenue per person ``R / n`` (NaN for an empty group)."""
        return self.revenue / self.people if self.people else math.nan

    @property
    def revenue_variance(self) -> float:
        """Sample variance of revenue per person ``s² = (Q - R² / n) / (n - 1)``.

        Clipped at 0 against rounding; NaN with fewer than two people.
        """
        if self.people < 2:
            return math.nan
        return max(0.0, (self.revenue_sq - self.revenue**2 / self.people) / (self.people - 1))

    def rate_interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Wilson score interval of the conversion rate, used for the chart's error bars.

        ``(p + z²/2n ± z * sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``. Unlike the Wald interval it
        stays inside [0, 1] and has width when ``x = 0`` or ``x = n``.

        Args:
            confidence: Two-sided confidence level in (0, 1).

        Returns:
            ``(low, high)``; NaNs for an empty group.
        """
        if not self.people:
            return _NAN_CI
        n, p, z = self.people, self.rate, _z(confidence)
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        # Analytically the bounds are exactly 0 at x = 0 and 1 at x = n; rounding is not.
        low = 0.0 if self.converters == 0 else max(0.0, centre - half)
        high = 1.0 if self.converters == self.people else min(1.0, centre + half)
        return low, high


@dataclass(frozen=True)
class LiftResult:
    """The campaign's effect, as computed by :func:`campaign_lift` (formulas there).

    Attributes:
        test, control: The two groups.
        confidence, power: The two-sided confidence level of every interval and test, and the
            power the minimum detectable effect is computed for.
        absolute_lift, absolute_ci: ``p_t - p_c`` and its Wald interval.
        relative_lift, relative_ci: ``p_t / p_c - 1`` and its Katz log interval. ``inf`` if only
            the control group has no converters, NaN if neither group has any; the interval is
            NaN whenever either group has no converters.
        p_value: Two-sided pooled two-proportion z-test of ``p_t = p_c``.
        incremental_conversions, incremental_conversions_ci: Extra conversions in the test
            group, ``(p_t - p_c) * n_t``.
        incremental_revenue, incremental_revenue_ci: Extra revenue in the test group,
            ``(R_t / n_t - R_c / n_c) * n_t``.
        minimum_detectable_effect: Absolute MDE for these group sizes and control rate.
        minimum_detectable_relative: ``MDE / p_c``.
        significant: ``p_value < 1 - confidence``.
    """

    test: GroupOutcome
    control: GroupOutcome
    confidence: float
    power: float
    absolute_lift: float
    absolute_ci: tuple[float, float]
    relative_lift: float
    relative_ci: tuple[float, float]
    p_value: float
    incremental_conversions: float
    incremental_conversions_ci: tuple[float, float]
    incremental_revenue: float
    incremental_revenue_ci: tuple[float, float]
    minimum_detectable_effect: float
    minimum_detectable_relative: float
    significant: bool

    def summary(self) -> dict[str, float]:
        """Flat figures with MLflow-safe names (no ``@`` or ``%``).

        Returns:
            ``test_`` / ``control_`` + ``people``, ``converters``, ``rate``,
            ``revenue_per_person``; ``confidence``, ``power``; ``absolute_lift``,
            ``relative_lift``, ``incremental_conversions`` and ``incremental_revenue``, each
            with ``_ci_low`` and ``_ci_high``; ``p_value``, ``significant`` (1.0 or 0.0),
            ``mde_abs`` and ``mde_rel``. Undefined figures are NaN (``relative_lift`` may be
            inf, see :class:`LiftResult`).
        """
        flat: dict[str, float] = {}
        for name, group in (("test", self.test), ("control", self.control)):
            flat[f"{name}_people"] = float(group.people)
            flat[f"{name}_converters"] = float(group.converters)
            flat[f"{name}_rate"] = group.rate
            flat[f"{name}_revenue_per_person"] = group.revenue_per_person
        flat["confidence"], flat["power"] = self.confidence, self.power
        for name, value, (low, high) in (
            ("absolute_lift", self.absolute_lift, self.absolute_ci),
            ("relative_lift", self.relative_lift, self.relative_ci),
            ("incremental_conversions", self.incremental_conversions,
             self.incremental_conversions_ci),
            ("incremental_revenue", self.incremental_revenue, self.incremental_revenue_ci),
        ):  # fmt: skip
            flat[name], flat[f"{name}_ci_low"], flat[f"{name}_ci_high"] = value, low, high
        flat["p_value"] = self.p_value
        flat["significant"] = 1.0 if self.significant else 0.0
        flat["mde_abs"] = self.minimum_detectable_effect
        flat["mde_rel"] = self.minimum_detectable_relative
        return flat

    def verdict(self) -> str:
        """One plain-English sentence for marketers: what happened and whether it is real.

        Returns:
            The sentence. It says "statistically significant" or "not statistically
            significant"; without control converters it says the relative lift cannot be
            measured; when not significant it adds the smallest detectable effect.
        """
        level = f"{round(self.confidence * 100, 6):g}%"
        rates = (
            f"{_percent(self.test.rate)} of the test group converted against "
            f"{_percent(self.control.rate)} of the control group"
        )
        p = "p < 0.001" if self.p_value < 0.001 else f"p = {self.p_value:.3f}"
        significance = (
            f"{'' if self.significant else 'not '}statistically significant at the {level} "
            f"level ({p})"
        )
        if self.control.converters == 0:
            points = self.absolute_lift * 100
            return (
                f"Nobody in the control group converted, so the relative lift cannot be "
                f"measured: {rates}, a difference of {points:+.2f} percentage points that is "
                f"{significance}."
            )
        lift = f"{self.relative_lift:+.1%}{_interval_text(self.relative_ci, level)}"
        if self.significant and self.absolute_lift > 0:
            return f"The campaign worked: {rates}, a lift of {lift} that is {significance}."
        if self.significant:
            return (
                f"The campaign appears to have lowered conversions: {rates}, a change of "
                f"{lift} that is {significance}."
            )
        undetectable = ""
        if math.isfinite(self.minimum_detectable_relative):
            undetectable = (
                f"; with these group sizes, lifts smaller than about "
                f"{self.minimum_detectable_relative:.0%} could not be reliably detected"
            )
        return f"No clear effect: {rates}, a lift of {lift} that is {significance}{undetectable}."


def campaign_lift(
    test: GroupOutcome, control: GroupOutcome, confidence: float = 0.95, power: float = 0.8
) -> LiftResult:
    """Conversion and revenue lift of the test group over the control group.

    Formulas (notation in the module docstring, ``d = p_t - p_c``):

    * Absolute lift ``d`` with the Wald interval on unpooled variance:
      ``d ± z * sqrt(p_t(1-p_t)/n_t + p_c(1-p_c)/n_c)``. It collapses to a point when both
      rates are 0 or 1.
    * Relative lift ``p_t / p_c - 1``. Interval by the delta method on ``log(p_t / p_c)``
      (Katz): ``SE = sqrt(1/x_t - 1/n_t + 1/x_c - 1/n_c)`` and
      ``exp(log(p_t / p_c) ± z * SE) - 1``. Rule for no converters: if ``x_c = 0`` the
      relative lift is ``inf`` (``x_t > 0``) or NaN (``x_t = 0``); if ``x_t = 0 < x_c`` it is
      -1. In all three cases the interval is ``(NaN, NaN)``, since ``log 0`` is undefined;
      there is no silent continuity correction.
    * p-value of the two-sided two-proportion z-test with pooled variance:
      ``P = (x_t + x_c) / (n_t + n_c)``, ``Z = d / sqrt(P(1-P)(1/n_t + 1/n_c))``,
      ``p = 2 * (1 - Phi(|Z|))``. It equals the chi-square test of the 2×2 table without
      continuity correction. If ``P`` is 0 or 1 (nobody or everybody converted) ``p = 1``.
    * Incremental conversions ``d * n_t``, interval: the absolute interval times ``n_t``.
    * Incremental revenue ``(R_t/n_t - R_c/n_c) * n_t`` with a Welch-type normal interval:
      ``± z * n_t * sqrt(s_t²/n_t + s_c²/n_c)``, ``s² = (Q - R²/n) / (n - 1)``
      (NaN interval if a group has fewer than two people).
    * Minimum detectable (absolute) effect at significance ``alpha`` (two-sided) and the given
      power: ``MDE = (z + Phi^-1(power)) * sqrt(p_c(1-p_c) * (1/n_t + 1/n_c))``, and the
      relative MDE ``MDE / p_c``. Both are NaN when ``p_c`` is 0 or 1 (no variance to plan on).
    * Significant: ``p < alpha``. The verdict follows the p-value; at the boundary the Wald
      interval may just include or exclude 0 on its own.

    Args:
        test: The group sent the campaign.
        control: The held-out group.
        confidence: Two-sided confidence level of intervals and test, in (0, 1).
        power: Power for the minimum detectable effect, in (0, 1).

    Returns:
        The :class:`LiftResult`.

    Raises:
        ValueError: If a group is empty or confidence or power is outside (0, 1).
    """
    for name, group in (("test", test), ("control", control)):
        if group.people == 0:
            raise ValueError(
                f"the {name} group is empty (0 people): lift needs people in both groups; "
                "check that the results file has a group column with 'test' and 'control' rows"
            )
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1, got {power}")
    z = _z(confidence)
    n_t, n_c, x_t, x_c = test.people, control.people, test.converters, control.converters
    p_t, p_c = test.rate, control.rate
    d = p_t - p_c
    wald = z * math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    absolute_ci = (d - wald, d + wald)

    relative = (math.inf if x_t else math.nan) if x_c == 0 else p_t / p_c - 1
    relative_ci = _NAN_CI
    if x_t and x_c:
        se_log = math.sqrt(1 / x_t - 1 / n_t + 1 / x_c - 1 / n_c)
        log_ratio = math.log(p_t / p_c)
        relative_ci = (math.exp(log_ratio - z * se_log) - 1, math.exp(log_ratio + z * se_log) - 1)

    pooled = (x_t + x_c) / (n_t + n_c)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = float(2 * stats.norm.sf(abs(d) / se_pooled)) if se_pooled > 0 else 1.0

    revenue_lift = test.revenue_per_person - control.revenue_per_person
    se_revenue = math.sqrt(test.revenue_variance / n_t + control.revenue_variance / n_c)
    revenue_ci = ((revenue_lift - z * se_revenue) * n_t, (revenue_lift + z * se_revenue) * n_t)

    mde = mde_relative = math.nan
    if 0 < p_c < 1:
        mde = (z + float(stats.norm.ppf(power))) * math.sqrt(p_c * (1 - p_c) * (1 / n_t + 1 / n_c))
        mde_relative = mde / p_c

    return LiftResult(
        test=test,
        control=control,
        confidence=confidence,
        power=power,
        absolute_lift=d,
        absolute_ci=absolute_ci,
        relative_lift=relative,
        relative_ci=relative_ci,
        p_value=p_value,
        incremental_conversions=d * n_t,
        incremental_conversions_ci=(absolute_ci[0] * n_t, absolute_ci[1] * n_t),
        incremental_revenue=revenue_lift * n_t,
        incremental_revenue_ci=revenue_ci,
        minimum_detectable_effect=mde,
        minimum_detectable_relative=mde_relative,
        significant=p_value < 1 - confidence,
    )


def bootstrap_relative_ci(
    test_converted: np.ndarray,
    control_converted: np.ndarray,
    *,
    iterations: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the relative lift ``p_t / p_c - 1``, an independent check.

    Each iteration resamples both groups' people with replacement and recomputes the relative
    lift; the interval is the ``alpha/2`` and ``1 - alpha/2`` percentiles (inverted CDF, no
    interpolation) of those values. For 0/1 outcomes the converters of a resample of n people
    drawn from a group with x converters are exactly ``Binomial(n, x / n)``, so the counts are
    drawn that way: the same bootstrap distribution without materialising n × iterations draws.
    A resample without control converters gives ``inf`` (or NaN if neither group has any), so the
    upper bound is ``inf`` when that happens in more than ``alpha / 2`` of the iterations.

    Args:
        test_converted: One 0/1 (or bool) outcome per test person.
        control_converted: One 0/1 (or bool) outcome per control person.
        iterations: Bootstrap resamples.
        seed: Seed of the numpy generator; the same seed gives the same interval.
        confidence: Two-sided confidence level in (0, 1).

    Returns:
        ``(low, high)`` of the relative lift.

    Raises:
        ValueError: On an empty group, values other than 0/1, fewer than one iteration or a
            confidence outside (0, 1).
    """
    alpha = 1 - confidence
    _z(confidence)
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    rng = np.random.default_rng(seed)
    counts = []
    for name, outcomes in (("test", test_converted), ("control", control_converted)):
        values = np.asarray(outcomes, dtype=float).ravel()
        if values.size == 0:
            raise ValueError(f"the {name} group is empty: the bootstrap needs people in both")
        if not np.isin(values, (0.0, 1.0)).all():
            raise ValueError(f"{name}_converted must hold only 0/1 outcomes")
        counts.append(rng.binomial(values.size, values.mean(), size=iterations) / values.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        lifts = counts[0] / counts[1] - 1
    low, high = np.quantile(lifts, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return float(low), float(high)


def sample_ratio_p_value(control_people: int, total_people: int, holdout_share: float) -> float:
    """Exact two-sided binomial test that the control group got its planned share of people.

    A deterministic holdout puts each person in control with probability ``holdout_share``, so
    ``control_people ~ Binomial(total_people, holdout_share)``. A tiny p-value (a "sample ratio
    mismatch") means people were lost or added unevenly, e.g. an outcomes file covering only
    the people the ad platform reached; the lift is then not trustworthy.

    Args:
        control_people: People in the control group.
        total_people: People in both groups.
        holdout_share: The planned control share, in (0, 1).

    Returns:
        The p-value (``scipy.stats.binomtest``).

    Raises:
        ValueError: If the counts or share are out of range.
    """
    if not 0 < holdout_share < 1 or not 0 <= control_people <= total_people or total_people < 1:
        raise ValueError(
            f"need 0 <= control_people <= total_people, total_people >= 1 and a share in (0, 1); "
            f"got {control_people}, {total_people}, {holdout_share}"
        )
    return float(stats.binomtest(control_people, total_people, holdout_share).pvalue)


def _z(confidence: float) -> float:
    """``Phi^-1(1 - alpha / 2)`` for a two-sided confidence level."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def _percent(rate: float) -> str:
    """A rate as a percentage with enough digits to tell small rates apart."""
    return f"{rate:.2%}" if rate < 0.1 else f"{rate:.1%}"


def _interval_text(interval: tuple[float, float], level: str) -> str:
    low, high = interval
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f" ({level} confidence interval {low:+.1%} to {high:+.1%})"
