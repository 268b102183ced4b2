"""Which first-party lines the fast path may parse: a strict, cheap test of an event's shape.

The reference parser (:mod:`dmp.ingest.records`) alone decides quarantine reasons and
handles every oddity of real input. Most lines have none: a well-formed JSON object whose
every field the parser reads has its plain type and a value the reference accepts as it
is. For those, :mod:`dmp.ingest.fast` reads the fields of a typed decode directly. This
module decides which lines those are; everything else -- wrong or lenient types (numbers as
strings, ``true`` as an id), values the reference quarantines, custom properties, traits
given twice, escaped UTF-16 surrogates, deep nesting, huge numbers -- goes to the reference.
The rule is one-sided: a doubtful line only costs speed. ``tests/unit/test_ingest_fast.py``
feeds the same corpora to both paths and checks every column of every canonical line.

The test is a typed ``msgspec`` decode (C code, a few microseconds a line) plus a few
checks of values that need the run's settings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from dmp.ingest.records import EVENT_TYPES, parse_timestamp

_Time = Annotated[
    str,
    Meta(
        pattern=r"\A[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
        r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
        r"(?:Z|[+\-](?:[01][0-9]|2[0-3]):[0-5][0-9])\Z"
    ),
]
_Tier = Annotated[int, Meta(ge=-1000, le=1000)]

# What the typed decode does not see (it skips unknown fields), checked on the bytes: an
# escaped UTF-16 surrogate (the reference rejects lone ones), an integer too long for
# Python's int parser (4,300 digits), and nesting near Python's recursion limit.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONG_DIGITS = re.compile(rb"[0-9]{4000}")
_MAX_BRACKETS = 200


class _Product(Struct):
    product_id: str | None = None
    sku: str | None = None
    category: str | None = None
    brand: str | None = None
    name: str | None = None
    price: float | None = None
    quantity: int | None = None


class _Properties(Struct, forbid_unknown_fields=True):
    """Only the typed properties: anything else would go to ``properties_json``."""

    product_id: str | None = None
    sku: str | None = None
    category: str | None = None
    brand: str | None = None
    name: str | None = None
    price: float | None = None
    quantity: int | None = None
    currency: str | None = None
    order_id: str | None = None
    revenue: float | None = None
    total: float | None = None
    discount: float | None = None
    coupon: str | None = None
    coupon_id: str | None = None
    query: str | None = None
    rating: float | None = None
    share_via: str | None = None
    referrer_user_id: str | None = None
    products: list[_Product] | None = None
    path: str | None = None
    url: str | None = None
    referrer: str | None = None
    title: str | None = None
    # Typed (kept out of properties_json) but never read: any value.
    email: Any = None
    phone: Any = None
    recipient: Any = None
    share_message: Any = None


class _Address(Struct):
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postalCode: str | None = None


class _Traits(Struct):
    email: str | None = None
    phone: str | None = None
    firstName: str | None = None
    first_name: str | None = None
    lastName: str | None = None
    last_name: str | None = None
    gender: str | None = None
    birthday: str | None = None
    birth_year: str | None = None
    city: str | None = None
    city_tier: _Tier | None = None
    address: _Address | None = None


class _Device(Struct):
    id: str | None = None
    advertisingId: str | None = None
    type: str | None = None
    model: str | None = None


class _Named(Struct):
    name: str | None = None
    version: str | None = None


class _Page(Struct):
    path: str | None = None
    url: str | None = None
    referrer: str | None = None
    title: str | None = None


class _Campaign(Struct):
    source: str | None = None
    medium: str | None = None
    name: str | None = None


class _Consent(Struct):
    categoryPreferences: dict[str, bool] | None = None


class _ConsentManagement(Struct):
    allowedConsentIds: list[str] | None = None
    deniedConsentIds: list[str] | None = None


class _Context(Struct):
    channel: str | None = None
    userAgent: str | None = None
    locale: str | None = None
    timezone: str | None = None
    ip: str | None = None
    library: _Named | None = None
    os: _Named | None = None
    device: _Device | None = None
    app: _Named | None = None
    page: _Page | None = None
    campaign: _Campaign | None = None
    consent: _Consent | None = None
    consentManagement: _ConsentManagement | None = None
    traits: _Traits | None = None


class _Event(Struct):
    type: str
    messageId: str
    timestamp: _Time
    userId: str | None = None
    anonymousId: str | None = None
    previousId: str | None = None
    event: str | None = None
    name: str | None = None
    channel: str | None = None
    sentAt: _Time | None = None
    receivedAt: _Time | None = None
    context: _Context | None = None
    properties: _Properties | None = None
    traits: _Traits | None = None


_DECODER = msgspec.json.Decoder(_Event)


@dataclass(frozen=True)
class Decoded:
    """A canonical line: the typed event and its parsed times (UTC)."""

    event: _Event
    event_time: datetime
    sent_at: datetime | None
    received_at: datetime | None


@dataclass(frozen=True)
class CanonicalCheck:
    """Decides, line by line, whether the JVM parser may take a first-party line.

    Attributes:
        min_time: Earliest accepted event time.
        max_time: Latest accepted event time.
        max_record_bytes: Longer lines are oversized (the reference quarantines them).
        max_amount: Largest accepted price, revenue or total.
        max_quantity: Largest accepted quantity.
    """

    min_time: datetime
    max_time: datetime
    max_record_bytes: int
    max_amount: float
    max_quantity: int

    def __call__(self, raw: bytes) -> bool:
        """Whether ``raw`` (one line, UTF-8, no line end) is canonical."""
        return self.decode(raw) is not None

    def decode(self, raw: bytes) -> Decoded | None:
        """The typed event and its times when ``raw`` is canonical, else None."""
        if len(raw) > self.max_record_bytes or raw.count(b"{") + raw.count(b"[") > _MAX_BRACKETS:
            return None
        if b"\\u" in raw and _SURROGATE_ESCAPE.search(raw) is not None:
            return None
        if len(raw) >= 4000 and _LONG_DIGITS.search(raw) is not None:
            return None
        try:
            event = _DECODER.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        moment = parse_timestamp(event.timestamp)
        if moment is None or not self.min_time <= moment <= self.max_time:
            return None
        sent = parse_timestamp(event.sentAt) if event.sentAt is not None else None
        received = parse_timestamp(event.receivedAt) if event.receivedAt is not None else None
        # The reference drops a time with no UTC datetime (year 0 or 10000 in UTC): rare,
        # left to it.
        if (sent is None and event.sentAt is not None) or (
            received is None and event.receivedAt is not None
        ):
            return None
        if not self._values_accepted(event):
            return None
        return Decoded(event, moment, sent, received)

    def _values_accepted(self, event: _Event) -> bool:
        if event.type not in EVENT_TYPES or not event.messageId.strip():
            return False
        ids = [event.userId, event.anonymousId]
        if event.type == "alias":
            ids.append(event.previousId)
        if not any(value is not None and value.strip() for value in ids):
            return False
        context = event.context
        if context is not None and context.traits is not None and event.traits is not None:
            return False  # merged key by key, where an explicit null counts
        properties = event.properties
        return properties is None or self._amounts_accepted(properties)

    def _amounts_accepted(self, properties: _Properties) -> bool:
        """No amount or quantity the reference would quarantine."""
        for amount in (properties.price, properties.revenue, properties.total):
            if amount is not None and not 0 <= amount <= self.max_amount:
                return False
        for number in (properties.discount, properties.rating):
            if number is not None and not math.isfinite(number):
                return False
        if properties.quantity is not None and not 0 <= properties.quantity <= self.max_quantity:
            return False
        for item in properties.products or ():
            if item.price is not None and not 0 <= item.price <= self.max_amount:
                return False
            if item.quantity is not None and not 0 <= item.quantity <= self.max_quantity:
                return False
        return True
