"""Buy-till-you-die models: BG/NBD for repeat purchases and Gamma-Gamma for spend.

The models (Fader, Hardie & Lee 2005, "Counting your customers the easy way"; Fader &
Hardie 2013, "The Gamma-Gamma model of monetary value") are fitted by maximum likelihood
on the driver from the per-buyer summary ``(frequency, recency, T, monetary)`` - four
numbers a buyer, at most ``max_fit_buyers`` of them (a seeded sample above that) - and
applied to every buyer in Spark with closed-form column expressions.

Time is measured in days. ``frequency`` is the number of repeat purchase days (distinct
order dates minus one), ``recency`` the days from the first to the last order date,
``T`` the days from the first order date to the as-of date, and ``monetary`` the mean
value of the repeat purchase days (the first day is left out, as the Gamma-Gamma model
assumes).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from scipy import optimize, special

from dmp.profiles.settings import BtydSettings

if TYPE_CHECKING:
    from dmp.config import Settings

SUMMARY_COLUMNS: tuple[str, ...] = ("frequency", "recency", "T", "monetary")
# Terms of the 2F1 series beyond its bulk (see _hyp2f1_scaled); more never changed a value.
_SERIES_SPREAD = 12.0
_SERIES_EXTRA = 30
_SERIES_TAIL = 40.0


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: purchase rates ~ Gamma(r, alpha), dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: spend per order ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""

    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class BtydFit:
    """Both fitted models with their log-likelihoods and the size of the fitting data."""

    bgnbd: BgNbdParams
    bgnbd_log_likelihood: float
    gamma_gamma: GammaGammaParams | None
    gamma_gamma_log_likelihood: float | None
    buyers: int
    fitted_on: int
    repeat_buyers: int

    def params(self) -> dict[str, float]:
        """Flat ``{name: value}`` of every parameter (for MLflow and the run log)."""
        flat = {f"bgnbd_{k}": v for k, v in asdict(self.bgnbd).items()}
        if self.gamma_gamma is not None:
            flat.update({f"gg_{k}": v for k, v in asdict(self.gamma_gamma).items()})
        return flat


def buyer_summary(orders_frame: DataFrame, as_of: date) -> DataFrame:
    """Per buyer: ``person_id, frequency, recency, T, monetary`` as of ``as_of`` (days).

    Orders on one day count as one purchase day, so the model sees purchase occasions,
    not split baskets. ``monetary`` is null for a buyer with no repeat purchase day.
    """
    days = orders_frame.groupBy("person_id", "order_date").agg(F.sum("value").alias("value"))
    per_person = days.groupBy("person_id").agg(
        F.count(F.lit(1)).alias("_days"),
        F.min("order_date").alias("_first"),
        F.max("order_date").alias("_last"),
        F.sum("value").alias("_total"),
        F.min_by("value", "order_date").alias("_first_value"),
    )
    frequency = F.col("_days") - 1
    return per_person.select(
        "person_id",
        frequency.cast("double").alias("frequency"),
        F.datediff("_last", "_first").cast("double").alias("recency"),
        F.datediff(F.lit(as_of), "_first").cast("double").alias("T"),
        F.when(frequency > 0, (F.col("_total") - F.col("_first_value")) / frequency)
        .cast("double")
        .alias("monetary"),
    )


# ---------------------------------------------------------------------------------------
# Likelihoods and fitting (driver, numpy/scipy)


def bgnbd_log_likelihood(
    params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (FHL 2005, equation 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    safe_b = np.where(repeat, b + x - 1, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(safe_b) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, x: np.ndarray, m_x: np.ndarray
) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend ``m_x`` of ``x`` orders."""
    p, q, g = params.p, params.q, params.gamma
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m_x)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + x * m_x)
    )


def _maximise(neg_ll: object, start: np.ndarray) -> np.ndarray:
    """Minimise over log-parameters: Nelder-Mead to the basin, then L-BFGS-B to polish."""
    assert callable(neg_ll)
    rough = optimize.minimize(neg_ll, start, method="Nelder-Mead", options={"maxiter": 4000})
    fine = optimize.minimize(neg_ll, rough.x, method="L-BFGS-B")
    best = fine if fine.fun <= rough.fun else rough
    return np.exp(best.x)


