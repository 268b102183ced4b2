"""One generated person: demographics, contact details, identifiers, consent and tastes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from dmp.generate.contacts import (
    CITIES_BY_TIER,
    FEMALE_NAMES,
    GENDER_SPELLINGS,
    LAST_NAMES,
    MALE_NAMES,
    email_address,
    phone_number,
    pick,
)
from dmp.generate.personas import PERSONAS, Persona, category_profile
from dmp.generate.population import ROLE_ABUSER, ROLE_BOT, Plan, group_rng

ZERO_ADID = "00000000-0000-0000-0000-000000000000"
PURPOSES: tuple[str, ...] = ("advertising", "email", "sms")
_IOS_MODELS = ("iPhone15,2", "iPhone14,5", "iPhone16,1", "iPad13,18", "iPhone13,2")
_ANDROID_MODELS = ("SM-S918B", "Pixel 8", "MI 13", "HUAWEI P60", "OPPO Find X6", "vivo X90")
_WEB_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 13; MI 13) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.47",
)
_BOT_UAS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; ShopCrawler/2.1; +http://crawler.example)",
    "python-requests/2.31.0 bot",
)


def uuid_from(raw: bytes) -> str:
    """Format 16 random bytes as a version-4 UUID string.

    Args:
        raw: 16 bytes from a seeded generator.

    Returns:
        The lowercase UUID text.
    """
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[raw[8] & 3]}{h[17:20]}-{h[20:32]}"


@dataclass
class Device:
    """An app install on a phone or tablet."""

    device_id: str
    advertising_id: str
    install_id: str
    """The app's anonymousId on this device."""
    os: str
    model: str
    os_version: str
    app_version: str
    build: str
    shared: bool = False


@dataclass
class Cookie:
    """A browser cookie (the web anonymousId) and the browser it lives in."""

    start_ms: int
    anonymous_id: str
    user_agent: str
    shared: bool = False


@dataclass
class Person:
    """Everything the event generator needs to know about one person."""

    index: int
    key: str
    persona: Persona
    persona_index: int
    role: int
    abuser_group: int
    household: int
    cafe: int
    referrer: int
    registered: bool
    registered_at_ms: int | None
    user_id: str | None
    gender: str
    gender_spelling: str | None
    birthday: dt.date
    birthday_known: bool
    city: tuple[str, str, str, str, int, str, int]
    tier_known: bool
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    affinity: list[float]
    affinity_cum: list[float]
    web_share: float
    session_rate: float
    campaign_sensitivity: float
    home_ip: str
    consent: dict[str, bool]
    consent_flip: tuple[str, int] | None
    cookies: list[Cookie] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    gives_gift: bool = False
    is_influencer: bool = False

    @property
    def is_bot(self) -> bool:
        """Whether the person is a crawler."""
        return self.role == ROLE_BOT

    @property
    def is_abuser(self) -> bool:
        """Whether the person is one account of a coupon-abuse ring."""
        return self.role == ROLE_ABUSER


def person_key(index: int) -> str:
    """Return the truth key of the person at ``index``."""
    return f"p{index:07d}"


def user_id_of(index: int) -> str:
    """Return the login user id the person at ``index`` gets when registering."""
    return f"u{(index * 7919 + 10007) % 100_000_000:08d}"


def _ipv4(rng: np.random.Generator, cn: bool) -> str:
    first = int(pick(rng, (36, 58, 101, 111, 114, 116, 183, 223) if cn else (24, 50, 67, 73, 98)))
    a, b, c = (int(x) for x in rng.integers(1, 255, 3))
    return f"{first}.{a}.{b}.{c}"


def _device(rng: np.random.Generator, ios: bool, zero_share: float) -> Device:
    device_id, install_id, adid = (uuid_from(rng.bytes(16)) for _ in range(3))
    if rng.random() < zero_share:
        adid = ZERO_ADID
    elif ios:
        adid = adid.upper()
    model = str(pick(rng, _IOS_MODELS if ios else _ANDROID_MODELS))
    os_version = (
        f"{int(rng.integers(15, 18))}.{int(rng.integers(0, 6))}"
        if ios
        else str(int(rng.integers(11, 15)))
    )
    app_minor = int(rng.integers(0, 9))
    return Device(
        device_id,
        adid,
        install_id,
        "ios" if ios else "android",
        model,
        os_version,
        f"5.{app_minor}.{int(rng.integers(0, 4))}",
        str(5000 + app_minor * 37),
    )


