"""The cross-person plan: personas, roles, groups, registration times and referrals.

Everything that ties people together (who shares a device, who referred whom) is decided
here, vectorised, as a pure function of the seed and the number of people, so every worker
process computes the same plan for the shard it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dmp.generate.personas import PERSONAS

PLAN_SALT = (1 << 40) + 1
GROUP_SALT = (1 << 40) + 2

ROLE_NORMAL, ROLE_BOT, ROLE_ABUSER = 0, 1, 2
DAY_S = 86_400.0

BOT_SHARE = 0.01
ABUSER_SHARE = 0.01
HOUSEHOLD_SHARE = 0.04
CAFE_SHARE = 0.015
REFERRED_SHARE = 0.35
"""Share of people registering inside the window who were referred by someone."""
IN_WINDOW_REGISTRATION = 0.08
"""Share of registered people who register during the observed window."""


@dataclass(frozen=True)
class Plan:
    """Per-person arrays (index = person index) of the decisions that cross people."""

    persona: np.ndarray
    role: np.ndarray
    abuser_group: np.ndarray
    registered: np.ndarray
    registered_at_s: np.ndarray
    """Seconds after the window start (negative: registered before the window; NaN: never)."""
    household: np.ndarray
    cafe: np.ndarray
    referrer: np.ndarray
    influencers: np.ndarray
    influencer_set: frozenset[int]


def _pick(rng: np.random.Generator, eligible: np.ndarray, share: float, minimum: int) -> np.ndarray:
    """Pick ``share`` of the eligible indexes (at least ``minimum`` when there are enough)."""
    pool = np.flatnonzero(eligible)
    k = max(round(share * eligible.size), minimum if eligible.size >= 50 else 0)
    k = min(k, pool.size)
    return np.sort(rng.choice(pool, size=k, replace=False)) if k else pool[:0]


def _group(rng: np.random.Generator, members: np.ndarray, lo: int, hi: int, n: int) -> np.ndarray:
    """Cut ``members`` into consecutive groups of lo..hi people; returns a group id per person."""
    group = np.full(n, -1, dtype=np.int32)
    start, gid = 0, 0
    while members.size - start >= lo:
        size = min(int(rng.integers(lo, hi + 1)), members.size - start)
        group[members[start : start + size]] = gid
        start += size
        gid += 1
    return group


@lru_cache(maxsize=4)
def build_plan(seed: int, users: int, days: int) -> Plan:
    """Build the cross-person plan for a world.

    Args:
        seed: The world seed.
        users: Number of people.
        days: Number of observed days.

    Returns:
        The plan, identical in every process for the same arguments.
    """
    rng = np.random.default_rng([seed, PLAN_SALT])
    n = users
    shares = np.array([p.share for p in PERSONAS])
    persona = np.searchsorted(np.cumsum(shares), rng.random(n) * shares.sum(), side="right")
    persona = np.minimum(persona, len(PERSONAS) - 1).astype(np.int8)

    role = np.zeros(n, dtype=np.int8)
    bots = _pick(rng, np.ones(n, dtype=bool), BOT_SHARE, 1)
    role[bots] = ROLE_BOT
    abusers = _pick(rng, role == ROLE_NORMAL, ABUSER_SHARE, 5)
    role[abusers] = ROLE_ABUSER
    abuser_group = _group(rng, abusers, 5, 15, n)
    role[(role == ROLE_ABUSER) & (abuser_group < 0)] = ROLE_NORMAL

    register_share = np.array([p.register_share for p in PERSONAS])[persona]
    registered = (rng.random(n) < register_share) & (role == ROLE_NORMAL)
    window_s = days * DAY_S
    in_window = rng.random(n) < IN_WINDOW_REGISTRATION
    reg_at = np.where(
        in_window,
        rng.uniform(0.1 * DAY_S, window_s - 0.2 * DAY_S, n),
        -rng.uniform(DAY_S, 720 * DAY_S, n),
    )
    # Abusers open their accounts in bursts: one base day per group, minutes to hours apart.
    group_day = rng.uniform(0.1, max(days - 1.5, 0.2), int(abuser_group.max()) + 1) * DAY_S
    abuser_at = group_day[np.maximum(abuser_group, 0)] + rng.uniform(0, 6 * 3600.0, n)
    reg_at = np.where(role == ROLE_ABUSER, abuser_at, reg_at)
    registered |= role == ROLE_ABUSER
    registered_at_s = np.where(registered, reg_at, np.nan)

    normal_reg = registered & (role == ROLE_NORMAL)
    household = _group(rng, _pick(rng, normal_reg, HOUSEHOLD_SHARE, 4), 2, 3, n)
    cafe = _group(rng, _pick(rng, normal_reg & (household < 0), CAFE_SHARE, 6), 6, 10, n)

    referrer, influencers = _referrals(rng, normal_reg, registered_at_s, n)
    return Plan(
        persona,
        role,
        abuser_group,
        registered,
        registered_at_s,
        household,
        cafe,
        referrer,
        influencers,
        frozenset(influencers.tolist()),
    )


def _referrals(
    rng: np.random.Generator, normal_reg: np.ndarray, reg_at: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Choose who referred whom: half of referrals go to a handful of influencers."""
    referrer = np.full(n, -1, dtype=np.int32)
    pre_window = np.flatnonzero(normal_reg & (reg_at < 0))
    m = min(3 + n // 1000, pre_window.size)
    influencers = np.sort(rng.choice(pre_window, size=m, replace=False)) if m else pre_window
    referred = np.flatnonzero(normal_reg & (reg_at >= 0))
    referred = referred[rng.random(referred.size) < REFERRED_SHARE]
    if referred.size == 0 or m == 0:
        return referrer, influencers
    via_influencer = rng.random(referred.size) < 0.5
    # Influencers are heavy-tailed among themselves too: a Zipf-like pick.
    ranks = np.minimum((m * rng.random(referred.size) ** 2.5).astype(np.int64), m - 1)
    referrer[referred[via_influencer]] = influencers[ranks[via_influencer]]
    todo = referred[~via_influencer]
    for _ in range(12):
        if todo.size == 0:
            break
        cand = rng.integers(0, n, todo.size)
        ok = normal_reg[cand] & (reg_at[cand] < reg_at[todo] - 3600.0) & (cand != todo)
        referrer[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return referrer, influencers


def group_rng(seed: int, kind: int, group: int) -> np.random.Generator:
    """Return the generator for a shared object (household tablet, cafe browser, abuser device).

    Args:
        seed: The world seed.
        kind: Which kind of group (an arbitrary small integer per kind).
        group: The group id from the plan.

    Returns:
        A generator that every member of the group reproduces identically.
    """
    return np.random.default_rng([seed, GROUP_SALT, kind, group])
