"""The latent shopper groups (personas) that drive every generated person's behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field

from dmp.generate.categories import CATEGORIES

PRICE_TIERS: tuple[str, ...] = ("budget", "mid", "premium")


@dataclass(frozen=True)
class Replenishment:
    """A product a persona buys again and again on a cycle (nappies, tissues, pet food)."""

    category: str
    keyword: str
    cycle_days: float
    jitter_days: float
    share: float
    """Share of the persona's members who follow the cycle."""


@dataclass(frozen=True)
class Persona:
    """One latent group of shoppers and everything that makes its members alike."""

    name: str
    share: float
    categories: dict[str, float]
    """Strong category weights; the rest of the catalog gets a weak background weight."""
    price_tier: str
    peak_hours: tuple[int, ...]
    """Local hours in which members are most active."""
    weekend_boost: float
    web_share: float
    """Share of sessions on the web (the rest are in the app)."""
    sessions_per_day: float
    add_rate: float
    order_rate: float
    female_share: float
    age_mean: float
    age_sd: float
    tier_weights: tuple[float, float, float, float, float]
    """Weights of city tiers 1..5."""
    register_share: float
    campaign_sensitivity: float
    replenishment: Replenishment | None = None
    search_terms: tuple[str, ...] = field(default_factory=tuple)

    def top_categories(self) -> tuple[str, ...]:
        """Return the persona's strong categories, strongest first."""
        return tuple(sorted(self.categories, key=lambda c: -self.categories[c]))