def fit_bgnbd(
    frequency: np.ndarray, recency: np.ndarray, big_t: np.ndarray
) -> tuple[BgNbdParams, float]:
    """Maximum-likelihood BG/NBD parameters and the total log-likelihood.

    Identical ``(x, t_x, T)`` triples are fitted once with their count as weight.
    """
    triples, weights = np.unique(
        np.column_stack([frequency, recency, big_t]), axis=0, return_counts=True
    )
    x, t_x, big = triples[:, 0], triples[:, 1], triples[:, 2]
    scale = max(float(np.mean(big)), 1.0)

    def neg_ll(log_params: np.ndarray) -> float:
        r, alpha, a, b = np.exp(np.clip(log_params, -20, 20))
        ll = bgnbd_log_likelihood(BgNbdParams(r, alpha, a, b), x, t_x, big)
        value = -float(np.sum(weights * ll))
        return value if math.isfinite(value) else 1e300

    start = np.log(np.array([1.0, scale, 1.0, 1.0]))
    r, alpha, a, b = _maximise(neg_ll, start)
    params = BgNbdParams(float(r), float(alpha), float(a), float(b))
    return params, -neg_ll(np.log([r, alpha, a, b]))


def fit_gamma_gamma(frequency: np.ndarray, monetary: np.ndarray) -> tuple[GammaGammaParams, float]:
    """Maximum-likelihood Gamma-Gamma parameters from repeat buyers (``frequency > 0``)."""
    keep = (frequency > 0) & (monetary > 0)
    x, m_x = frequency[keep], monetary[keep]

    def neg_ll(log_params: np.ndarray) -> float:
        p, q, g = np.exp(np.clip(log_params, -20, 20))
        value = -float(np.sum(gamma_gamma_log_likelihood(GammaGammaParams(p, q, g), x, m_x)))
        return value if math.isfinite(value) else 1e300

    start = np.log(np.array([1.0, 2.0, max(float(np.mean(m_x)), 1e-6)]))
    p, q, g = _maximise(neg_ll, start)
    return GammaGammaParams(float(p), float(q), float(g)), -neg_ll(np.log([p, q, g]))


# ---------------------------------------------------------------------------------------
# Predictions as Spark column expressions


def _lit(value: float) -> Column:
    return F.lit(float(value))


def _odds_dead(params: BgNbdParams, x: Column, t_x: Column, big_t: Column) -> Column:
    """``a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)`` for repeat buyers, 0 otherwise."""
    r, alpha, a, b = (_lit(v) for v in (params.r, params.alpha, params.a, params.b))
    log_odds = F.log(a) - F.log(b + x - 1) + (r + x) * (F.log(alpha + big_t) - F.log(alpha + t_x))
    return F.when(x > 0, F.exp(log_odds)).otherwise(F.lit(0.0))


def p_alive(params: BgNbdParams, x: Column, t_x: Column, big_t: Column) -> Column:
    """P(alive | x, t_x, T) of the BG/NBD model (FHL 2005 / Fader-Hardie note 021)."""
    return F.lit(1.0) / (F.lit(1.0) + _odds_dead(params, x, t_x, big_t))


def _hyp2f1_scaled(a: Column, b: Column, c: Column, z: Column, cap: int) -> Column:
    """``(1-z)^a * 2F1(a, b; c; z)`` for ``0 <= z < 1`` as a truncated series in log space.

    With ``c = b + a_bg - 1`` (the BG/NBD case) the terms of the scaled series follow a
    negative-binomial shape with mean ``a z/(1-z)`` and spread ``sqrt(a z)/(1-z)``, then a
    geometric tail of ratio about ``z``: summing to the mean plus 12 spreads plus
    ``40/-ln(z)`` terms (plus 30) leaves a tail far below double precision.
    Starting at ``a ln(1-z)`` keeps every term at most about one, so nothing overflows.
    """
    bulk = a * z / (F.lit(1.0) - z)
    spread = F.sqrt(a * z) / (F.lit(1.0) - z)
    # Past the bulk the terms shrink like z^n: -40/ln(z) more of them fall below 1e-17.
    tail = F.lit(_SERIES_TAIL) / -F.log(z)
    terms = F.least(
        F.lit(cap),
        F.ceil(bulk + _SERIES_SPREAD * spread + tail + F.lit(_SERIES_EXTRA)).cast("int"),
    )
    first = a * F.log1p(-z)
    start = F.struct(first.alias("log_term"), F.exp(first).alias("total"))

    def step(acc: Column, n: Column) -> Column:
        k = n.cast("double")
        log_term = acc["log_term"] + F.log((a + k) * (b + k) * z / ((c + k) * (k + 1.0)))
        return F.struct(log_term.alias("log_term"), (acc["total"] + F.exp(log_term)).alias("total"))

    series = F.aggregate(F.sequence(F.lit(0), terms - 1), start, step)
    return F.when(z <= 0, F.lit(1.0)).otherwise(series["total"])


