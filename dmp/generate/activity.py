"""A person's whole observed life: which sessions happen when, for shoppers, bots and
coupon-abuse rings, plus the planted replenishment, gift, campaign and CRM-import events."""

from __future__ import annotations

import numpy as np

from dmp.generate.behaviour import Actor, PersonLog
from dmp.generate.categories import CATEGORIES, CATEGORY_INDEX
from dmp.generate.people import Person
from dmp.generate.personas import category_profile
from dmp.generate.sessions import DAY_MS, HOUR_MS, Session, World, session_starts

_IMPORT_CONTEXT = (
    '{"library":{"name":"crm-import","version":"1.3.0"},"channel":"web","ip":"10.20.0.5"'
)
HISTORICAL_IMPORT_SHARE = 0.03


def campaign_rate(person: Person, base: float, category: str) -> float:
    """Conversion probability for a campaign product: persona base rate x relative affinity.

    The person's affinity for the campaign category (relative to their persona's profile)
    scales the rate, so buyers are the people whose behaviour leans most to that category.

    Args:
        person: The person.
        base: The persona's base rate for the campaign.
        category: The campaign product's category.

    Returns:
        The probability of converting over the observed and future windows together.
    """
    c = CATEGORY_INDEX[category]
    relative = person.affinity[c] / category_profile(person.persona)[c]
    return min(0.95, base * relative**2)


def play_person(person: Person, world: World, rng: np.random.Generator) -> PersonLog:
    """Generate every event of one person.

    Args:
        person: The person.
        world: The shard's world.
        rng: The person's generator (after drawing the person).

    Returns:
        The person's sessions, events, orders, campaign purchases and identifiers used.
    """
    actor = Actor(person, world, rng)
    if person.is_bot:
        _bot(actor)
    elif person.is_abuser:
        _abuser(actor)
    else:
        _shopper(actor)
    return actor.log


def _shopper(actor: Actor) -> None:
    p, w, d = actor.p, actor.w, actor.d
    count = int(actor.rng.poisson(p.session_rate * w.days))
    plans: list[tuple[int, int, int]] = [(t, 0, 0) for t in session_starts(p, w, d, count)]
    latest = w.end_ms - 3 * HOUR_MS
    if p.registered_at_ms is not None and w.start_ms <= p.registered_at_ms:
        plans.append((min(p.registered_at_ms, latest), 1, 0))
    repl = p.persona.replenishment
    if repl is not None and d.u() < repl.share:
        t = w.start_ms + int(d.u() * repl.cycle_days * DAY_MS)
        while t < latest:
            plans.append((t, 2, 0))
            jitter = (d.u() * 2 - 1) * repl.jitter_days
            t += int((repl.cycle_days + jitter) * DAY_MS)
    # Every cafe regular and family member uses the shared browser or tablet at least once.
    if p.cafe >= 0 or p.household >= 0:
        plans.append((w.start_ms + int(d.u() * (latest - w.start_ms)), 5, 0))
    if p.gives_gift:
        plans.append((w.start_ms + int(d.u() * (latest - w.start_ms)), 3, 0))
    for k, campaign in enumerate(w.catalog.campaigns):
        base = campaign.targets.get(p.persona.name, campaign.background_rate)
        if d.u() < campaign_rate(p, base, campaign.category):
            if d.u() < campaign.observed_share:
                plans.append((w.start_ms + int(d.u() * (latest - w.start_ms)), 4, k))
            else:
                at = w.end_ms + int(d.u() * w.future_days * DAY_MS)
                actor.log.campaign_buys.append((campaign.product_id, "future", at))
    if is_binger(p, w):
        for _ in range(2 + d.below(3)):
            plans.append((w.start_ms + int(d.u() * (latest - HOUR_MS - w.start_ms)), 6, 0))
    if (
        p.registered_at_ms is not None
        and p.registered_at_ms < w.start_ms
        and d.u() < HISTORICAL_IMPORT_SHARE
    ):
        _historical_import(actor)
    plans.sort()
    for start, kind, arg in plans:
        if kind == 0:
            actor.new_session(start, 0.85)
            actor.browse(actor.category())
        elif kind == 1:
            session = actor.new_session(start, 0.0, can_login=False)
            actor.sign_up(session)
            actor.browse(actor.category())
        elif kind == 2 and repl is not None:
            _replenish(actor, start, repl.category)
        elif kind == 3:
            _gift(actor, start)
        elif kind == 4:
            _campaign_purchase(actor, start, arg)
        elif kind == 6:
            _binge(actor, start)
        elif kind == 5:
            actor.new_session(start, 1.0, place="cafe" if p.cafe >= 0 else "tablet")
            actor.browse(actor.category())


