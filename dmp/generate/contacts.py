"""Where people live and how they write their contact details (messy e-mails and phones)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np

T = TypeVar("T")
# city, state, country, postal code, tier, timezone, UTC offset (minutes)
CITIES: tuple[tuple[str, str, str, str, int, str, int], ...] = (
    ("Beijing", "Beijing", "CN", "100000", 1, "Asia/Shanghai", 480),
    ("Shanghai", "Shanghai", "CN", "200000", 1, "Asia/Shanghai", 480),
    ("Shenzhen", "Guangdong", "CN", "518000", 1, "Asia/Shanghai", 480),
    ("Guangzhou", "Guangdong", "CN", "510000", 1, "Asia/Shanghai", 480),
    ("New York", "NY", "US", "10001", 1, "America/New_York", -300),
    ("Los Angeles", "CA", "US", "90001", 1, "America/Los_Angeles", -480),
    ("San Francisco", "CA", "US", "94103", 1, "America/Los_Angeles", -480),
    ("Chengdu", "Sichuan", "CN", "610000", 2, "Asia/Shanghai", 480),
    ("Hangzhou", "Zhejiang", "CN", "310000", 2, "Asia/Shanghai", 480),
    ("Wuhan", "Hubei", "CN", "430000", 2, "Asia/Shanghai", 480),
    ("Nanjing", "Jiangsu", "CN", "210000", 2, "Asia/Shanghai", 480),
    ("Chicago", "IL", "US", "60601", 2, "America/Chicago", -360),
    ("Seattle", "WA", "US", "98101", 2, "America/Los_Angeles", -480),
    ("Suzhou", "Jiangsu", "CN", "215000", 3, "Asia/Shanghai", 480),
    ("Xiamen", "Fujian", "CN", "361000", 3, "Asia/Shanghai", 480),
    ("Kunming", "Yunnan", "CN", "650000", 3, "Asia/Shanghai", 480),
    ("Austin", "TX", "US", "73301", 3, "America/Chicago", -360),
    ("Luoyang", "Henan", "CN", "471000", 4, "Asia/Shanghai", 480),
    ("Guilin", "Guangxi", "CN", "541000", 4, "Asia/Shanghai", 480),
    ("Boise", "ID", "US", "83701", 4, "America/Denver", -420),
    ("Dali", "Yunnan", "CN", "671000", 5, "Asia/Shanghai", 480),
    ("Yichun", "Heilongjiang", "CN", "153000", 5, "Asia/Shanghai", 480),
)
CITIES_BY_TIER = {t: [c for c in CITIES if c[4] == t] for t in range(1, 6)}
FEMALE_NAMES = (
    "Jane",
    "Mei",
    "Li",
    "Xiaoyu",
    "Emma",
    "Olivia",
    "Fang",
    "Ying",
    "Sophia",
    "Lan",
    "Hui",
    "Ava",
    "Jing",
    "Chloe",
    "Na",
    "Lily",
    "Yan",
    "Grace",
    "Ting",
    "Mia",
)
MALE_NAMES = (
    "John",
    "Wei",
    "Hao",
    "Jun",
    "Liam",
    "Noah",
    "Lei",
    "Tao",
    "James",
    "Chen",
    "Bo",
    "Ethan",
    "Yang",
    "Ming",
    "Lucas",
    "Qiang",
    "Jack",
    "Peng",
    "Leo",
    "Kai",
)
LAST_NAMES = (
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Smith",
    "Johnson",
    "Brown",
    "Garcia",
    "Miller",
    "Davis",
    "Lee",
    "Xu",
    "Sun",
    "Ma",
)
_DOMAINS = ("gmail.com", "qq.com", "163.com", "outlook.com", "yahoo.com", "icloud.com")
_DOMAIN_WEIGHTS = np.cumsum([0.38, 0.2, 0.14, 0.12, 0.08, 0.08]).tolist()
_US_AREAS = ("415", "212", "310", "206", "312", "512", "646", "208")
_CN_PREFIX = ("138", "139", "150", "186", "135", "177")
GENDER_SPELLINGS = {
    "female": ("female", "female", "Female", "f", "F", "woman"),
    "male": ("male", "male", "Male", "m", "M", "man"),
}


def pick(rng: np.random.Generator, options: tuple[T, ...]) -> T:
    """A uniform choice (``rng.choice`` on a tuple is ten times slower)."""
    return options[int(rng.random() * len(options))]


def email_address(rng: np.random.Generator, first: str, last: str, index: int) -> str:
    """A unique, realistically messy e-mail address (case, spaces, gmail dots and +tags)."""
    domain = _DOMAINS[int(np.searchsorted(_DOMAIN_WEIGHTS, rng.random() * _DOMAIN_WEIGHTS[-1]))]
    pattern = int(rng.integers(0, 4))
    local = (
        f"{first}.{last}.{index}",
        f"{first}{index}",
        f"{first[0]}{last}{index}",
        f"{last}_{first}{index}",
    )[pattern]
    if domain == "gmail.com":
        if rng.random() < 0.08:
            domain = "googlemail.com"
        if rng.random() < 0.2:
            local += "+" + str(pick(rng, ("shop", "deals", "promo", "news")))
    if rng.random() < 0.7:
        local = local.lower()
    if rng.random() < 0.2:
        domain = (
            str(pick(rng, ("GMail.com", "Gmail.com", "GMAIL.COM")))
            if "gmail" in domain
            else (domain.upper())
        )
    text = f"{local}@{domain}"
    if rng.random() < 0.12:
        text = " " + text + " "
    return text


def phone_number(rng: np.random.Generator, cn: bool, index: int) -> str:
    digits = (index * 7_654_321 + 1_234_567) % 100_000_000
    if cn:
        national = f"{pick(rng, _CN_PREFIX)}{digits:08d}"
        style = int(rng.integers(0, 3))
        if style == 0:
            return f"+86 {national[:3]} {national[3:7]} {national[7:]}"
        return f"0086 {national}" if style == 1 else national
    area = str(_US_AREAS[index % len(_US_AREAS)])
    local = f"{2 + digits % 8}{(digits // 10) % 1_000_000:06d}"
    style = int(rng.integers(0, 3))
    if style == 0:
        return f"+1 ({area}) {local[:3]}-{local[3:]}"
    return f"{area}.{local[:3]}.{local[3:]}" if style == 1 else f"({area}) {local[:3]}-{local[3:]}"