def expected_purchases(
    params: BgNbdParams, t: float, x: Column, t_x: Column, big_t: Column, cap: int = 20_000
) -> Column:
    """E[purchases in the next ``t`` days | x, t_x, T] of the BG/NBD model (FHL 2005, eq. 10)."""
    r, alpha, a, b = (_lit(v) for v in (params.r, params.alpha, params.a, params.b))
    horizon = _lit(t)
    z = horizon / (alpha + big_t + horizon)
    scaled = _hyp2f1_scaled(r + x, b + x, a + b + x - 1, z, cap)
    numerator = (a + b + x - 1) / (a - 1) * (F.lit(1.0) - scaled)
    return numerator / (F.lit(1.0) + _odds_dead(params, x, t_x, big_t))


def expected_spend(params: GammaGammaParams, x: Column, m_x: Column) -> Column:
    """E[spend per order | x, m_x] of the Gamma-Gamma model; the population mean if x = 0."""
    p, q, g = _lit(params.p), _lit(params.q), _lit(params.gamma)
    given = p * (g + x * m_x) / (p * x + q - 1)
    population = p * g / (q - 1)
    return F.when((x > 0) & (m_x > 0), given).otherwise(population)


# ---------------------------------------------------------------------------------------
# Fit on a bounded summary, apply in Spark

BTYD_COLUMNS: tuple[str, ...] = ("p_alive", "expected_orders_90d", "expected_revenue_365d")


def fit_summary(
    summary: DataFrame, settings: BtydSettings, buyers: int | None = None
) -> BtydFit | None:
    """Fit both models on at most ``settings.max_fit_buyers`` rows of ``summary``.

    This is the stage's one collection to the driver, four numbers a buyer and bounded:
    above the cap a seeded random sample of about ``max_fit_buyers`` rows is fitted.

    Returns:
        The fit, or None with fewer than ``settings.min_buyers`` buyers.
    """
    total = summary.count() if buyers is None else buyers
    if total < settings.min_buyers:
        return None
    fitted = summary
    if total > settings.max_fit_buyers:
        fraction = settings.max_fit_buyers / total
        fitted = summary.sample(withReplacement=False, fraction=fraction, seed=settings.seed)
        fitted = fitted.limit(settings.max_fit_buyers)
    rows = fitted.select(*SUMMARY_COLUMNS).toPandas()
    x = rows["frequency"].to_numpy(float)
    t_x = rows["recency"].to_numpy(float)
    big_t = rows["T"].to_numpy(float)
    bgnbd, bgnbd_ll = fit_bgnbd(x, t_x, big_t)
    monetary = rows["monetary"].fillna(0.0).to_numpy(float)
    repeat = int(np.sum((x > 0) & (monetary > 0)))
    gamma_gamma: GammaGammaParams | None = None
    gamma_gamma_ll: float | None = None
    if repeat >= settings.min_buyers:
        gamma_gamma, gamma_gamma_ll = fit_gamma_gamma(x, monetary)
        if gamma_gamma.q <= 1:  # the mean spend per order would be infinite
            gamma_gamma, gamma_gamma_ll = None, None
    return BtydFit(
        bgnbd=bgnbd,
        bgnbd_log_likelihood=bgnbd_ll,
        gamma_gamma=gamma_gamma,
        gamma_gamma_log_likelihood=gamma_gamma_ll,
        buyers=total,
        fitted_on=len(rows),
        repeat_buyers=repeat,
    )