BINGE_SALT = 0xB1A6E


def is_binger(person: Person, world: World) -> bool:
    """Whether a regular shopper also binges (``WorldSpec.binge_share``), drawn apart from
    every other draw so that a world without bingers is the same as before they existed."""
    if world.binge_share <= 0 or person.is_bot or person.is_abuser:
        return False
    draw = np.random.default_rng([world.seed, BINGE_SALT, person.index]).random()
    return bool(draw < world.binge_share)


def _binge(actor: Actor, start: int) -> None:
    """A binge: hundreds of product pages in one sitting, each read for a few seconds (human
    think time: log-normal, so no two gaps alike), the track event a moment after the page."""
    actor.new_session(start, 0.9)
    home = actor.category()
    for _ in range(150 + actor.d.below(250)):
        category = home if actor.d.u() < 0.7 else actor.category()
        product = actor.product(category)
        at = actor.t
        actor.view_page("Product", f"/p/{product.product_id}", product.name, category)
        actor.t = at + 150 + actor.d.below(600)
        actor.product_event("Product Viewed", product)
        actor.t = at + 800 + int(1000 * actor.rng.lognormal(np.log(4.0), 0.9))


def _replenish(actor: Actor, start: int, category: str) -> None:
    actor.new_session(start, 0.9)
    idxs = actor.w.catalog.replenish_index[category]
    product = actor.w.catalog.products[idxs[actor.p.index % len(idxs)]]
    actor.view_page("Product", f"/p/{product.product_id}", product.name, category)
    actor.product_event("Product Viewed", product)
    qty = 1 + actor.d.below(3)
    actor.product_event("Product Added", product, qty)
    actor.checkout([(product, qty)], coupon_share=0.05)


def _gift(actor: Actor, start: int) -> None:
    top = set(actor.p.persona.categories)
    others = [c for c in CATEGORIES if c not in top and c != "luxury"]
    category = others[actor.d.below(len(others))]
    actor.new_session(start, 0.8)
    actor.track("Product List Viewed", {"category": category}, f"/c/{category}")
    product = actor.product(category)
    while product.product_id in actor.w.catalog.campaign_index:
        product = actor.product(category)
    actor.product_event("Product Viewed", product)
    actor.product_event("Product Added", product, 1)
    actor.checkout([(product, 1)], gift=True, coupon_share=0.05)


def _campaign_purchase(actor: Actor, start: int, k: int) -> None:
    catalog = actor.w.catalog
    campaign = catalog.campaigns[k]
    product = catalog.products[catalog.campaign_index[campaign.product_id]]
    actor.new_session(start, 0.85)
    actor.track("Product List Viewed", {"category": campaign.category}, f"/c/{campaign.category}")
    for _ in range(actor.d.below(3)):
        actor.product_event("Product Viewed", actor.product(campaign.category))
    actor.view_page("Product", f"/p/{product.product_id}", product.name, campaign.category)
    actor.product_event("Product Viewed", product)
    actor.product_event("Product Added", product, 1)
    actor.checkout([(product, 1)], campaign=True, coupon_share=0.1)
    for order in actor.log.orders[::-1]:
        if order[1] == product.product_id:
            actor.log.campaign_buys.append((product.product_id, "observed", order[5]))
            break


