"""The product categories of generated worlds (shared by the catalog and the personas)."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "cosmetics",
    "skincare",
    "womens_fashion",
    "streetwear",
    "sneakers",
    "baby_care",
    "toys",
    "video_games",
    "electronics",
    "home_decor",
    "kitchen",
    "household",
    "grocery",
    "books",
    "sports",
    "outdoor",
    "luxury",
    "jewelry",
    "pet_supplies",
    "health",
)
CATEGORY_INDEX: dict[str, int] = {c: i for i, c in enumerate(CATEGORIES)}
