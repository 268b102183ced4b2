"""What a person does: sessions of browsing, carts, orders, coupons, shares, sign-ups and
identifies, as a time-ordered list of events (serialised later by ``dmp.generate.lines``)."""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from dmp.generate.catalog import Product
from dmp.generate.categories import CATEGORIES
from dmp.generate.people import (
    KIND_HOUSEHOLD,
    ZERO_ADID,
    Person,
    shared_cookie,
    shared_device,
    traits_of,
    user_id_of,
)
from dmp.generate.personas import category_profile
from dmp.generate.sessions import (
    SITE,
    Draws,
    Session,
    World,
    app_session,
    garble,
    web_session,
    with_user,
)

_COUPONS = ("WELCOME10", "SPRING15", "VIP20", "FREESHIP", "NEWUSER30", "FLASH25")
_SHARE_VIA = ("wechat", "link", "sms", "email", "weibo")
Event = tuple[int, int, str, str, str | None, str | None]
"""(time ms, session index, type, serialised body members, web page path, track event name)."""


@dataclass
class PersonLog:
    """Everything one person produced, before serialisation."""

    sessions: list[Session] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    orders: list[tuple[str, str, str, float, int, int, bool, bool]] = field(default_factory=list)
    """(order_id, product_id, category, price, quantity, ordered_at ms, is_gift, is_campaign)."""
    campaign_buys: list[tuple[str, str, int]] = field(default_factory=list)
    """(product_id, window, at ms)."""
    identifiers: dict[tuple[str, str], tuple[bool, bool]] = field(default_factory=dict)
    """(id_type, raw value) -> (shared, garbage)."""


def _product_body(name: str, product: Product, quantity: int) -> str:
    return (
        f'"event":"{name}","properties":{{{product.fragment},"quantity":{quantity},'
        f'"currency":"USD"}},'
    )


def _track(name: str, props: dict[str, object]) -> str:
    return f'"event":"{name}","properties":{json.dumps(props, separators=(",", ":"))},'


def _page_body(name: str, path: str, title: str, category: str) -> str:
    return (
        f'"name":"{name}","properties":{{"path":"{path}","url":"{SITE}{path}","title":'
        f'{json.dumps(title)},"category":"{category}"}},'
    )


_REMEMBERED_LOGIN = 0.97
_LOGIN_AT_CHECKOUT = 0.9
_KNOWN_BROWSER = 0.8
"""Chance a long-registered person had already logged in on a browser older than the window."""
_KNOWN_INSTALL = 0.9
"""Chance a long-registered person had already logged in on their installed app."""
"""Chance a logged-out registered shopper signs in to check out (else: guest checkout)."""
"""Chance a browser or app install that saw a login is still logged in on a later visit."""