def btyd_columns(summary: DataFrame, fit: BtydFit | None) -> DataFrame:
    """``person_id, p_alive, expected_orders_90d, expected_revenue_365d`` per buyer.

    ``expected_revenue_365d`` is the expected number of orders in 365 days times the
    Gamma-Gamma expected spend per order (undiscounted). Without a fit every column is
    null; without a Gamma-Gamma fit (too few repeat buyers) the revenue is null.
    """
    if fit is None:
        return summary.select(
            "person_id", *[F.lit(None).cast("double").alias(c) for c in BTYD_COLUMNS]
        )
    x, t_x, big_t = F.col("frequency"), F.col("recency"), F.col("T")
    revenue: Column = F.lit(None).cast("double")
    if fit.gamma_gamma is not None:
        orders_year = expected_purchases(fit.bgnbd, 365.0, x, t_x, big_t)
        revenue = orders_year * expected_spend(
            fit.gamma_gamma, x, F.coalesce(F.col("monetary"), F.lit(0.0))
        )
    return summary.select(
        "person_id",
        p_alive(fit.bgnbd, x, t_x, big_t).alias("p_alive"),
        expected_purchases(fit.bgnbd, 90.0, x, t_x, big_t).alias("expected_orders_90d"),
        revenue.alias("expected_revenue_365d"),
    )


def holdout_check(
    orders_frame: DataFrame, as_of: date, settings: BtydSettings
) -> dict[str, float] | None:
    """Calibration/holdout check: fit up to ``as_of - holdout_days``, predict the holdout.

    Returns:
        ``holdout_buyers``, ``holdout_predicted_orders``, ``holdout_actual_orders`` (purchase
        days in the holdout of the calibration buyers, summed), ``holdout_mae`` (per buyer),
        or None when the check is off or the calibration period has too few buyers.
    """
    days = settings.holdout_days
    if days <= 0:
        return None
    cutoff = as_of - timedelta(days=days)
    calibration = orders_frame.filter(F.col("order_date") <= F.lit(cutoff))
    summary = buyer_summary(calibration, cutoff)
    fit = fit_summary(summary, settings)
    if fit is None:
        return None
    actual = (
        orders_frame.filter(
            (F.col("order_date") > F.lit(cutoff)) & (F.col("order_date") <= F.lit(as_of))
        )
        .groupBy("person_id")
        .agg(F.countDistinct("order_date").cast("double").alias("actual"))
    )
    predicted = expected_purchases(
        fit.bgnbd, float(days), F.col("frequency"), F.col("recency"), F.col("T")
    )
    compared = (
        summary.select("person_id", predicted.alias("predicted"))
        .join(actual, "person_id", "left")
        .fillna(0.0, ["actual"])
    )
    row = compared.agg(
        F.count(F.lit(1)),
        F.sum("predicted"),
        F.sum("actual"),
        F.avg(F.abs(F.col("predicted") - F.col("actual"))),
    ).first()
    assert row is not None
    return {
        "holdout_buyers": float(row[0]),
        "holdout_predicted_orders": float(row[1]),
        "holdout_actual_orders": float(row[2]),
        "holdout_mae": float(row[3]),
    }


def log_fit(settings: Settings, fit: BtydFit, as_of: date, holdout: dict[str, float] | None) -> str:
    """Log one fit to MLflow (experiment ``<mlflow.experiment>-btyd``); returns the run id.

    mlflow is imported here only, so profiles without tracking never pay for it.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    from dmp.lookalike.tracking import tracking_uri

    mlflow.set_tracking_uri(tracking_uri(settings))
    name = f"{settings.mlflow.experiment}-btyd"
    if mlflow.get_experiment_by_name(name) is None:
        location = (settings.mlflow_dir / "artifacts").absolute().as_uri()
        mlflow.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(name)
    metrics: dict[str, float] = {
        "bgnbd_log_likelihood": fit.bgnbd_log_likelihood,
        "buyers": float(fit.buyers),
        "fitted_on": float(fit.fitted_on),
        "repeat_buyers": float(fit.repeat_buyers),
    }
    if fit.gamma_gamma_log_likelihood is not None:
        metrics["gamma_gamma_log_likelihood"] = fit.gamma_gamma_log_likelihood
    metrics.update(holdout or {})
    with mlflow.start_run(run_name=f"btyd {as_of.isoformat()}") as active:
        mlflow.log_params({**fit.params(), "as_of": as_of.isoformat(), "time_unit": "day"})
        mlflow.log_metrics(metrics)
        mlflow.set_tags({"dmp.stage": "profiles", "dmp.sampled": str(fit.fitted_on < fit.buyers)})
        return str(active.info.run_id)
