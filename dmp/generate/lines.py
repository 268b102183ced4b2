"""Serialise a person's events into Segment-spec JSON lines, grouped by the day received."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dmp.generate.behaviour import PersonLog
from dmp.generate.people import Person
from dmp.generate.sessions import SITE

_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


@dataclass
class EventTruth:
    """Column buffers of the ``truth/events`` dataset."""

    message_id: list[str] = field(default_factory=list)
    person_key: list[str] = field(default_factory=list)
    dt: list[str] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    event: list[str | None] = field(default_factory=list)
    timestamp_ms: list[int] = field(default_factory=list)
    copies: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.message_id)


Line = tuple[str, int]
"""A good line and its row in the chunk's ``EventTruth``."""


def render(
    person: Person,
    log: PersonLog,
    rng: np.random.Generator,
    out: dict[str, list[Line]],
    truth: EventTruth,
) -> int:
    """Serialise the person's events, appending lines to ``out[dt]`` and rows to ``truth``.

    Args:
        person: The person.
        log: The person's generated events.
        rng: The person's generator (supplies message ids).
        out: Lines by received date (``YYYY-MM-DD``), appended to.
        truth: Event truth buffers, appended to.

    Returns:
        Number of lines written.
    """
    events = log.events
    n = len(events)
    if n == 0:
        return 0
    sessions = log.sessions
    t = np.fromiter((e[0] for e in events), np.int64, n)
    si = np.fromiter((e[1] for e in events), np.int64, n)
    late = np.array([s.late_sent_ms for s in sessions], np.int64)[si]
    delay = np.array([s.send_delay_ms for s in sessions], np.int64)[si]
    latency = np.array([s.latency_ms for s in sessions], np.int64)[si]
    shift = np.array([s.ots_shift_ms for s in sessions], np.int64)[si]
    sent = np.where(late > 0, late, t + delay)
    received = sent + latency
    stamps = np.datetime_as_string(
        np.concatenate([t, t + shift, sent, received]).astype("datetime64[ms]"), unit="ms"
    ).tolist()
    hexes = rng.bytes(16 * n).hex()
    flip_at = person.consent_flip[1] if person.consent_flip is not None else 1 << 62
    row = len(truth)
    mids: list[str] = []
    days: list[str] = []
    for i in range(n):
        when, s_idx, typ, body, path, _name = events[i]
        s = sessions[s_idx]
        h = hexes[32 * i : 32 * i + 32]
        mid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
        ts, ots, sa, ra = stamps[i], stamps[n + i], stamps[2 * n + i], stamps[3 * n + i]
        page = (
            f',"page":{{"path":"{path}","url":"{SITE}{path}","referrer":"{s.referrer}"}}'
            if s.web and path is not None
            else ""
        )
        consent = s.consent[1] if when >= flip_at else s.consent[0]
        line = (
            f'{{"type":"{typ}",{body}"messageId":"{mid}","timestamp":"{ts}{s.ts_suffix}",'
            f'"originalTimestamp":"{ots}{s.ots_suffix}","sentAt":"{sa}Z","receivedAt":'
            f'"{ra}Z",{s.ids}"context":{s.ctx_head}{page}{s.ctx_tail}{consent}}}}}'
        )
        day = ra[:10]
        bucket = out.get(day)
        if bucket is None:
            bucket = out[day] = []
        bucket.append((line, row + i))
        mids.append(mid)
        days.append(day)
    truth.message_id.extend(mids)
    truth.person_key.extend([person.key] * n)
    truth.dt.extend(days)
    truth.type.extend(e[2] for e in events)
    truth.event.extend(e[5] for e in events)
    truth.timestamp_ms.extend(t.tolist())
    truth.copies.extend([1] * n)
    return n