class Actor:
    """Plays one person's sessions and records the events they send."""

    def __init__(self, person: Person, world: World, rng: np.random.Generator) -> None:
        self.p = person
        self.w = world
        self.rng = rng
        self.d = Draws(rng)
        self.log = PersonLog()
        self.t = 0
        self.s = -1
        self.identified: set[str] = set()
        # Browsers and app installs the person logged in on: sites remember the login there.
        self.remembered: set[str] = self._remembered_before(person, world, rng)
        self.order_seq = 0
        self.bought: list[Product] = []
        self.tier = person.persona.price_tier
        self.profile = category_profile(person.persona)

    # -- low-level emitters ------------------------------------------------------------------
    def _emit(self, typ: str, body: str, path: str | None, name: str | None) -> None:
        self.log.events.append((self.t, self.s, typ, body, path, name))
        self.t += 3000 + int(self.d.exp(22_000.0))

    def _open(self, session: Session) -> None:
        self.log.sessions.append(session)
        self.s = len(self.log.sessions) - 1
        self.t = session.start_ms
        ids = self.log.identifiers
        if session.cookie is not None:
            ids[("anonymous_id", session.anonymous_id)] = (session.cookie.shared, False)
        if session.device is not None:
            dev = session.device
            ids[("anonymous_id", dev.install_id)] = (dev.shared, False)
            ids[("device_id", dev.device_id)] = (dev.shared, False)
            zero = dev.advertising_id == ZERO_ADID
            ids[("advertising_id", dev.advertising_id)] = (dev.shared or zero, zero)
        if session.user_id is not None:
            ids[("user_id", session.user_id)] = (False, False)
        bad = garble(session, self.d)
        if bad is not None:
            ids[bad] = (True, True)

    def view_page(self, name: str, path: str, title: str, category: str) -> None:
        """Send a page (web) or screen (app) view."""
        session = self.log.sessions[self.s]
        typ = "page" if session.web else "screen"
        self._emit(typ, _page_body(name, path, title, category), path, None)

    def product_event(self, name: str, product: Product, quantity: int = 1) -> None:
        """Send a product-level e-commerce track event."""
        self._emit(
            "track", _product_body(name, product, quantity), f"/p/{product.product_id}", name
        )

    def track(self, name: str, props: dict[str, object], path: str = "/") -> None:
        """Send any other track event."""
        self._emit("track", _track(name, props), path, name)

    def identify(self) -> None:
        """Send identify with the person's traits for the session's user."""
        session = self.log.sessions[self.s]
        traits = traits_of(self.p, self.d.u())
        for key, id_type in (("email", "email"), ("phone", "phone")):
            if key in traits:
                self.log.identifiers[(id_type, str(traits[key]))] = (False, False)
        body = f'"traits":{json.dumps(traits, separators=(",", ":"))},'
        self._emit("identify", body, "/account", None)
        self.identified.add(session.anonymous_id)

    @staticmethod
    def _remembered_before(person: Person, world: World, rng: np.random.Generator) -> set[str]:
        """Browsers and installs older than the window that a long-registered person had
        logged in on before it started (most of them)."""
        if person.registered_at_ms is None or person.registered_at_ms >= world.start_ms:
            return set()
        remembered = {
            c.anonymous_id
            for c in person.cookies
            if c.start_ms < world.start_ms and not c.shared and rng.random() < _KNOWN_BROWSER
        }
        remembered |= {
            d.install_id for d in person.devices if not d.shared and rng.random() < _KNOWN_INSTALL
        }
        return remembered

    def _remembered(self, browser: str, login: str | None, user: str | None) -> str | None:
        """Stay logged in where the person logged in before ("remember me"), mostly."""
        if user is None and login is not None and browser in self.remembered:
            user = login if self.d.u() < _REMEMBERED_LOGIN else None
        if user is not None:
            self.remembered.add(browser)
        return user

    def _login_for_checkout(self) -> None:
        """A registered shopper who is logged out signs in to place the order."""
        session, p = self.log.sessions[self.s], self.p
        if session.user_id is not None or p.user_id is None or p.registered_at_ms is None:
            return
        if self.t < p.registered_at_ms or (session.cookie is not None and session.cookie.shared):
            return
        logged_in = with_user(session, p.user_id)
        logged_in.start_ms = self.t
        self._open(logged_in)
        self.remembered.add(session.anonymous_id)
        if session.anonymous_id not in self.identified:
            self.identify()

    # -- choices -----------------------------------------------------------------------------
    def category(self) -> str:
        """Draw a category from the person's own affinity."""
        return CATEGORIES[min(bisect_right(self.p.affinity_cum, self.d.u()), len(CATEGORIES) - 1)]

    def product(self, category: str) -> Product:
        """Draw a product of ``category`` weighted by the person's price tier."""
        cat = self.w.catalog
        idxs = cat.by_category[category]
        k = bisect_right(cat.tier_cumweights[(category, self.tier)], self.d.u())
        return cat.products[idxs[min(k, len(idxs) - 1)]]

    def mobile_ip(self) -> str:
        """A carrier IP address for a phone away from home."""
        d = self.d
        return f"{100 + d.below(120)}.{d.below(256)}.{d.below(256)}.{1 + d.below(254)}"

    # -- sessions ----------------------------------------------------------------------------
    def new_session(
        self, start_ms: int, logged_in_share: float, can_login: bool = True, place: str = ""
    ) -> Session:
        """Open a session on one of the person's browsers or devices.

        Args:
            start_ms: Session start.
            logged_in_share: Chance a registered person is logged in.
            can_login: False for the visit in which the person signs up.
            place: "tablet" or "cafe" to force the shared family tablet or cafe browser.

        Returns:
            The session (an identify is sent first when the login is new on this id).
        """
        p, d = self.p, self.d
        login = None
        if can_login and p.registered_at_ms is not None and start_ms >= p.registered_at_ms:
            login = p.user_id
        user = login if d.u() < logged_in_share else None
        # On shared devices people log in, which is what lets identity resolution split them.
        if p.household >= 0 and p.devices and (place == "tablet" or d.u() < 0.3):
            device = shared_device(self.w.seed, KIND_HOUSEHOLD, p.household)
            session = app_session(p, self.w, d, start_ms, device, p.home_ip, login)
        elif p.cafe >= 0 and (place == "cafe" or d.u() < 0.1):
            cookie, ip = shared_cookie(self.w.seed, p.cafe)
            session = web_session(p, self.w, d, start_ms, cookie, ip, login)
        elif p.cookies and (not p.devices or d.u() < p.web_share):
            k = bisect_right([c.start_ms for c in p.cookies], start_ms) - 1
            cookie = p.cookies[max(k, 0)]
            user = self._remembered(cookie.anonymous_id, login, user)
            session = web_session(p, self.w, d, start_ms, cookie, p.home_ip, user)
        else:
            device = p.devices[d.below(len(p.devices))]
            ip = (
                p.home_ip
                if d.u() < 0.5
                else f"{10 + d.below(200)}.{d.below(255)}.{d.below(255)}.{1 + d.below(254)}"
            )
            user = self._remembered(device.install_id, login, user)
            session = app_session(p, self.w, d, start_ms, device, ip, user)
        self._open(session)
        if session.user_id is not None and (
            session.anonymous_id not in self.identified or d.u() < 0.05
        ):
            self.identify()
        return session

    def browse(self, category: str) -> None:
        """A shopping visit: landing, search or list, product views, cart, maybe an order."""
        d, p = self.d, self.p
        persona = p.persona
        self.view_page("Home", "/", "Shop - Home", "home")
        if d.u() < 0.3:
            product = self.product(category)
            query = product.name.split(" ", 1)[1] if d.u() < 0.5 else product.brand
            body = (
                f'"event":"Products Searched","properties":{{"query":{json.dumps(query.lower())}}},'
            )
            self._emit("track", body, "/search", "Products Searched")
        if d.u() < 0.65:
            body = f'"event":"Product List Viewed","properties":{{"category":"{category}"}},'
            self._emit("track", body, f"/c/{category}", "Product List Viewed")
        views = 1 + int(d.exp(2.6))
        cart: list[tuple[Product, int]] = []
        campaign_ids = self.w.catalog.campaign_index
        for _ in range(views):
            cat = category if d.u() < 0.6 else self.category()
            product = self.product(cat)
            if d.u() < 0.75:
                self.view_page("Product", f"/p/{product.product_id}", product.name, cat)
            self.product_event("Product Viewed", product)
            if product.product_id in campaign_ids:
                continue
            if d.u() < persona.add_rate:
                qty = 1 if d.u() < 0.8 else 2
                self.product_event("Product Added", product, qty)
                cart.append((product, qty))
            elif d.u() < 0.04:
                self.product_event("Product Added to Wishlist", product)
            if d.u() < (0.12 if p.is_influencer else 0.015):
                self.share(product)
        if self.bought and d.u() < 0.06:
            product = self.bought[d.below(len(self.bought))]
            self.track(
                "Product Reviewed",
                {"product_id": product.product_id, "rating": 1 + min(4, int(d.exp(3.0)))},
            )
        if not cart:
            return
        if d.u() < 0.6:
            self.track(
                "Cart Viewed",
                {"products": [{"product_id": c.product_id} for c, _ in cart]},
                "/cart",
            )
        if len(cart) > 1 and d.u() < 0.2:
            product, qty = cart.pop()
            self.product_event("Product Removed", product, qty)
        rate = persona.order_rate * (1.0 if p.user_id is not None else 0.45)
        if d.u() < rate:
            self.checkout(cart)

    def checkout(
        self,
        cart: list[tuple[Product, int]],
        gift: bool = False,
        campaign: bool = False,
        coupon_share: float = 0.15,
    ) -> None:
        """Checkout Started (logging in first if needed), maybe a coupon, Order Completed."""
        d = self.d
        if d.u() < _LOGIN_AT_CHECKOUT:
            self._login_for_checkout()
        total = round(sum(pr.price * q for pr, q in cart), 2)
        body = f'"event":"Checkout Started","properties":{{"value":{total},"currency":"USD"}},'
        self._emit("track", body, "/checkout", "Checkout Started")
        coupon, discount = None, 0.0
        if d.u() < coupon_share:
            coupon = _COUPONS[d.below(len(_COUPONS))]
            self.track("Coupon Entered", {"coupon_id": coupon}, "/checkout")
            if d.u() < 0.75:
                discount = round(total * (0.1 + 0.1 * d.below(3)), 2)
                self.track(
                    "Coupon Applied",
                    {"coupon_id": coupon, "coupon_name": coupon.title(), "discount": discount},
                    "/checkout",
                )
            else:
                self.track(
                    "Coupon Denied", {"coupon_id": coupon, "reason": "not eligible"}, "/checkout"
                )
                coupon = None
        self.order_seq += 1
        order_id = f"o{self.p.index:07d}-{self.order_seq:03d}"
        products = ",".join(f'{{{pr.fragment},"quantity":{q}}}' for pr, q in cart)
        head = {
            "order_id": order_id,
            "total": total,
            "revenue": round(total - discount, 2),
            "currency": "USD",
            "discount": discount,
        }
        if coupon is not None:
            head["coupon"] = coupon
        props = json.dumps(head, separators=(",", ":"))[:-1] + f',"products":[{products}]}}'
        ordered_at = self.t
        self._emit(
            "track",
            f'"event":"Order Completed","properties":{props},',
            "/checkout/done",
            "Order Completed",
        )
        for pr, q in cart:
            is_campaign = campaign and pr.product_id in self.w.catalog.campaign_index
            self.log.orders.append(
                (
                    order_id,
                    pr.product_id,
                    pr.category,
                    pr.price,
                    q,
                    ordered_at,
                    gift and not is_campaign,
                    is_campaign,
                )
            )
            self.bought.append(pr)

    def share(self, product: Product) -> None:
        """Share a product with a friend."""
        d = self.d
        via = _SHARE_VIA[d.below(len(_SHARE_VIA))]
        self.track(
            "Product Shared",
            {
                "product_id": product.product_id,
                "share_via": via,
                "share_message": f"Look at this {product.name}!",
                "recipient": f"friend_{d.below(10_000):04d}",
            },
            f"/p/{product.product_id}",
        )

    def sign_up(self, session: Session) -> Session:
        """Register: Signed Up, alias from the anonymous id, identify; returns the new session."""
        p = self.p
        assert p.user_id is not None
        props: dict[str, object] = {
            "method": ("email", "phone", "wechat", "apple")[self.d.below(4)]
        }
        if p.referrer >= 0:
            props["referrer_user_id"] = user_id_of(p.referrer)
        logged = with_user(session, p.user_id)
        self.log.sessions.append(logged)
        self.s = len(self.log.sessions) - 1
        self.track("Signed Up", props, "/signup")
        self._emit("alias", f'"previousId":"{session.anonymous_id}",', "/signup", None)
        self.log.identifiers[("user_id", p.user_id)] = (False, False)
        self.identify()
        return logged
