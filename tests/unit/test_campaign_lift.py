"""Campaign lift: reference answers, coverage by simulation, edge cases and the verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dmp.evaluation.campaign import (
    GroupOutcome,
    LiftResult,
    bootstrap_relative_ci,
    campaign_lift,
    sample_ratio_p_value,
)

Z95 = 1.959963984540054  # Phi^-1(0.975)
Z80 = 0.8416212335729143  # Phi^-1(0.80)


def _lift(x_t: int, n_t: int, x_c: int, n_c: int, **kwargs: float) -> LiftResult:
    return campaign_lift(GroupOutcome(n_t, x_t), GroupOutcome(n_c, x_c), **kwargs)


# --- reference answers -------------------------------------------------------------------------


def test_p_value_by_hand() -> None:
    # Test 1,080 of 18,000 (6%), control 100 of 2,000 (5%).
    # Pooled P = 1,180 / 20,000 = 0.059; P(1 - P) = 0.059 * 0.941 = 0.055519.
    # 1/18,000 + 1/2,000 = 0.0000555... + 0.0005 = 0.000555...
    # SE = sqrt(0.055519 * 0.000555...) = sqrt(3.08439e-5) = 0.0055537.
    # Z = (0.06 - 0.05) / 0.0055537 = 1.80060; p = 2 * (1 - Phi(Z)) = erfc(Z / sqrt 2) = 0.07177.
    result = _lift(1080, 18000, 100, 2000)
    se = math.sqrt(0.059 * 0.941 * (1 / 18000 + 1 / 2000))
    assert se == pytest.approx(0.0055537, rel=1e-4)
    z = 0.01 / se
    assert z == pytest.approx(1.80060, rel=1e-5)
    assert result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    assert result.p_value == pytest.approx(0.07177, abs=5e-5)
    assert not result.significant


@settings(max_examples=60, deadline=None)
@given(
    n_t=st.integers(5, 50_000),
    n_c=st.integers(5, 50_000),
    p_t=st.floats(0.01, 0.99),
    p_c=st.floats(0.01, 0.99),
)
def test_p_value_equals_chi_square_without_correction(
    n_t: int, n_c: int, p_t: float, p_c: float
) -> None:
    # For a 2x2 table the pooled two-proportion Z² is Pearson's chi-square statistic.
    x_t, x_c = round(p_t * n_t), round(p_c * n_c)
    table = np.array([[x_t, n_t - x_t], [x_c, n_c - x_c]])
    if (table.sum(axis=0) == 0).any():  # a column of zeros: chi-square is undefined
        return
    expected = stats.chi2_contingency(table, correction=False)[1]
    assert _lift(x_t, n_t, x_c, n_c).p_value == pytest.approx(expected, rel=1e-9, abs=1e-14)


def test_katz_log_interval_by_hand() -> None:
    # Textbook risk-ratio example: 40 of 200 exposed (20%) against 20 of 200 unexposed (10%).
    # RR = 0.20 / 0.10 = 2, log RR = 0.693147.
    # SE(log RR) = sqrt(1/40 - 1/200 + 1/20 - 1/200) = sqrt(0.025 - 0.005 + 0.05 - 0.005)
    #            = sqrt(0.065) = 0.254951.
    # z * SE = 1.959964 * 0.254951 = 0.499695.
    # RR interval: exp(0.693147 - 0.499695) = exp(0.193452) = 1.21343,
    #              exp(0.693147 + 0.499695) = exp(1.192842) = 3.29644.
    # Relative lift = RR - 1 = 100%, interval 21.34% to 229.64%.
    result = _lift(40, 200, 20, 200)
    assert result.relative_lift == pytest.approx(1.0)
    assert result.relative_ci[0] == pytest.approx(0.21343, abs=2e-5)
    assert result.relative_ci[1] == pytest.approx(2.29644, abs=2e-5)
    # Wald interval of the difference: 0.10 ± 1.959964 * sqrt(0.2*0.8/200 + 0.1*0.9/200)
    #   = 0.10 ± 1.959964 * sqrt(0.0008 + 0.00045) = 0.10 ± 1.959964 * 0.0353553 = 0.10 ± 0.069295.
    assert result.absolute_ci == pytest.approx((0.030705, 0.169295), abs=1e-6)
    assert result.incremental_conversions == pytest.approx(20.0)
    assert result.incremental_conversions_ci == pytest.approx((6.1410, 33.8590), abs=1e-3)


def test_minimum_detectable_effect_by_hand() -> None:
    # n_t = 18,000, n_c = 2,000, p_c = 5%, alpha = 0.05 two-sided, power 0.8:
    # p_c(1 - p_c) = 0.0475; 1/18,000 + 1/2,000 = 0.000555...; product 2.63889e-5,
    # sqrt = 0.00513701; (1.959964 + 0.841621) = 2.801585; MDE = 0.0143918 (1.44 points),
    # relative MDE = 0.0143918 / 0.05 = 28.78%.
    result = _lift(900, 18000, 100, 2000)
    assert result.minimum_detectable_effect == pytest.approx(0.0143918, abs=1e-7)
    assert result.minimum_detectable_relative == pytest.approx(0.287836, abs=1e-6)
    loose = _lift(900, 18000, 100, 2000, confidence=0.9, power=0.9)
    expected = (stats.norm.ppf(0.95) + stats.norm.ppf(0.9)) * math.sqrt(0.0475 / 1800)
    assert loose.minimum_detectable_effect == pytest.approx(expected, rel=1e-12)


def test_incremental_revenue_welch_by_hand() -> None:
    # Test: 4 people with revenue 0, 10, 20, 30 -> R = 60, Q = 1,400, mean 15,
    #   s² = (1,400 - 60²/4) / 3 = (1,400 - 900) / 3 = 166.67.
    # Control: 3 people with revenue 0, 0, 12 -> R = 12, Q = 144, mean 4, s² = (144 - 48) / 2 = 48.
    # Per-person difference 11; SE = sqrt(166.67/4 + 48/3) = sqrt(41.667 + 16) = 7.5939.
    # Incremental revenue = 11 * 4 = 44, interval 4 * (11 ± 1.959964 * 7.5939) = 44 ± 59.535.
    result = campaign_lift(GroupOutcome(4, 3, 60.0, 1400.0), GroupOutcome(3, 1, 12.0, 144.0))
    assert result.incremental_revenue == pytest.approx(44.0)
    assert result.incremental_revenue_ci == pytest.approx((44 - 59.535, 44 + 59.535), abs=1e-2)


def test_sample_ratio_check_matches_binomial_test() -> None:
    assert sample_ratio_p_value(2000, 20000, 0.1) == pytest.approx(1.0)
    assert sample_ratio_p_value(2300, 20000, 0.1) < 1e-5
    assert sample_ratio_p_value(30, 200, 0.1) == pytest.approx(stats.binomtest(30, 200, 0.1).pvalue)
    with pytest.raises(ValueError, match="share in"):
        sample_ratio_p_value(3, 2, 0.1)


# --- simulation --------------------------------------------------------------------------------


def _simulated(runs: int, seed: int, lift: float, people: int = 20_000, holdout: float = 0.1):
    """Converter counts of many campaigns: base rate 5%, planted relative lift."""
    rng = np.random.default_rng(seed)
    n_c = round(people * holdout)
    n_t = people - n_c
    x_t = rng.binomial(n_t, 0.05 * (1 + lift), runs)
    x_c = rng.binomial(n_c, 0.05, runs)
    return n_t, n_c, x_t, x_c


def _share_significant(x_t: np.ndarray, n_t: int, x_c: np.ndarray, n_c: int) -> float:
    pairs = zip(x_t.tolist(), x_c.tolist(), strict=True)
    return float(np.mean([_lift(a, n_t, b, n_c).significant for a, b in pairs]))


def test_intervals_cover_a_planted_lift() -> None:
    # 2,000 campaigns of 20k people, 10% holdout, base rate 5%, true lift +20%: the 95%
    # intervals must cover the truth in 93-97% of runs (SE of a coverage rate here: 0.5%).
    n_t, n_c, x_t, x_c = _simulated(2000, seed=7, lift=0.2)
    results = [_lift(int(a), n_t, int(b), n_c) for a, b in zip(x_t, x_c, strict=True)]
    relative = np.array([r.relative_ci for r in results])
    absolute = np.array([r.absolute_ci for r in results])
    relative_coverage = np.mean((relative[:, 0] <= 0.2) & (relative[:, 1] >= 0.2))
    absolute_coverage = np.mean((absolute[:, 0] <= 0.01) & (absolute[:, 1] >= 0.01))
    assert 0.93 <= relative_coverage <= 0.97, relative_coverage
    assert 0.93 <= absolute_coverage <= 0.97, absolute_coverage
    # Without a lift the test rejects about 5% of the time.
    n_t, n_c, x_t, x_c = _simulated(2000, seed=8, lift=0.0)
    rejected = _share_significant(x_t, n_t, x_c, n_c)
    assert 0.03 <= rejected <= 0.07, rejected


def test_revenue_interval_covers_a_planted_lift() -> None:
    # Converters spend lognormal(mu=3, sigma=1), mean exp(3.5) = 33.12; everyone else spends 0.
    # True incremental revenue = n_t * (0.06 - 0.05) * 33.12. Only converters' revenues are
    # drawn (about 1,180 per campaign), summed per campaign with reduceat.
    runs, mean_spend = 1000, math.exp(3.5)
    n_t, n_c, x_t, x_c = _simulated(runs, seed=11, lift=0.2)
    rng = np.random.default_rng(12)
    sums = []
    for counts in (x_t, x_c):
        spend = rng.lognormal(3.0, 1.0, counts.sum())
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        sums.append((np.add.reduceat(spend, starts), np.add.reduceat(spend**2, starts)))
    truth = n_t * 0.01 * mean_spend
    covered = 0
    for i in range(runs):
        result = campaign_lift(
            GroupOutcome(n_t, int(x_t[i]), float(sums[0][0][i]), float(sums[0][1][i])),
            GroupOutcome(n_c, int(x_c[i]), float(sums[1][0][i]), float(sums[1][1][i])),
        )
        low, high = result.incremental_revenue_ci
        covered += low <= truth <= high
    assert 0.92 <= covered / runs <= 0.97, covered / runs


def test_power_at_the_minimum_detectable_effect() -> None:
    # The MDE formula plans on the control variance in both groups; the test group's variance
    # is a little larger at p_c + MDE, so the realised power is somewhat below the nominal 80%.
    mde = _lift(900, 18000, 100, 2000).minimum_detectable_effect
    rng = np.random.default_rng(3)
    x_t, x_c = rng.binomial(18000, 0.05 + mde, 2000), rng.binomial(2000, 0.05, 2000)
    power = _share_significant(x_t, 18000, x_c, 2000)
    assert 0.70 <= power <= 0.85, power


def test_bootstrap_agrees_with_the_delta_method_on_a_big_sample() -> None:
    test = np.r_[np.ones(3000), np.zeros(47000)]  # 6%
    control = np.r_[np.ones(2500), np.zeros(47500)]  # 5%
    low, high = bootstrap_relative_ci(test, control, iterations=4000, seed=1)
    delta = _lift(3000, 50000, 2500, 50000).relative_ci
    assert low == pytest.approx(delta[0], abs=0.01)
    assert high == pytest.approx(delta[1], abs=0.01)
    assert bootstrap_relative_ci(test, control, seed=1) == bootstrap_relative_ci(
        test.astype(bool), control, seed=1
    )


def test_bootstrap_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="control group is empty"):
        bootstrap_relative_ci(np.ones(3), np.array([]))
    with pytest.raises(ValueError, match="only 0/1"):
        bootstrap_relative_ci(np.array([0, 2]), np.array([0, 1]))


# --- invariants and edge cases -----------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    n_t=st.integers(1, 10_000),
    n_c=st.integers(1, 10_000),
    share_t=st.floats(0, 1),
    share_c=st.floats(0, 1),
)
def test_invariants(n_t: int, n_c: int, share_t: float, share_c: float) -> None:
    x_t, x_c = round(share_t * n_t), round(share_c * n_c)
    result = _lift(x_t, n_t, x_c, n_c)
    assert 0.0 <= result.p_value <= 1.0
    low, high = result.absolute_ci
    assert low <= result.absolute_lift <= high
    assert result.incremental_conversions == pytest.approx(result.absolute_lift * n_t)
    if x_t and x_c:
        low, high = result.relative_ci
        assert -1 < low <= result.relative_lift <= high
    else:
        assert all(math.isnan(v) for v in result.relative_ci)
    # Swapping the groups mirrors the difference and keeps the p-value.
    mirrored = _lift(x_c, n_c, x_t, n_t)
    assert mirrored.absolute_lift == pytest.approx(-result.absolute_lift)
    assert mirrored.p_value == pytest.approx(result.p_value)
    assert set(result.summary()) == set(mirrored.summary())
    assert result.verdict().endswith(".")


def test_no_control_converters_follow_the_documented_rule() -> None:
    result = _lift(30, 1000, 0, 100)
    assert result.relative_lift == math.inf
    assert all(math.isnan(v) for v in result.relative_ci)
    assert math.isnan(result.minimum_detectable_effect)
    assert math.isnan(result.minimum_detectable_relative)
    assert result.verdict().startswith(
        "Nobody in the control group converted, so the relative lift cannot be measured"
    )
    nobody = _lift(0, 1000, 0, 100)
    assert math.isnan(nobody.relative_lift) and nobody.p_value == 1.0
    assert nobody.absolute_ci == (0.0, 0.0)
    no_test_converters = _lift(0, 1000, 5, 100)
    assert no_test_converters.relative_lift == -1.0
    assert all(math.isnan(v) for v in no_test_converters.relative_ci)


def test_tiny_groups_work() -> None:
    result = campaign_lift(GroupOutcome(1, 1, 5.0, 25.0), GroupOutcome(1, 0))
    assert result.absolute_lift == 1.0 and not result.significant
    assert all(math.isnan(v) for v in result.incremental_revenue_ci)  # s² needs two people
    assert _lift(2, 3, 1, 2).relative_lift == pytest.approx(2 / 3 / 0.5 - 1)


@pytest.mark.parametrize(
    ("test", "control", "message"),
    [
        (GroupOutcome(0, 0), GroupOutcome(10, 1), "the test group is empty"),
        (GroupOutcome(10, 1), GroupOutcome(0, 0), "the control group is empty"),
    ],
)
def test_empty_groups_are_rejected(test: GroupOutcome, control: GroupOutcome, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        campaign_lift(test, control)


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="converters"):
        GroupOutcome(10, 11)
    with pytest.raises(ValueError, match="swapped"):
        GroupOutcome(10, 2, revenue=100.0, revenue_sq=50.0)
    with pytest.raises(ValueError, match="finite"):
        GroupOutcome(10, 2, revenue=math.nan)
    with pytest.raises(ValueError, match="confidence"):
        _lift(1, 10, 1, 10, confidence=95)
    with pytest.raises(ValueError, match="power"):
        _lift(1, 10, 1, 10, power=1.0)


def test_group_properties() -> None:
    group = GroupOutcome(200, 10, 300.0, 9000.0)
    assert group.rate == 0.05
    assert group.revenue_per_person == 1.5
    assert group.revenue_variance == pytest.approx((9000 - 300**2 / 200) / 199)
    # Wilson interval for 10 of 200: reference from the closed form written out.
    n, p, z = 200, 0.05, Z95
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert group.rate_interval() == pytest.approx((centre - half, centre + half))
    assert GroupOutcome(20, 0).rate_interval()[0] == 0.0 < GroupOutcome(20, 0).rate_interval()[1]
    assert math.isnan(GroupOutcome(0, 0).rate)


# --- summary and verdict -----------------------------------------------------------------------


def test_summary_keys_are_mlflow_safe() -> None:
    summary = _lift(1080, 18000, 100, 2000).summary()
    assert all(key.replace("_", "").isalnum() and key.islower() for key in summary)
    expected = {"test_rate", "control_rate", "absolute_lift", "relative_lift", "p_value"}
    expected |= {"relative_lift_ci_low", "mde_abs", "mde_rel", "incremental_revenue_ci_high"}
    assert expected <= set(summary)
    assert summary["test_rate"] == 0.06 and summary["significant"] == 0.0
    assert all(isinstance(value, float) for value in summary.values())


def test_verdict_says_whether_the_lift_is_significant() -> None:
    worked = _lift(1200, 18000, 100, 2000)
    assert worked.significant
    assert worked.verdict().startswith("The campaign worked: 6.67% of the test group converted")
    assert "a lift of +33.3%" in worked.verdict()
    assert "statistically significant at the 95% level (p = 0.004)" in worked.verdict()
    assert "not statistically" not in worked.verdict()

    unclear = _lift(1080, 18000, 100, 2000)
    assert unclear.verdict().startswith("No clear effect")
    assert "not statistically significant at the 95% level (p = 0.072)" in unclear.verdict()
    assert "lifts smaller than about 29% could not be reliably detected" in unclear.verdict()

    hurt = _lift(800, 18000, 120, 2000)
    assert hurt.significant and hurt.absolute_lift < 0
    assert hurt.verdict().startswith("The campaign appears to have lowered conversions")

    strong = _lift(2000, 18000, 100, 2000)
    assert "(p < 0.001)" in strong.verdict()
    assert "at the 90% level" in _lift(2000, 18000, 100, 2000, confidence=0.9).verdict()
