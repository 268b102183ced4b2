"""Profiles: one row per person per snapshot in ``silver/profiles``.

Demographics, interests and affinities, RFM, VIP level, lifecycle, purchase cycles,
next-purchase and value (BG/NBD, Gamma-Gamma), influence, partner segments, risk flags,
consent and tags; cross-sell rules in ``gold/product_rules``. ``build_profiles`` is the stage.

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.profiles.btyd import (
        BtydFit,
        expected_purchases,
        expected_spend,
        fit_bgnbd,
        fit_gamma_gamma,
        p_alive,
    )
    from dmp.profiles.gate import profile_gate
    from dmp.profiles.product_rules import product_rules
    from dmp.profiles.settings import ProfileSettings
    from dmp.profiles.stage import ProfileResult, build_profiles

__all__ = [
    "BtydFit",
    "ProfileResult",
    "ProfileSettings",
    "build_profiles",
    "expected_purchases",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "p_alive",
    "product_rules",
    "profile_gate",
]
_LAZY = {
    "BtydFit": "dmp.profiles.btyd",
    "expected_purchases": "dmp.profiles.btyd",
    "expected_spend": "dmp.profiles.btyd",
    "fit_bgnbd": "dmp.profiles.btyd",
    "fit_gamma_gamma": "dmp.profiles.btyd",
    "p_alive": "dmp.profiles.btyd",
    "profile_gate": "dmp.profiles.gate",
    "product_rules": "dmp.profiles.product_rules",
    "ProfileSettings": "dmp.profiles.settings",
    "ProfileResult": "dmp.profiles.stage",
    "build_profiles": "dmp.profiles.stage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.profiles' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
