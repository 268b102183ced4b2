"""Sessions: when a person shows up, on which browser or device, logged in or not, and the
serialised ``context`` every event of the session carries."""

from __future__ import annotations

import datetime as dt
import json
import math
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from dmp.generate.catalog import Catalog
from dmp.generate.people import Cookie, Device, Person
from dmp.generate.personas import PERSONAS, Persona
from dmp.generate.population import Plan

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
SITE = "https://shop.example.com"
GARBAGE_USER_IDS: tuple[str, ...] = ("", "0", "-1", "null", "anonymous", "undefined")
_CONSENT_KEYS = (
    ("Advertising", "Email", "SMS"),
    ("advertising", "email", "sms"),
    ("ADVERTISING", "EMAIL", "SMS"),
)
_REFERRERS = (
    "https://www.google.com/",
    "https://www.baidu.com/",
    "https://weibo.com/",
    "",
    "https://www.bing.com/",
    "https://www.xiaohongshu.com/",
    "",
)
_CAMPAIGNS = (
    '{"source":"google","medium":"cpc","name":"spring_sale"}',
    '{"source":"wechat","medium":"social","name":"friends_share"}',
    '{"source":"newsletter","medium":"email","name":"weekly_picks"}',
    '{"source":"douyin","medium":"video","name":"creator_collab"}',
)


class Draws:
    """Uniform draws from a person's generator, fetched in blocks (a scalar call is slow)."""

    __slots__ = ("_buf", "_i", "_rng")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buf: list[float] = rng.random(512).tolist()
        self._i = 0

    def u(self) -> float:
        """Return the next uniform draw in [0, 1)."""
        i = self._i
        if i >= 512:
            self._buf = self._rng.random(512).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]

    def below(self, n: int) -> int:
        """Return a uniform integer in [0, n)."""
        return int(self.u() * n)

    def exp(self, mean: float) -> float:
        """Return an exponential draw with the given mean."""
        return -mean * math.log(1.0 - self.u())


@dataclass
class World:
    """What every person in a shard shares: the window, the catalog and the plan."""

    seed: int
    start_ms: int
    days: int
    future_days: int
    catalog: Catalog
    plan: Plan
    day_cum: dict[int, list[float]] = field(default_factory=dict)
    hour_cum: dict[int, list[float]] = field(default_factory=dict)
    binge_share: float = 0.0
    """Share of regular shoppers who also binge (see ``activity.binges``)."""

    @property
    def end_ms(self) -> int:
        """End of the observed window (exclusive)."""
        return self.start_ms + self.days * DAY_MS

    def prepare(self, start_date: dt.date) -> None:
        """Precompute per-persona day and hour choice tables."""
        for i, persona in enumerate(PERSONAS):
            w = np.array(
                [
                    persona.weekend_boost if (start_date + dt.timedelta(d)).weekday() >= 5 else 1.0
                    for d in range(self.days)
                ]
            )
            self.day_cum[i] = (np.cumsum(w) / w.sum()).tolist()
            self.hour_cum[i] = _hour_cum(persona)


def _hour_cum(persona: Persona) -> list[float]:
    w = np.array([5.0 if h in persona.peak_hours else (0.2 if h < 6 else 1.0) for h in range(24)])
    return (np.cumsum(w) / w.sum()).tolist()


@dataclass
class Session:
    """One visit; every event of it shares these identifiers, context and delivery timing."""

    start_ms: int
    web: bool
    anonymous_id: str
    user_id: str | None
    ids: str
    """Serialised identifier members (``"anonymousId":...,"userId":...,``)."""
    ctx_head: str
    ctx_tail: str
    referrer: str
    consent: tuple[str, str]
    """Serialised consent member before and after the person's consent change."""
    ts_suffix: str
    ots_shift_ms: int
    ots_suffix: str
    send_delay_ms: int
    latency_ms: int
    late_sent_ms: int = 0
    device: Device | None = None
    cookie: Cookie | None = None