def shared_device(seed: int, kind: int, group: int) -> Device:
    """Return the device shared by a group (household tablet or abuse-ring phone).

    Args:
        seed: The world seed.
        kind: The group kind.
        group: The group id.

    Returns:
        The same device for every member of the group.
    """
    rng = group_rng(seed, kind, group)
    device = _device(rng, rng.random() < 0.5, 0.1)
    device.shared = True
    return device


def shared_cookie(seed: int, group: int) -> tuple[Cookie, str]:
    """Return the public (internet-cafe) browser cookie of a cafe group and the cafe's IP."""
    rng = group_rng(seed, 3, group)
    cookie = Cookie(0, uuid_from(rng.bytes(16)), _WEB_UAS[int(rng.integers(0, 2))], True)
    return cookie, _ipv4(rng, True)


KIND_HOUSEHOLD, KIND_ABUSE = 1, 2


def make_person(
    seed: int, index: int, plan: Plan, start_ms: int, days: int, rng: np.random.Generator
) -> Person:
    """Draw one person from their own generator and the cross-person plan.

    Args:
        seed: The world seed.
        index: The person index.
        plan: The world plan.
        start_ms: The window start (epoch milliseconds, UTC).
        days: Number of observed days.
        rng: The person's generator, ``default_rng([seed, index])``.

    Returns:
        The person.
    """
    pidx = int(plan.persona[index])
    persona = PERSONAS[pidx]
    role = int(plan.role[index])
    female = rng.random() < persona.female_share
    gender = "female" if female else "male"
    age = float(np.clip(rng.normal(persona.age_mean, persona.age_sd), 16, 85))
    birth = dt.date(2026, 1, 1) - dt.timedelta(days=int(age * 365.25))
    tier = int(np.searchsorted(np.cumsum(persona.tier_weights), rng.random())) + 1
    tier_cities = CITIES_BY_TIER[min(tier, 5)]
    us = rng.random() < 0.2
    candidates = [c for c in tier_cities if (c[2] == "US") == us] or tier_cities
    city = candidates[int(rng.integers(0, len(candidates)))]
    cn = city[2] == "CN"
    first = str(pick(rng, FEMALE_NAMES if female else MALE_NAMES))
    last = str(pick(rng, LAST_NAMES))
    profile = np.array(category_profile(persona))
    affinity = rng.dirichlet(profile * 12.0 + 1e-3)
    cum = np.cumsum(affinity)
    cum[-1] = 1.0
    registered = bool(plan.registered[index])
    reg_s = float(plan.registered_at_s[index])
    email = email_address(rng, first, last, index) if registered and rng.random() < 0.92 else None
    phone = phone_number(rng, cn, index) if registered and rng.random() < 0.7 else None
    consent = {
        "advertising": rng.random() < 0.88,
        "email": rng.random() < 0.8,
        "sms": rng.random() < 0.65,
    }
    flip = None
    flip_draw, flip_purpose, flip_at = rng.random(), int(rng.integers(0, 3)), rng.random()
    if flip_draw < 0.08 and consent[PURPOSES[flip_purpose]]:
        flip = (PURPOSES[flip_purpose], start_ms + int(flip_at * days * 86_400_000))
    web_share = float(np.clip(persona.web_share + rng.normal(0, 0.25), 0.0, 1.0))
    web_share = 0.0 if web_share < 0.1 else (1.0 if web_share > 0.9 else web_share)
    if not registered and 0.0 < web_share < 1.0:
        # Casual visitors who never sign up mostly stick to one channel.
        web_share = 1.0 if rng.random() < web_share else 0.0
    person = Person(
        index=index,
        key=person_key(index),
        persona=persona,
        persona_index=pidx,
        role=role,
        abuser_group=int(plan.abuser_group[index]),
        household=int(plan.household[index]),
        cafe=int(plan.cafe[index]),
        referrer=int(plan.referrer[index]),
        registered=registered,
        registered_at_ms=start_ms + int(reg_s * 1000) if registered else None,
        user_id=user_id_of(index) if registered else None,
        gender=gender,
        gender_spelling=None if rng.random() < 0.12 else str(pick(rng, GENDER_SPELLINGS[gender])),
        birthday=birth,
        birthday_known=rng.random() < 0.8,
        city=city,
        tier_known=rng.random() < 0.85,
        first_name=first,
        last_name=last,
        email=email,
        phone=phone,
        affinity=affinity.tolist(),
        affinity_cum=cum.tolist(),
        web_share=web_share,
        session_rate=persona.sessions_per_day * float(rng.lognormal(-0.18, 0.6)),
        campaign_sensitivity=persona.campaign_sensitivity * float(rng.lognormal(0, 0.3)),
        home_ip=_ipv4(rng, cn),
        consent=consent,
        consent_flip=flip,
        gives_gift=rng.random() < 0.05,
        is_influencer=index in plan.influencer_set,
    )
    _add_identifiers(person, seed, rng, start_ms, days)
    return person


