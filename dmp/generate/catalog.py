"""The product catalog (categories, brands, products) and the planted campaign products."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from dmp.generate.categories import CATEGORIES
from dmp.generate.personas import PERSONAS, PRICE_TIERS

CATALOG_SALT = 1 << 40


# Nouns per category; the first noun of a replenishing category is the replenished item.
_NOUNS: dict[str, tuple[str, ...]] = {
    "cosmetics": ("Lipstick", "Mascara", "Foundation", "Eyeliner", "Blush", "Eyeshadow Palette"),
    "skincare": ("Face Cream", "Cleanser", "Toner", "Sunscreen", "Sheet Mask", "Eye Cream"),
    "womens_fashion": ("Midi Dress", "Blouse", "Cardigan", "Skirt", "Trench Coat", "Handbag"),
    "streetwear": ("Hoodie", "Graphic Tee", "Cargo Pants", "Bucket Hat", "Bomber Jacket"),
    "sneakers": ("Low Sneaker", "High-Top Sneaker", "Running Shoe", "Skate Shoe"),
    "baby_care": ("Nappies", "Baby Wipes", "Baby Formula", "Baby Lotion", "Stroller"),
    "toys": ("Building Blocks", "Plush Bear", "Puzzle", "RC Car", "Doll House"),
    "video_games": ("Action Game", "RPG Game", "Controller", "Gaming Mouse", "Game Card"),
    "electronics": ("Earbuds", "Smartwatch", "Power Bank", "Tablet", "Bluetooth Speaker"),
    "home_decor": ("Scented Candle", "Throw Pillow", "Wall Art", "Vase", "Table Lamp"),
    "kitchen": ("Frying Pan", "Knife Set", "Rice Cooker", "Coffee Maker", "Storage Jars"),
    "household": ("Tissues", "Laundry Detergent", "Dish Soap", "Trash Bags", "Paper Towels"),
    "grocery": ("Green Tea", "Instant Noodles", "Olive Oil", "Snack Box", "Coffee Beans"),
    "books": ("Novel", "Cookbook", "Biography", "Comic", "Travel Guide"),
    "sports": ("Yoga Mat", "Dumbbells", "Resistance Bands", "Sports Bottle", "Jump Rope"),
    "outdoor": ("Tent", "Hiking Backpack", "Trekking Poles", "Camping Stove", "Rain Jacket"),
    "luxury": ("Silk Scarf", "Leather Wallet", "Designer Bag", "Fountain Pen", "Perfume"),
    "jewelry": ("Necklace", "Earrings", "Bracelet", "Ring", "Pendant"),
    "pet_supplies": ("Pet Food", "Cat Litter", "Pet Toy", "Pet Bed", "Leash"),
    "health": ("Vitamins", "Fish Oil", "Protein Powder", "Thermometer", "Massage Gun"),
}
_ADJECTIVES = (
    "Classic",
    "Ultra",
    "Pure",
    "Daily",
    "Pro",
    "Soft",
    "Smart",
    "Fresh",
    "Lite",
    "Max",
    "Essential",
    "Premium",
    "Mini",
    "Urban",
    "Natural",
    "Deluxe",
)
_BRAND_PARTS = (
    "Lumi",
    "Nova",
    "Zen",
    "Aura",
    "Kiko",
    "Vela",
    "Orbi",
    "Mira",
    "Tera",
    "Solo",
    "Hana",
    "Peak",
    "Luna",
    "Bloom",
    "Yuki",
    "Fenix",
    "Atlas",
    "Coro",
    "Dali",
    "Echo",
)
_BRAND_ENDS = ("ra", "ix", "on", "ly", "co", "ea", "us", "io", "ka", "ne")
_TIER_PRICE = {"budget": (6.0, 0.5), "mid": (22.0, 0.5), "premium": (90.0, 0.5)}
_CATEGORY_PRICE_FACTOR = {
    "electronics": 4.0,
    "luxury": 5.0,
    "jewelry": 3.0,
    "outdoor": 2.5,
    "video_games": 2.0,
    "sneakers": 2.5,
    "grocery": 0.5,
    "household": 0.5,
    "books": 0.7,
}

PRODUCTS_PER_CATEGORY = 75
BRANDS_PER_CATEGORY = 9


@dataclass(frozen=True)
class Product:
    """One sellable product."""

    product_id: str
    sku: str
    category: str
    brand: str
    brand_tier: str
    name: str
    price: float
    replenishable: bool
    fragment: str
    """The product's JSON members (without braces) as written in e-commerce properties."""


@dataclass(frozen=True)
class CampaignProduct:
    """A planted campaign product, its audience and its size."""

    product_id: str
    name: str
    category: str
    brand: str
    price: float
    targets: dict[str, float]
    """Base conversion rate per persona over observed + future windows."""
    background_rate: float
    """Base conversion rate for every other persona."""
    observed_share: float
    """Share of converters whose purchase falls in the observed window."""