def session_starts(person: Person, world: World, draws: Draws, count: int) -> list[int]:
    """Draw ``count`` session start times (epoch ms) from the persona's day and hour habits.

    Args:
        person: The person.
        world: The shard's world.
        draws: The person's uniform draws.
        count: How many sessions.

    Returns:
        Sorted start times inside the observed window (ending at least 3 hours before its end).
    """
    day_cum = world.day_cum[person.persona_index]
    hour_cum = world.hour_cum[person.persona_index]
    offset_ms = person.city[6] * 60_000
    latest = world.end_ms - 3 * HOUR_MS
    starts = []
    for _ in range(count):
        day = bisect_right(day_cum, draws.u())
        hour = bisect_right(hour_cum, draws.u())
        t = world.start_ms + day * DAY_MS + hour * HOUR_MS + int(draws.u() * HOUR_MS) - offset_ms
        if t < world.start_ms:
            t += DAY_MS
        while t > latest:
            t -= DAY_MS
        starts.append(max(t, world.start_ms))
    starts.sort()
    return starts


def consent_member(person: Person, draws: Draws) -> tuple[str, str]:
    """Serialise the person's consent before and after their change, in a random key spelling.

    Args:
        person: The person.
        draws: The person's uniform draws.

    Returns:
        The ``,"consent":{...}`` member for before and after the flip ("" when left out).
    """
    if draws.u() < 0.1:
        return "", ""
    keys = _CONSENT_KEYS[bisect_right((0.5, 0.85), draws.u())]
    states = [dict(person.consent)]
    if person.consent_flip is not None:
        after = dict(person.consent)
        after[person.consent_flip[0]] = False
        states.append(after)
    else:
        states.append(states[0])
    out = []
    for state in states:
        prefs = ",".join(
            f'"{k}":{"true" if state[p] else "false"}'
            for k, p in zip(keys, ("advertising", "email", "sms"), strict=True)
        )
        out.append(f',"consent":{{"categoryPreferences":{{{prefs}}}}}')
    return out[0], out[1]


def ids_member(anonymous_id: str | None, user_id: str | None) -> str:
    """Serialise the identifier members of an event."""
    out = ""
    if anonymous_id is not None:
        out += f'"anonymousId":"{anonymous_id}",'
    if user_id is not None:
        out += f'"userId":"{user_id}",'
    return out


def web_session(
    person: Person,
    world: World,
    draws: Draws,
    start_ms: int,
    cookie: Cookie,
    ip: str,
    user_id: str | None,
) -> Session:
    """Build a browser session.

    Args:
        person: The person.
        world: The shard's world.
        draws: The person's uniform draws.
        start_ms: Session start.
        cookie: The browser cookie used.
        ip: The client IP address.
        user_id: The logged-in user id, if any.

    Returns:
        The session.
    """
    server_side = draws.u() < 0.05
    library = (
        '{"name":"analytics-node","version":"2.1.0"}'
        if server_side
        else '{"name":"analytics.js","version":"4.1.0"}'
    )
    head = (
        f'{{"library":{library},"channel":"web","ip":"{ip}",'
        f'"userAgent":{json.dumps(cookie.user_agent)}'
    )
    locale = "zh-CN" if person.city[2] == "CN" else "en-US"
    tail = f',"timezone":"{person.city[5]}","locale":"{locale}"'
    referrer = _REFERRERS[draws.below(len(_REFERRERS))]
    if draws.u() < 0.15:
        tail += f',"campaign":{_CAMPAIGNS[draws.below(len(_CAMPAIGNS))]}'
    return Session(
        start_ms=start_ms,
        web=True,
        anonymous_id=cookie.anonymous_id,
        user_id=user_id,
        ids=ids_member(cookie.anonymous_id, user_id),
        ctx_head=head,
        ctx_tail=tail,
        referrer=referrer,
        consent=consent_member(person, draws),
        ts_suffix="+00:00" if server_side else "Z",
        ots_shift_ms=int(draws.u() * 900) - 300,
        ots_suffix="Z",
        send_delay_ms=200 + draws.below(1500),
        latency_ms=20 + draws.below(400),
        cookie=cookie,
    )