# Columns: name, share, strong categories, price tier, peak local hours, weekend boost, web share,
# sessions/day, add-to-cart rate, order rate, female share, age mean, age sd, city tier weights,
# register share, campaign sensitivity, replenishment.
# fmt: off
PERSONAS: tuple[Persona, ...] = (
    Persona(
        "sweet_young_women", 0.12, {"cosmetics": 0.26, "womens_fashion": 0.24, "skincare": 0.16,
                                    "jewelry": 0.10},
        "mid", (12, 20, 21, 22, 23), 1.1, 0.3, 0.42, 0.30, 0.22, 0.93, 23, 3.5,
        (0.3, 0.3, 0.2, 0.12, 0.08), 0.8, 1.3),
    Persona(
        "street_fashion", 0.08, {"streetwear": 0.34, "sneakers": 0.28, "womens_fashion": 0.08},
        "mid", (0, 1, 21, 22, 23), 1.3, 0.25, 0.40, 0.28, 0.18, 0.40, 22, 4.0,
        (0.35, 0.3, 0.2, 0.1, 0.05), 0.75, 1.1),
    Persona(
        "young_parents", 0.12, {"baby_care": 0.34, "toys": 0.18, "household": 0.12,
                                "grocery": 0.10},
        "mid", (6, 7, 13, 21, 22), 1.0, 0.4, 0.36, 0.32, 0.30, 0.72, 32, 4.0,
        (0.2, 0.3, 0.25, 0.15, 0.1), 0.85, 1.2,
        Replenishment("baby_care", "Nappies", 21.0, 3.0, 0.75)),
    Persona(
        "gamers", 0.07, {"video_games": 0.40, "electronics": 0.22},
        "mid", (0, 1, 2, 20, 22, 23), 1.4, 0.55, 0.38, 0.26, 0.2, 0.15, 24, 5.0,
        (0.3, 0.3, 0.2, 0.12, 0.08), 0.8, 0.9),
    Persona(
        "bargain_hunters", 0.15, {"grocery": 0.22, "household": 0.18, "kitchen": 0.12,
                                  "womens_fashion": 0.08},
        "budget", (9, 12, 19, 20, 21), 1.0, 0.3, 0.45, 0.34, 0.16, 0.62, 40, 11.0,
        (0.1, 0.15, 0.25, 0.25, 0.25), 0.7, 1.6),
    Persona(
        "premium_buyers", 0.04, {"luxury": 0.30, "jewelry": 0.18, "skincare": 0.16,
                                 "electronics": 0.10},
        "premium", (11, 19, 20, 21), 1.0, 0.55, 0.34, 0.30, 0.3, 0.55, 42, 8.0,
        (0.6, 0.3, 0.1, 0.0, 0.0), 0.9, 0.8),
    Persona(
        "home_makers", 0.09, {"home_decor": 0.26, "kitchen": 0.22, "household": 0.18,
                              "grocery": 0.10},
        "mid", (9, 10, 14, 15, 20), 0.9, 0.6, 0.36, 0.30, 0.26, 0.78, 44, 9.0,
        (0.15, 0.25, 0.3, 0.2, 0.1), 0.8, 1.1,
        Replenishment("household", "Tissues", 60.0, 5.0, 0.7)),
    Persona(
        "fitness_fans", 0.06, {"sports": 0.30, "health": 0.20, "sneakers": 0.14, "grocery": 0.06},
        "mid", (6, 7, 18, 19, 21), 1.2, 0.3, 0.38, 0.28, 0.22, 0.5, 30, 6.0,
        (0.35, 0.3, 0.2, 0.1, 0.05), 0.8, 1.0),
    Persona(
        "pet_lovers", 0.05, {"pet_supplies": 0.40, "home_decor": 0.10, "grocery": 0.08},
        "mid", (8, 18, 19, 20, 21), 1.1, 0.4, 0.36, 0.30, 0.28, 0.7, 35, 9.0,
        (0.25, 0.3, 0.25, 0.12, 0.08), 0.8, 1.0,
        Replenishment("pet_supplies", "Pet Food", 30.0, 3.0, 0.8)),
    Persona(
        "book_worms", 0.04, {"books": 0.46, "home_decor": 0.08, "kitchen": 0.05},
        "budget", (20, 21, 22, 23), 1.2, 0.7, 0.34, 0.26, 0.22, 0.58, 38, 13.0,
        (0.3, 0.3, 0.2, 0.12, 0.08), 0.8, 0.7),
    Persona(
        "tech_enthusiasts", 0.06, {"electronics": 0.40, "video_games": 0.10, "books": 0.06},
        "premium", (12, 19, 20, 21, 22), 1.1, 0.65, 0.38, 0.28, 0.2, 0.2, 31, 7.0,
        (0.45, 0.3, 0.15, 0.07, 0.03), 0.85, 1.0),
    Persona(
        "outdoor_adventurers", 0.03, {"outdoor": 0.38, "sports": 0.16, "sneakers": 0.12},
        "mid", (7, 8, 12, 20), 1.8, 0.45, 0.34, 0.26, 0.24, 0.42, 34, 8.0,
        (0.3, 0.3, 0.2, 0.12, 0.08), 0.8, 1.2),
    Persona(
        "beauty_gurus", 0.05, {"cosmetics": 0.30, "skincare": 0.30, "health": 0.08},
        "premium", (13, 20, 21, 22), 1.1, 0.25, 0.44, 0.32, 0.26, 0.95, 29, 6.0,
        (0.4, 0.3, 0.18, 0.08, 0.04), 0.85, 1.5),
    Persona(
        "senior_shoppers", 0.04, {"health": 0.30, "grocery": 0.18, "household": 0.12,
                                  "books": 0.08},
        "budget", (7, 8, 9, 10, 15), 0.9, 0.75, 0.26, 0.26, 0.28, 0.55, 66, 6.0,
        (0.2, 0.25, 0.25, 0.18, 0.12), 0.6, 0.6),
)
# fmt: on
"""All personas; their shares sum to 1."""

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
PERSONA_INDEX: dict[str, int] = {p.name: i for i, p in enumerate(PERSONAS)}

BACKGROUND_WEIGHT = 0.012
"""Weight of each category outside a persona's strong ones (before normalisation)."""


def category_profile(persona: Persona) -> list[float]:
    """Return the persona's normalised category weights in catalog order.

    Args:
        persona: The persona.

    Returns:
        One weight per category in ``CATEGORIES``, summing to 1.
    """
    raw = [persona.categories.get(c, BACKGROUND_WEIGHT) for c in CATEGORIES]
    total = sum(raw)
    return [w / total for w in raw]


def _check() -> None:
    total = sum(p.share for p in PERSONAS)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"persona shares sum to {total}, not 1")
    for p in PERSONAS:
        unknown = set(p.categories) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"persona {p.name} names unknown categories {sorted(unknown)}")
        if p.replenishment and p.replenishment.category not in CATEGORIES:
            raise ValueError(f"persona {p.name} replenishes an unknown category")


_check()