def _add_identifiers(
    person: Person, seed: int, rng: np.random.Generator, start_ms: int, days: int
) -> None:
    """Give the person browser cookies (with churn) and app devices."""
    if person.role == ROLE_ABUSER:
        person.devices.append(shared_device(seed, KIND_ABUSE, person.abuser_group))
        person.web_share = 0.0
        return
    if person.role == ROLE_BOT:
        ua = pick(rng, _BOT_UAS)
        if rng.random() < 0.4:
            ua = _WEB_UAS[int(rng.integers(0, len(_WEB_UAS)))]
        person.cookies.append(Cookie(start_ms, uuid_from(rng.bytes(16)), ua))
        person.web_share = 1.0
        return
    if person.web_share > 0:
        t = start_ms - int(rng.uniform(0, 20) * 86_400_000)
        ua = _WEB_UAS[int(rng.integers(0, len(_WEB_UAS)))]
        # Cookies get cleared (or capped by browsers) every few weeks; casual visitors who
        # never sign up clear them less often than regulars juggling several browsers.
        lifetime = 30.0 if person.registered_at_ms is not None else 45.0
        while t < start_ms + days * 86_400_000:
            person.cookies.append(Cookie(t, uuid_from(rng.bytes(16)), ua))
            t += int(rng.exponential(lifetime) * 86_400_000) + 3_600_000
    if person.web_share < 1 or person.household >= 0:
        ios = rng.random() < (0.35 if person.city[2] == "CN" else 0.6)
        zero_share = 0.25 if ios else 0.06
        person.devices.append(_device(rng, ios, zero_share))
        if rng.random() < 0.2:
            person.devices.append(_device(rng, rng.random() < 0.5, zero_share))


def traits_of(person: Person, rng_value: float) -> dict[str, object]:
    """Return the identify traits the person sends (with the person's own messiness).

    Args:
        person: A registered person.
        rng_value: A uniform draw that picks this call's spelling variant.

    Returns:
        The traits object.
    """
    traits: dict[str, object] = {}
    if person.email is not None:
        email = person.email
        if rng_value < 0.15:
            email = email.strip().lower()
        elif rng_value < 0.25:
            email = email.strip().title()
        traits["email"] = email
    if person.phone is not None:
        traits["phone"] = person.phone
    traits["firstName"] = person.first_name
    traits["lastName"] = person.last_name
    if person.gender_spelling is not None:
        traits["gender"] = person.gender_spelling
    if person.birthday_known:
        traits["birthday"] = person.birthday.isoformat()
    city, state, country, postal = person.city[:4]
    traits["address"] = {"city": city, "country": country, "postalCode": postal, "state": state}
    if person.tier_known:
        traits["city_tier"] = person.city[4]
    if person.registered_at_ms is not None:
        created = dt.datetime.fromtimestamp(person.registered_at_ms / 1000, tz=dt.UTC)
        traits["createdAt"] = (
            created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z"
        )
    return traits