def _historical_import(actor: Actor) -> None:
    """A legacy CRM record replayed into the stream: identify with a 1990s timestamp."""
    p, w, d = actor.p, actor.w, actor.d
    when = 788_918_400_000 + int(d.u() * 5 * 365 * DAY_MS)  # 1995-01-01 .. 1999-12-31
    received = w.start_ms + int(d.u() * (w.end_ms - w.start_ms - 4 * HOUR_MS))
    locale = "zh-CN" if p.city[2] == "CN" else "en-US"
    assert p.user_id is not None
    session = Session(
        start_ms=when,
        web=True,
        anonymous_id="",
        user_id=p.user_id,
        ids=f'"userId":"{p.user_id}",',
        ctx_head=_IMPORT_CONTEXT,
        ctx_tail=f',"timezone":"{p.city[5]}","locale":"{locale}"',
        referrer="",
        consent=("", ""),
        ts_suffix="Z",
        ots_shift_ms=0,
        ots_suffix="Z",
        send_delay_ms=0,
        latency_ms=50 + d.below(500),
        late_sent_ms=received,
    )
    actor.log.sessions.append(session)
    actor.s = len(actor.log.sessions) - 1
    actor.t = when
    actor.identify()
    event = actor.log.events[-1]
    actor.log.events[-1] = (event[0], event[1], event[2], event[3], None, event[5])


def _bot(actor: Actor) -> None:
    """Crawler bursts at any hour: hundreds of views an hour at near-constant intervals."""
    w, d = actor.w, actor.d
    products = actor.w.catalog.products
    cursor = d.below(len(products))
    for _ in range(3 + d.below(6)):
        start = w.start_ms + int(d.u() * (w.end_ms - w.start_ms - 2 * HOUR_MS))
        actor.new_session(start, 0.0)
        interval = int(3_600_000 / (200 + d.below(250)))
        end = start + int((0.3 + 0.7 * d.u()) * HOUR_MS)
        t = start
        while t < end:
            product = products[cursor % len(products)]
            cursor += 7
            actor.t = t
            actor.view_page("Product", f"/p/{product.product_id}", product.name, product.category)
            actor.t = t + interval // 2
            if cursor % 20 == 0:
                actor.track(
                    "Product List Viewed", {"category": product.category}, f"/c/{product.category}"
                )
            else:
                actor.product_event("Product Viewed", product)
            t += interval + int((d.u() - 0.5) * 0.04 * interval)


def _abuser(actor: Actor) -> None:
    """One account of a coupon-abuse ring: sign up on the ring's phone, farm coupons."""
    p, w, d = actor.p, actor.w, actor.d
    assert p.registered_at_ms is not None
    session = actor.new_session(p.registered_at_ms, 0.0, can_login=False)
    actor.sign_up(session)
    _farm_coupons(actor, order=d.u() < 0.2)
    extra = w.end_ms - 3 * HOUR_MS - p.registered_at_ms
    for _ in range(d.below(3)):
        if extra <= HOUR_MS:
            break
        actor.new_session(p.registered_at_ms + HOUR_MS + int(d.u() * (extra - HOUR_MS)), 1.0)
        _farm_coupons(actor, order=d.u() < 0.1)


def _farm_coupons(actor: Actor, order: bool) -> None:
    d = actor.d
    product = actor.product(actor.category())
    while product.product_id in actor.w.catalog.campaign_index:
        product = actor.product(actor.category())
    actor.product_event("Product Viewed", product)
    actor.product_event("Product Added", product, 1)
    for _ in range(1 + d.below(3)):
        code = ("NEWUSER30", "WELCOME10", "FLASH25")[d.below(3)]
        actor.track("Coupon Entered", {"coupon_id": code}, "/checkout")
        if d.u() < 0.6:
            actor.track(
                "Coupon Applied",
                {
                    "coupon_id": code,
                    "coupon_name": code.title(),
                    "discount": round(product.price * 0.3, 2),
                },
                "/checkout",
            )
        else:
            actor.track(
                "Coupon Denied", {"coupon_id": code, "reason": "limit reached"}, "/checkout"
            )
    if order:
        actor.checkout([(product, 1)], coupon_share=1.0)
