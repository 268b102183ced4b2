"""Buy-till-you-die columns in Spark against independent answers on the CDNOW sample."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from scipy import special

from dmp.profiles.btyd import (
    BgNbdParams,
    GammaGammaParams,
    btyd_columns,
    buyer_summary,
    expected_purchases,
    expected_spend,
    fit_summary,
    p_alive,
)
from dmp.profiles.settings import BtydSettings

CDNOW = Path(__file__).parents[1] / "fixtures" / "cdnow_summary.csv"
PUBLISHED = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PUBLISHED_GG = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def reference_expected(p: BgNbdParams, t: float, x, t_x, big_t) -> np.ndarray:
    """FHL 2005 equation 10 with SciPy's 2F1 (an independent evaluation of the series)."""
    z = t / (p.alpha + big_t + t)
    hyp = special.hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z)
    head = (p.a + p.b + x - 1) / (p.a - 1)
    body = 1 - ((p.alpha + big_t) / (p.alpha + big_t + t)) ** (p.r + x) * hyp
    odds = np.where(
        x > 0, p.a / (p.b + x - 1) * ((p.alpha + big_t) / (p.alpha + t_x)) ** (p.r + x), 0
    )
    return head * body / (1 + odds)


@pytest.fixture(scope="module")
def cdnow_scored(spark) -> pd.DataFrame:
    data = pd.read_csv(CDNOW)
    frame = spark.createDataFrame(data.astype({"x": float}))
    x, t_x, big_t = F.col("x"), F.col("t_x"), F.col("T")
    return frame.select(
        "ID", "x", "t_x", "T", "zbar",
        p_alive(PUBLISHED, x, t_x, big_t).alias("p_alive"),
        expected_purchases(PUBLISHED, 39.0, x, t_x, big_t).alias("e39"),
        expected_purchases(PUBLISHED, 520.0, x, t_x, big_t).alias("e520"),
        expected_spend(PUBLISHED_GG, x, F.col("zbar")).alias("spend"),
    ).toPandas().sort_values("ID")  # fmt: skip


def test_expected_purchases_match_scipy_hyp2f1_for_every_cdnow_customer(cdnow_scored) -> None:
    d = cdnow_scored
    x, t_x, big_t = (d[c].to_numpy(float) for c in ("x", "t_x", "T"))
    np.testing.assert_allclose(d["e39"], reference_expected(PUBLISHED, 39.0, x, t_x, big_t),
                               rtol=1e-9)  # fmt: skip
    # Ten years ahead: z near 0.93, where a short fixed series would be far off.
    np.testing.assert_allclose(d["e520"], reference_expected(PUBLISHED, 520.0, x, t_x, big_t),
                               rtol=1e-9)  # fmt: skip


def test_published_example_customer(cdnow_scored) -> None:
    # FHL 2005, section 4: x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in 39 weeks.
    first = cdnow_scored[cdnow_scored["ID"] == 1].iloc[0]
    assert first["e39"] == pytest.approx(1.226, abs=5e-4)


def test_p_alive_closed_form_and_non_repeaters(cdnow_scored) -> None:
    d = cdnow_scored
    x, t_x, big_t = (d[c].to_numpy(float) for c in ("x", "t_x", "T"))
    p = PUBLISHED
    odds = np.where(
        x > 0, p.a / (p.b + x - 1) * ((p.alpha + big_t) / (p.alpha + t_x)) ** (p.r + x), 0
    )
    np.testing.assert_allclose(d["p_alive"], 1 / (1 + odds), rtol=1e-12)
    assert (d.loc[d["x"] == 0, "p_alive"] == 1.0).all()
    assert d["p_alive"].between(0, 1).all()


def test_gamma_gamma_expected_spend(cdnow_scored) -> None:
    d = cdnow_scored
    g = PUBLISHED_GG
    repeat = d["x"] > 0
    expected = g.p * (g.gamma + d["x"] * d["zbar"]) / (g.p * d["x"] + g.q - 1)
    np.testing.assert_allclose(d.loc[repeat, "spend"], expected[repeat], rtol=1e-12)
    # Fader & Hardie's note: the population mean spend per transaction is p*gamma/(q-1).
    assert d.loc[~repeat, "spend"].iloc[0] == pytest.approx(g.p * g.gamma / (g.q - 1))


def test_buyer_summary_counts_purchase_days(spark) -> None:
    rows = [
        ("a", "o1", date(2026, 1, 1), 10.0),
        ("a", "o2", date(2026, 1, 1), 5.0),  # same day: one purchase occasion of 15
        ("a", "o3", date(2026, 1, 11), 30.0),
        ("a", "o4", date(2026, 1, 21), 50.0),
        ("b", "o5", date(2026, 1, 25), 20.0),
    ]
    orders = spark.createDataFrame(
        rows, "person_id string, order_id string, order_date date, value double"
    )
    got = {r["person_id"]: r.asDict() for r in buyer_summary(orders, date(2026, 1, 31)).collect()}
    assert got["a"] == {"person_id": "a", "frequency": 2.0, "recency": 20.0, "T": 30.0,
                        "monetary": 40.0}  # fmt: skip
    assert got["b"] == {"person_id": "b", "frequency": 0.0, "recency": 0.0, "T": 6.0,
                        "monetary": None}  # fmt: skip


