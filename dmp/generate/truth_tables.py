"""The planted facts of a shard, written as parquet parts under ``truth/<dataset>/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dmp.generate.activity import is_binger
from dmp.generate.bad_records import BadTruth
from dmp.generate.behaviour import PersonLog
from dmp.generate.lines import EventTruth
from dmp.generate.partners import PartnerRows
from dmp.generate.people import PURPOSES, Person, person_key
from dmp.generate.sessions import World

_TS = pa.timestamp("ms", tz="UTC")
SCHEMAS: dict[str, pa.Schema] = {
    "persons": pa.schema(
        [
            ("person_key", pa.string()),
            ("person_index", pa.int64()),
            ("persona", pa.string()),
            ("registered", pa.bool_()),
            ("registered_at", _TS),
            ("user_id", pa.string()),
            ("gender", pa.string()),
            ("birth_year", pa.int32()),
            ("city", pa.string()),
            ("country", pa.string()),
            ("city_tier", pa.int32()),
            ("channel_pref", pa.string()),
            ("web_share", pa.float64()),
            ("session_rate", pa.float64()),
            ("is_bot", pa.bool_()),
            ("is_coupon_abuser", pa.bool_()),
            ("is_binger", pa.bool_()),
            ("abuser_group", pa.int32()),
            ("household", pa.int32()),
            ("cafe_group", pa.int32()),
            ("referrer_person_key", pa.string()),
            ("is_influencer", pa.bool_()),
            ("gives_gift", pa.bool_()),
            ("campaign_sensitivity", pa.float64()),
            ("top_categories", pa.list_(pa.string())),
            ("has_email", pa.bool_()),
            ("has_phone", pa.bool_()),
        ]
    ),
    "consent": pa.schema(
        [
            ("person_key", pa.string()),
            ("purpose", pa.string()),
            ("value", pa.bool_()),
            ("effective_at", _TS),
            ("initial", pa.bool_()),
        ]
    ),
    "identifiers": pa.schema(
        [
            ("person_key", pa.string()),
            ("id_type", pa.string()),
            ("value", pa.string()),
            ("shared", pa.bool_()),
            ("garbage", pa.bool_()),
            ("in_first_party", pa.bool_()),
        ]
    ),
    "events": pa.schema(
        [
            ("message_id", pa.string()),
            ("person_key", pa.string()),
            ("dt", pa.string()),
            ("type", pa.string()),
            ("event", pa.string()),
            ("timestamp", _TS),
            ("copies", pa.int32()),
        ]
    ),
    "bad_records": pa.schema(
        [
            ("source", pa.string()),
            ("file", pa.string()),
            ("line", pa.int64()),
            ("kind", pa.string()),
            ("expected_reason", pa.string()),
            ("message_id", pa.string()),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("person_key", pa.string()),
            ("product_id", pa.string()),
            ("category", pa.string()),
            ("price", pa.float64()),
            ("quantity", pa.int32()),
            ("ordered_at", _TS),
            ("is_gift", pa.bool_()),
            ("is_campaign", pa.bool_()),
        ]
    ),
    "campaign_buyers": pa.schema(
        [
            ("person_key", pa.string()),
            ("product_id", pa.string()),
            ("window", pa.string()),
            ("ordered_at", _TS),
        ]
    ),
    "referrals": pa.schema(
        [
            ("referrer_person_key", pa.string()),
            ("referred_person_key", pa.string()),
            ("referred_at", _TS),
        ]
    ),
    "partner_rows": pa.schema(
        [
            ("partner", pa.string()),
            ("person_key", pa.string()),
            ("id_type", pa.string()),
            ("identifier", pa.string()),
            ("segments", pa.string()),
            ("seen_at", _TS),
        ]
    ),
}
"""Schema of every truth dataset (``campaigns`` is written once by ``dmp.generate.world``)."""


class TruthCollector:
    """Collects a shard's truth rows and writes one parquet part per dataset."""

    def __init__(self, truth: Path, shard: int) -> None:
        self.truth = truth
        self.shard = shard
        self.cols: dict[str, dict[str, list[Any]]] = {
            name: {f.name: [] for f in schema} for name, schema in SCHEMAS.items()
        }
        path = self._path("events")
        self._events = pq.ParquetWriter(path, SCHEMAS["events"], compression="zstd")

    def _path(self, name: str) -> Path:
        folder = self.truth / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"part-{self.shard:05d}.parquet"

    def _row(self, name: str, **values: Any) -> None:
        cols = self.cols[name]
        for key, value in values.items():
            cols[key].append(value)

    def add_person(self, p: Person, log: PersonLog, beta_uid: str | None, world: World) -> None:
        """Record one person's facts."""
        channel = "web" if p.web_share >= 0.7 else ("app" if p.web_share <= 0.3 else "both")
        top = sorted(range(len(p.affinity)), key=lambda c: -p.affinity[c])[:3]
        from dmp.generate.categories import CATEGORIES

        self._row(
            "persons",
            person_key=p.key,
            person_index=p.index,
            persona=p.persona.name,
            registered=p.registered,
            registered_at=p.registered_at_ms,
            user_id=p.user_id,
            gender=p.gender,
            birth_year=p.birthday.year,
            city=p.city[0],
            country=p.city[2],
            city_tier=p.city[4],
            channel_pref=channel,
            web_share=p.web_share,
            session_rate=p.session_rate,
            is_bot=p.is_bot,
            is_coupon_abuser=p.is_abuser,
            is_binger=is_binger(p, world),
            abuser_group=p.abuser_group if p.abuser_group >= 0 else None,
            household=p.household if p.household >= 0 else None,
            cafe_group=p.cafe if p.cafe >= 0 else None,
            referrer_person_key=person_key(p.referrer) if p.referrer >= 0 else None,
            is_influencer=p.is_influencer,
            gives_gift=any(o[6] for o in log.orders),
            campaign_sensitivity=p.campaign_sensitivity,
            top_categories=[CATEGORIES[c] for c in top],
            has_email=p.email is not None,
            has_phone=p.phone is not None,
        )
        for purpose in PURPOSES:
            self._row(
                "consent",
                person_key=p.key,
                purpose=purpose,
                value=p.consent[purpose],
                effective_at=world.start_ms,
                initial=True,
            )
        if p.consent_flip is not None:
            self._row(
                "consent",
                person_key=p.key,
                purpose=p.consent_flip[0],
                value=False,
                effective_at=p.consent_flip[1],
                initial=False,
            )
        seen = dict(log.identifiers)
        # Contact details the person has even when no identify carried them in the window.
        for id_type, value in (("email", p.email), ("phone", p.phone), ("beta_uid", beta_uid)):
            if value is not None and (id_type, value) not in seen:
                seen[(id_type, value)] = (False, False)
        for (id_type, value), (shared, garbage) in sorted(seen.items()):
            self._row("identifiers", person_key=p.key, id_type=id_type, value=value,
                      shared=shared, garbage=garbage,
                      in_first_party=(id_type, value) in log.identifiers)  # fmt: skip
        for oid, pid, cat, price, qty, at, gift, campaign in log.orders:
            self._row(
                "orders",
                order_id=oid,
                person_key=p.key,
                product_id=pid,
                category=cat,
                price=price,
                quantity=qty,
                ordered_at=at,
                is_gift=gift,
                is_campaign=campaign,
            )
        for pid, window, at in log.campaign_buys:
            self._row(
                "campaign_buyers", person_key=p.key, product_id=pid, window=window, ordered_at=at
            )
        if p.referrer >= 0 and p.registered_at_ms is not None:
            self._row(
                "referrals",
                referrer_person_key=person_key(p.referrer),
                referred_person_key=p.key,
                referred_at=p.registered_at_ms,
            )

    def write_events(self, events: EventTruth) -> None:
        """Append a chunk of event truth rows."""
        table = pa.table(
            {
                "message_id": events.message_id,
                "person_key": events.person_key,
                "dt": events.dt,
                "type": events.type,
                "event": events.event,
                "timestamp": events.timestamp_ms,
                "copies": events.copies,
            },
            schema=SCHEMAS["events"],
        )
        self._events.write_table(table)

    def finish(self, bad: BadTruth, partners: PartnerRows) -> None:
        """Write every other dataset's part and close the events writer."""
        self._events.close()
        self.cols["bad_records"] = {k: getattr(bad, k) for k in self.cols["bad_records"]}
        self.cols["partner_rows"] = {
            "partner": partners.partner,
            "person_key": partners.person_key,
            "id_type": partners.id_type,
            "identifier": partners.identifier,
            "segments": partners.segments,
            "seen_at": partners.seen_at_ms,
        }
        for name, cols in self.cols.items():
            if name == "events":
                continue
            table = pa.table(cols, schema=SCHEMAS[name])
            pq.write_table(table, self._path(name), compression="zstd")