def app_session(
    person: Person,
    world: World,
    draws: Draws,
    start_ms: int,
    device: Device,
    ip: str,
    user_id: str | None,
) -> Session:
    """Build an app session (possibly delivered days later from an offline batch).

    Args:
        person: The person.
        world: The shard's world.
        draws: The person's uniform draws.
        start_ms: Session start.
        device: The app install used.
        ip: The client IP address.
        user_id: The logged-in user id, if any.

    Returns:
        The session.
    """
    ios = device.os == "ios"
    library = (
        '{"name":"analytics-ios","version":"4.1.8"}'
        if ios
        else '{"name":"analytics-android","version":"4.11.3"}'
    )
    tracking = "false" if device.advertising_id.startswith("00000000") else "true"
    head = (
        f'{{"library":{library},"channel":"mobile","ip":"{ip}","device":{{"id":'
        f'"{device.device_id}","advertisingId":"{device.advertising_id}","adTrackingEnabled":'
        f'{tracking},"type":"{device.os}","model":"{device.model}"}},"os":{{"name":'
        f'"{"iOS" if ios else "Android"}","version":"{device.os_version}"}},"app":{{"name":'
        f'"ShopApp","version":"{device.app_version}","build":"{device.build}"}}'
    )
    tz, offset = person.city[5], person.city[6]
    locale = "zh-CN" if person.city[2] == "CN" else "en-US"
    tail = f',"timezone":"{tz}","locale":"{locale}"'
    if draws.u() < 0.08:
        tail += f',"campaign":{_CAMPAIGNS[draws.below(len(_CAMPAIGNS))]}'
    sign = "+" if offset >= 0 else "-"
    suffix = f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    skew = int(draws.exp(2000.0)) * (1 if draws.u() < 0.5 else -1)
    session = Session(
        start_ms=start_ms,
        web=False,
        anonymous_id=device.install_id,
        user_id=user_id,
        ids=ids_member(device.install_id, user_id),
        ctx_head=head,
        ctx_tail=tail,
        referrer="",
        consent=consent_member(person, draws),
        ts_suffix="Z",
        ots_shift_ms=skew + offset * 60_000,
        ots_suffix=suffix,
        send_delay_ms=1000 + draws.below(20_000),
        latency_ms=30 + draws.below(600),
        device=device,
    )
    if draws.u() < 0.04:
        # Offline: the batch is sent when the phone is back online, a day or more later.
        late = start_ms + int((1.0 + draws.u() * 2.5) * DAY_MS)
        if late < world.end_ms - HOUR_MS:
            session.late_sent_ms = late
    return session


def with_user(session: Session, user_id: str) -> Session:
    """Return a copy of ``session`` after the person logged in (or signed up) as ``user_id``."""
    out = Session(**{k: getattr(session, k) for k in session.__dataclass_fields__})
    out.user_id = user_id
    out.ids = ids_member(session.anonymous_id, user_id)
    return out


def garble(session: Session, draws: Draws) -> tuple[str, str] | None:
    """Plant a garbage identifier on a session (client bug); returns (id_type, value) or None.

    Args:
        session: The session to alter in place.
        draws: The person's uniform draws.

    Returns:
        The garbage identifier added, if any.
    """
    if draws.u() >= 0.015:
        return None
    if session.user_id is None:
        value = GARBAGE_USER_IDS[draws.below(len(GARBAGE_USER_IDS))]
        session.ids = session.ids + f'"userId":"{value}",'
        return "user_id", value
    session.ids = ids_member("undefined", session.user_id)
    return "anonymous_id", "undefined"
