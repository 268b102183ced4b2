"""Partner CSV logs: adnet_alpha (hashed e-mail, Shanghai local time) and mobi_beta (mobile ad
id + the partner's own cookie, epoch ms), with noisy interest segments and planted bad rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import numpy as np

from dmp.generate.categories import CATEGORIES
from dmp.generate.people import ZERO_ADID, Person
from dmp.ingest.reasons import QuarantineReason as R

PARTNER_SALT = (1 << 40) + 20
ALPHA, BETA = "adnet_alpha", "mobi_beta"
ALPHA_HEADER = "email_sha256,segments,score,seen_at"
BETA_HEADER = "ts;maid;beta_uid;interest;conf"
_SHANGHAI = dt.timezone(dt.timedelta(hours=8))

ALPHA_TAXONOMY: dict[str, str] = {
    "A101": "beauty",
    "A102": "fashion",
    "A103": "sneakers",
    "A201": "parenting",
    "A202": "gaming",
    "A203": "consumer_electronics",
    "A301": "home_living",
    "A302": "fmcg",
    "A303": "reading",
    "A401": "fitness",
    "A402": "outdoor",
    "A501": "luxury",
    "A502": "pets",
}
_ALPHA_OF_CATEGORY = {
    "cosmetics": "A101",
    "skincare": "A101",
    "womens_fashion": "A102",
    "streetwear": "A102",
    "sneakers": "A103",
    "baby_care": "A201",
    "toys": "A201",
    "video_games": "A202",
    "electronics": "A203",
    "home_decor": "A301",
    "kitchen": "A301",
    "household": "A302",
    "grocery": "A302",
    "books": "A303",
    "sports": "A401",
    "health": "A401",
    "outdoor": "A402",
    "luxury": "A501",
    "jewelry": "A501",
    "pet_supplies": "A502",
}
_BETA_OF_CATEGORY = {
    "cosmetics": "beta.beauty.makeup",
    "skincare": "beta.beauty.skincare",
    "womens_fashion": "beta.fashion.women",
    "streetwear": "beta.fashion.street",
    "sneakers": "beta.sports.sneakers",
    "baby_care": "beta.family.baby",
    "toys": "beta.family.toys",
    "video_games": "beta.gaming.console",
    "electronics": "beta.tech.gadgets",
    "home_decor": "beta.home.decor",
    "kitchen": "beta.home.kitchen",
    "household": "beta.home.essentials",
    "grocery": "beta.food.grocery",
    "books": "beta.media.books",
    "sports": "beta.sports.running",
    "outdoor": "beta.outdoor.hiking",
    "luxury": "beta.luxury.fashion",
    "jewelry": "beta.luxury.jewelry",
    "pet_supplies": "beta.pets.owners",
    "health": "beta.health.wellness",
}
BETA_TAXONOMY: dict[str, str] = {
    v: v.split(".", 1)[1].replace(".", "_") for v in _BETA_OF_CATEGORY.values()
}
PARTNER_BAD_KINDS: dict[str, R] = {
    "wrong_column_count": R.MALFORMED_ROW,
    "empty_identifier": R.MISSING_IDENTIFIER,
    "identifier_wrong_format": R.INVALID_IDENTIFIER,
    "unparseable_timestamp": R.INVALID_TIMESTAMP,
}
ALPHA_COVERAGE, BETA_COVERAGE, TRUE_INTEREST = 0.4, 0.3, 0.7


@dataclass
class PartnerRows:
    """Good partner rows of a shard by partner and day, plus their truth columns."""

    rows: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    partner: list[str] = field(default_factory=list)
    person_key: list[str] = field(default_factory=list)
    id_type: list[str] = field(default_factory=list)
    identifier: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    seen_at_ms: list[int] = field(default_factory=list)

    def add(
        self,
        partner: str,
        day: str,
        row: str,
        person: Person,
        id_type: str,
        ident: str,
        segments: str,
        seen_ms: int,
    ) -> None:
        """Add one good row."""
        self.rows.setdefault((partner, day), []).append(row)
        self.partner.append(partner)
        self.person_key.append(person.key)
        self.id_type.append(id_type)
        self.identifier.append(ident)
        self.segments.append(segments)
        self.seen_at_ms.append(seen_ms)


def _interest(rng: np.random.Generator, person: Person) -> str:
    """A category the person truly likes (prob 0.7) or a random one."""
    if rng.random() < TRUE_INTEREST:
        k = int(np.searchsorted(person.affinity_cum, rng.random(), side="right"))
        return CATEGORIES[min(k, len(CATEGORIES) - 1)]
    return CATEGORIES[int(rng.integers(0, len(CATEGORIES)))]


def beta_uid_of(seed: int, person: Person) -> str:
    """The mobi_beta cookie id of a person (stable per person)."""
    return "bx" + np.random.default_rng([seed, PARTNER_SALT + 1, person.index]).bytes(10).hex()


def partner_rows_for(
    person: Person, seed: int, start_ms: int, days: int, out: PartnerRows
) -> str | None:
    """Add the person's partner sightings to ``out``.

    Args:
        person: The person.
        seed: The world seed.
        start_ms: Window start (epoch ms).
        days: Observed days.
        out: Collector.

    Returns:
        The person's beta_uid if mobi_beta covers them, else None.
    """
    rng = np.random.default_rng([seed, PARTNER_SALT, person.index])
    span = days * 86_400_000 - 3_600_000
    if person.email is not None and not person.is_abuser and rng.random() < ALPHA_COVERAGE:
        digest = hashlib.sha256(person.email.strip().lower().encode()).hexdigest()
        for _ in range(1 + int(rng.poisson(2.0))):
            seen = start_ms + int(rng.random() * span)
            codes = sorted(
                {
                    _ALPHA_OF_CATEGORY[_interest(rng, person)]
                    for _ in range(1 + int(rng.integers(0, 3)))
                }
            )
            local = dt.datetime.fromtimestamp(seen / 1000, tz=_SHANGHAI)
            segs = "|".join(codes)
            row = f"{digest},{segs},{rng.random():.3f},{local:%Y/%m/%d %H:%M:%S}"
            out.add(ALPHA, _utc_day(seen), row, person, "email_sha256", digest, segs, seen)
    maids = [d.advertising_id for d in person.devices if d.advertising_id != ZERO_ADID]
    if not maids or person.is_abuser or rng.random() >= BETA_COVERAGE:
        return None
    uid = beta_uid_of(seed, person)
    for _ in range(1 + int(rng.poisson(3.0))):
        seen = start_ms + int(rng.random() * span)
        maid = maids[int(rng.integers(0, len(maids)))]
        interest = _BETA_OF_CATEGORY[_interest(rng, person)]
        row = f"{seen};{maid};{uid};{interest};{int(rng.integers(20, 101))}"
        out.add(BETA, _utc_day(seen), row, person, "advertising_id", maid, interest, seen)
    return uid


def _utc_day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d")


def corrupt_row(partner: str, row: str, kind: str, rng: np.random.Generator) -> str:
    """Return ``row`` with exactly one planted fault of ``kind``.

    Args:
        partner: The partner name.
        row: A good row.
        kind: A key of ``PARTNER_BAD_KINDS``.
        rng: The shard's partner generator.

    Returns:
        The bad row.
    """
    sep = "," if partner == ALPHA else ";"
    cols = row.split(sep)
    if kind == "wrong_column_count":
        cols = cols[:-1] if rng.random() < 0.5 else [*cols, "extra"]
    elif kind == "empty_identifier":
        if partner == ALPHA:
            cols[0] = ""
        else:
            cols[1] = cols[2] = ""
    elif kind == "identifier_wrong_format":
        if partner == ALPHA:
            cols[0] = cols[0][:40] if rng.random() < 0.5 else "zz" + cols[0][2:]
        else:
            cols[1] = ("12345", "not-a-maid", cols[1].replace("-", "")[:20])[
                int(rng.integers(0, 3))
            ]
    elif kind == "unparseable_timestamp":
        col = 3 if partner == ALPHA else 0
        cols[col] = ("yesterday", "2026/13/45 25:61:00", "n/a")[int(rng.integers(0, 3))]
    return sep.join(cols)
