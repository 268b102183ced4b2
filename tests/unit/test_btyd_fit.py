"""BG/NBD and Gamma-Gamma maximum-likelihood fits against the published CDNOW fits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dmp.profiles.btyd import (
    BgNbdParams,
    GammaGammaParams,
    bgnbd_log_likelihood,
    fit_bgnbd,
    fit_gamma_gamma,
)

CDNOW = Path(__file__).parents[1] / "fixtures" / "cdnow_summary.csv"
PUBLISHED_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW)


def test_bgnbd_fit_matches_fader_hardie_lee_2005(cdnow: pd.DataFrame) -> None:
    params, ll = fit_bgnbd(
        cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    )
    fitted = np.array([params.r, params.alpha, params.a, params.b])
    published = np.array([0.243, 4.414, 0.793, 2.426])
    # The paper reports three decimals.
    np.testing.assert_allclose(fitted, published, rtol=2e-3, atol=1.5e-3)
    # The paper's log-likelihood at its estimates is -9582.4.
    assert ll == pytest.approx(-9582.4, abs=0.1)
    # lifetimes 0.11.3's BetaGeoFitter on the same file (more digits than the paper).
    np.testing.assert_allclose(fitted, [0.242593, 4.413532, 0.792886, 2.425752], rtol=1e-3)


def test_gamma_gamma_fit_matches_fader_hardie_note(cdnow: pd.DataFrame) -> None:
    params, _ = fit_gamma_gamma(cdnow["x"].to_numpy(float), cdnow["zbar"].to_numpy(float))
    np.testing.assert_allclose(
        [params.p, params.q, params.gamma], [6.25, 3.74, 15.44], rtol=5e-3, atol=0.02
    )
    # lifetimes 0.11.3's GammaGammaFitter on the same file.
    np.testing.assert_allclose(
        [params.p, params.q, params.gamma], [6.248802, 3.744588, 15.447748], rtol=2e-3
    )


def test_bgnbd_likelihood_of_a_non_repeater_is_the_closed_form() -> None:
    # x = 0: L = (alpha/(alpha+T))^r - nobody drops out before a first repeat purchase.
    p = PUBLISHED_BGNBD
    ll = bgnbd_log_likelihood(p, np.array([0.0]), np.array([0.0]), np.array([10.0]))
    expected = p.r * np.log(p.alpha / (p.alpha + 10.0))
    assert ll[0] == pytest.approx(expected, rel=1e-12)


def test_gamma_gamma_likelihood_integrates_to_one() -> None:
    # The density of the mean spend of x orders integrates to one over m_x > 0.
    from scipy import integrate

    from dmp.profiles.btyd import gamma_gamma_log_likelihood

    params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    total, _ = integrate.quad(
        lambda m: float(
            np.exp(gamma_gamma_log_likelihood(params, np.array([3.0]), np.array([m])))[0]
        ),
        0,
        np.inf,
        limit=200,
    )
    assert total == pytest.approx(1.0, abs=1e-6)