# name, category, brand, price, base conversion rate per target persona, rate for every other
# persona, share of converters who buy in the observed window (the rest buy in the future one).
# Sized so that at 10k users x 30 days observed buyers range from about 100 to 700.
# fmt: off
_CAMPAIGNS: tuple[tuple[str, str, str, float, dict[str, float], float, float], ...] = (
    ("Radiance Repair Night Serum", "skincare", "Aurelle", 128.0,
     {"beauty_gurus": 0.65, "premium_buyers": 0.55, "sweet_young_women": 0.05}, 0.0015, 0.55),
    ("Cloud Soft Nappies", "baby_care", "Pippin", 24.0, {"young_parents": 0.75}, 0.004, 0.75),
    ("Phantom 7.1 Gaming Headset", "video_games", "Vortexa", 89.0,
     {"gamers": 0.6, "tech_enthusiasts": 0.1}, 0.0015, 0.55),
    ("TrailBlazer GTX Running Shoe", "outdoor", "Ridgeway", 139.0,
     {"outdoor_adventurers": 0.45, "fitness_fans": 0.1}, 0.001, 0.5),
    ("EchoHome Smart Speaker", "electronics", "Halden", 79.0,
     {"tech_enthusiasts": 0.4, "home_makers": 0.08}, 0.0015, 0.55),
)
# fmt: on


@dataclass(frozen=True)
class Catalog:
    """All products, indexed for fast weighted choice by category and price tier."""

    products: tuple[Product, ...]
    by_category: dict[str, tuple[int, ...]]
    tier_cumweights: dict[tuple[str, str], list[float]]
    """(category, person price tier) -> cumulative choice weights over ``by_category[cat]``."""
    campaigns: tuple[CampaignProduct, ...]
    campaign_index: dict[str, int]
    """Campaign product id -> index in ``products``."""
    replenish_index: dict[str, tuple[int, ...]]
    """Category -> indexes of its replenishable products."""

    def product_by_id(self, product_id: str) -> Product:
        """Return the product with ``product_id``.

        Args:
            product_id: A product id from this catalog.

        Returns:
            The product.
        """
        return self.products[int(product_id[1:]) - 1]


def _brand_name(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        name = str(rng.choice(_BRAND_PARTS)) + str(rng.choice(_BRAND_ENDS))
        if name not in used:
            used.add(name)
            return name


def _fragment(pid: str, sku: str, cat: str, brand: str, name: str, price: float) -> str:
    body = {
        "product_id": pid,
        "sku": sku,
        "category": cat,
        "brand": brand,
        "name": name,
        "price": price,
    }
    return json.dumps(body, separators=(",", ":"))[1:-1]


def _make(
    pid_num: int, cat: str, brand: str, tier: str, name: str, price: float, repl: bool
) -> Product:
    pid = f"P{pid_num:05d}"
    sku = f"{cat[:3].upper()}-{brand[:3].upper()}-{pid_num:05d}"
    return Product(
        pid, sku, cat, brand, tier, name, price, repl, _fragment(pid, sku, cat, brand, name, price)
    )


def build_catalog(seed: int) -> Catalog:
    """Build the deterministic catalog for ``seed``.

    Args:
        seed: The world seed.

    Returns:
        The catalog: 20 categories x 75 products plus the 5 campaign products.
    """
    rng = np.random.default_rng([seed, CATALOG_SALT])
    replenished = {
        p.replenishment.category: p.replenishment.keyword for p in PERSONAS if p.replenishment
    }
    products: list[Product] = []
    by_category: dict[str, list[int]] = {}
    used_brands: set[str] = set()
    for cat in CATEGORIES:
        brands = [
            (_brand_name(rng, used_brands), PRICE_TIERS[i % 3]) for i in range(BRANDS_PER_CATEGORY)
        ]
        factor = _CATEGORY_PRICE_FACTOR.get(cat, 1.0)
        nouns = _NOUNS[cat]
        for k in range(PRODUCTS_PER_CATEGORY):
            brand, tier = brands[k % BRANDS_PER_CATEGORY]
            noun = nouns[k % len(nouns)] if k < 2 * len(nouns) else str(rng.choice(nouns))
            name = f"{brand} {rng.choice(_ADJECTIVES)} {noun}"
            median, sigma = _TIER_PRICE[tier]
            price = round(max(0.99, float(rng.lognormal(np.log(median * factor), sigma))), 2)
            repl = replenished.get(cat) == noun
            by_category.setdefault(cat, []).append(len(products))
            products.append(_make(len(products) + 1, cat, brand, tier, name, price, repl))
    campaigns: list[CampaignProduct] = []
    campaign_index: dict[str, int] = {}
    for name, cat, brand, price, targets, background, observed in _CAMPAIGNS:
        num = len(products) + 1
        product = _make(num, cat, brand, "premium", f"{brand} {name}", price, False)
        campaign_index[product.product_id] = len(products)
        by_category[cat].append(len(products))
        products.append(product)
        campaigns.append(
            CampaignProduct(
                product.product_id, product.name, cat, brand, price, targets, background, observed
            )
        )
    tier_cum: dict[tuple[str, str], list[float]] = {}
    affinity = {
        "budget": {"budget": 6.0, "mid": 2.0, "premium": 0.4},
        "mid": {"budget": 2.0, "mid": 5.0, "premium": 1.5},
        "premium": {"budget": 0.5, "mid": 2.0, "premium": 6.0},
    }
    for cat, idxs in by_category.items():
        for person_tier in PRICE_TIERS:
            weights = np.array([affinity[person_tier][products[i].brand_tier] for i in idxs])
            # A long tail inside the category: a few best-sellers, many slow movers.
            weights = weights / (1.0 + np.arange(len(idxs)) % 15) ** 0.5
            cum = np.cumsum(weights / weights.sum())
            cum[-1] = 1.0
            tier_cum[(cat, person_tier)] = cum.tolist()
    replenish_index = {
        cat: tuple(i for i in idxs if products[i].replenishable)
        for cat, idxs in by_category.items()
    }
    return Catalog(
        tuple(products),
        {c: tuple(v) for c, v in by_category.items()},
        tier_cum,
        tuple(campaigns),
        campaign_index,
        replenish_index,
    )