def test_fit_on_a_bounded_seeded_sample_recovers_planted_parameters(spark) -> None:
    # Simulate the BG/NBD process itself with known parameters, in days.
    rng = np.random.default_rng(5)
    planted = BgNbdParams(r=0.8, alpha=40.0, a=0.9, b=3.0)
    n = 6000
    lam = rng.gamma(planted.r, 1 / planted.alpha, n)
    drop = rng.beta(planted.a, planted.b, n)
    big_t = rng.integers(60, 400, n).astype(float)
    x = np.zeros(n)
    t_x = np.zeros(n)
    future = np.zeros(n)
    horizon = 90.0
    for i in range(n):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1 / lam[i])
            if t > big_t[i] + horizon:
                break
            if t <= big_t[i]:
                x[i] += 1
                t_x[i] = t
            else:
                future[i] += 1
            alive = rng.random() >= drop[i]
    # Spend per order ~ Gamma(p, nu), nu ~ Gamma(q, gamma): the mean of x orders.
    gg = GammaGammaParams(p=6.0, q=4.0, gamma=15.0)
    nu = rng.gamma(gg.q, 1 / gg.gamma, n)
    spend_sum = rng.gamma(gg.p * np.maximum(x, 1), 1 / nu)
    monetary = np.where(x > 0, spend_sum / np.maximum(x, 1), np.nan)
    summary = spark.createDataFrame(
        pd.DataFrame(
            {
                "person_id": [f"p{i}" for i in range(n)],
                "frequency": x,
                "recency": t_x,
                "T": big_t,
                "monetary": monetary,
            }
        )
    ).withColumn("monetary", F.when(~F.isnan("monetary"), F.col("monetary")))
    settings = BtydSettings(max_fit_buyers=4000, seed=3)
    fit = fit_summary(summary, settings)
    assert fit is not None
    assert fit.buyers == n and 3000 < fit.fitted_on <= 4000
    assert fit.bgnbd.r == pytest.approx(planted.r, rel=0.25)
    assert fit.bgnbd.alpha == pytest.approx(planted.alpha, rel=0.3)
    assert fit.bgnbd.a == pytest.approx(planted.a, rel=0.4)
    assert fit.bgnbd.b == pytest.approx(planted.b, rel=0.5)
    scored = btyd_columns(summary, fit).toPandas()
    assert scored["expected_orders_90d"].sum() == pytest.approx(future.sum(), rel=0.1)
    assert scored["p_alive"].between(0, 1).all()
    assert fit.gamma_gamma is not None
    assert fit.gamma_gamma.p == pytest.approx(gg.p, rel=0.2)
    assert fit.gamma_gamma.p * fit.gamma_gamma.gamma / (fit.gamma_gamma.q - 1) == pytest.approx(
        gg.p * gg.gamma / (gg.q - 1), rel=0.15
    )
    assert scored["expected_revenue_365d"].notna().all()
    assert (scored["expected_revenue_365d"] >= 0).all()


def test_too_few_buyers_leave_the_columns_null(spark) -> None:
    summary = spark.createDataFrame(
        [("a", 1.0, 5.0, 10.0, 3.0)],
        "person_id string, frequency double, recency double, T double, monetary double",
    )
    assert fit_summary(summary, BtydSettings(min_buyers=5)) is None
    row = btyd_columns(summary, None).first()
    assert row is not None and row["p_alive"] is None and row["expected_orders_90d"] is None


# Predictions of lifetimes 0.11.3 (BetaGeoFitter / GammaGammaFitter with the published
# parameters set) for ten CDNOW customers, computed once outside this project: lifetimes
# has had no release since 2020 and is not a dependency.
LIFETIMES_IDS = [1, 2, 6, 17, 46, 157, 325, 509, 1000, 2357]
LIFETIMES_E39 = [1.226028174767135, 0.203186987079752, 3.337053274851358, 5.933382547656231,
                 7.230309831041125, 20.052948986498027, 0.749597678146999, 12.820505774209499,
                 2.352923713210425, 0.259395381492208]  # fmt: skip
LIFETIMES_P_ALIVE = [0.726578570080673, 0.212100985377379, 0.641756345946107,
                     0.815302153978306, 0.830506837699935, 0.96912951815934,
                     0.040990204606376, 0.946315615797615, 0.680309234440117, 1.0]  # fmt: skip
LIFETIMES_SPEND = [24.663713910761157, 18.91685205784205, 71.46967089696707,
                   24.701103617412628, 29.740159506045792, 26.39341812055003,
                   37.175687150135225, 77.59783929191254, 18.13266041816871,
                   35.21897810218978]  # fmt: skip


def test_spark_columns_match_lifetimes_predictions(cdnow_scored) -> None:
    picked = cdnow_scored.set_index("ID").loc[LIFETIMES_IDS]
    np.testing.assert_allclose(picked["e39"], LIFETIMES_E39, rtol=1e-9)
    np.testing.assert_allclose(picked["p_alive"], LIFETIMES_P_ALIVE, rtol=1e-9)
    np.testing.assert_allclose(picked["spend"], LIFETIMES_SPEND, rtol=1e-9)
