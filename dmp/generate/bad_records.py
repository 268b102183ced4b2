"""Planted bad first-party lines (one fault each, with the reason the ingester must give),
exact duplicates and conflicting duplicates, mixed into a chunk's good lines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from dmp.generate.lines import EventTruth, Line
from dmp.ingest.reasons import QuarantineReason as R

BAD_SALT = (1 << 40) + 10
EXACT_DUPLICATE_SHARE = 0.004
OVERSIZED_BYTES = 72_000

# kind -> (expected reason, relative weight)
BAD_KINDS: dict[str, tuple[R, float]] = {
    "malformed_random_text": (R.MALFORMED_JSON, 0.8),
    "malformed_unbalanced_braces": (R.MALFORMED_JSON, 0.8),
    "truncated_line": (R.MALFORMED_JSON, 1.2),
    "json_array": (R.MALFORMED_JSON, 0.4),
    "json_string": (R.MALFORMED_JSON, 0.4),
    "missing_message_id": (R.MISSING_MESSAGE_ID, 0.6),
    "empty_message_id": (R.MISSING_MESSAGE_ID, 0.4),
    "missing_timestamp": (R.MISSING_TIMESTAMP, 0.8),
    "timestamp_number": (R.INVALID_TIMESTAMP, 0.5),
    "timestamp_not_a_date": (R.INVALID_TIMESTAMP, 0.5),
    "timestamp_year_2099": (R.TIMESTAMP_OUT_OF_RANGE, 0.4),
    "timestamp_before_1990": (R.TIMESTAMP_OUT_OF_RANGE, 0.3),
    "timestamp_unix_epoch": (R.TIMESTAMP_OUT_OF_RANGE, 0.3),
    "type_misspelled": (R.UNKNOWN_TYPE, 0.4),
    "type_event": (R.UNKNOWN_TYPE, 0.3),
    "type_missing": (R.UNKNOWN_TYPE, 0.3),
    "no_identifier": (R.MISSING_IDENTIFIER, 0.8),
    "price_not_a_number": (R.WRONG_TYPE, 0.3),
    "properties_not_an_object": (R.WRONG_TYPE, 0.3),
    "user_id_object": (R.WRONG_TYPE, 0.2),
    "quantity_not_a_number": (R.WRONG_TYPE, 0.2),
    "negative_price": (R.NEGATIVE_VALUE, 0.5),
    "negative_revenue": (R.NEGATIVE_VALUE, 0.3),
    "oversized_payload": (R.OVERSIZED, 0.1),
    "invalid_utf8": (R.INVALID_UTF8, 0.6),
    "duplicate_conflict": (R.DUPLICATE_CONFLICT, 0.8),
}
_KIND_NAMES = tuple(BAD_KINDS)
_KIND_CUM = np.cumsum([w for _, w in BAD_KINDS.values()])
_KIND_CUM = (_KIND_CUM / _KIND_CUM[-1]).tolist()


@dataclass
class BadTruth:
    """Column buffers of the ``truth/bad_records`` dataset."""

    source: list[str] = field(default_factory=list)
    file: list[str] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    expected_reason: list[str] = field(default_factory=list)
    message_id: list[str | None] = field(default_factory=list)

    def add(
        self, source: str, file: str, line: int, kind: str, reason: str, mid: str | None
    ) -> None:
        """Record one planted bad line."""
        self.source.append(source)
        self.file.append(file)
        self.line.append(line)
        self.kind.append(kind)
        self.expected_reason.append(reason)
        self.message_id.append(mid)


Planted = tuple[str | bytes, str, str | None]
"""A line to write (bytes when it is deliberately not UTF-8), its kind, its message id."""
Slot = tuple[float, int, str | bytes, str | None, str | None, int]
"""(position key, tiebreak, text, bad kind or None, message id, truth row or -1)."""


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _fresh_id(rng: np.random.Generator) -> str:
    h = rng.bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-b{h[17:20]}-{h[20:]}"


def _base(rng: np.random.Generator, lines: list[Line], need: str) -> dict[str, object]:
    """A good line parsed, meeting ``need`` (price | revenue | anon | props), or any line."""
    for _ in range(60):
        obj = json.loads(lines[int(rng.integers(0, len(lines)))][0])
        props = obj.get("properties")
        if need == "price" and not (isinstance(props, dict) and "price" in props):
            continue
        if need == "revenue" and not (isinstance(props, dict) and "revenue" in props):
            continue
        if need == "props" and not isinstance(props, dict):
            continue
        if need == "anon" and obj.get("anonymousId") in (None, "undefined"):
            continue
        return obj
    return {}


def make_bad(kind: str, rng: np.random.Generator, lines: list[Line]) -> Planted | None:
    """Make one bad line of ``kind`` from the chunk's good lines.

    Args:
        kind: A key of ``BAD_KINDS`` other than ``duplicate_conflict``.
        rng: The chunk's generator.
        lines: Good lines of the same received day to derive the bad line from.

    Returns:
        The bad line, or None when no suitable good line was found.
    """
    need = {
        "price_not_a_number": "price",
        "quantity_not_a_number": "price",
        "negative_price": "price",
        "negative_revenue": "revenue",
        "properties_not_an_object": "props",
        "oversized_payload": "props",
        "user_id_object": "anon",
        "no_identifier": "anon",
    }.get(kind, "")
    obj = _base(rng, lines, need)
    if not obj:
        return None
    mid = _fresh_id(rng)
    obj["messageId"] = mid
    props = obj.get("properties")
    if kind == "malformed_random_text":
        alphabet = np.frombuffer(b'abcdefXYZ0123456789{}[]:,"\\ .-_', dtype=np.uint8)
        text = "{" + bytes(rng.choice(alphabet, int(rng.integers(20, 200)))).decode("ascii")
        return text, kind, None
    if kind == "malformed_unbalanced_braces":
        text = _dumps(obj)
        return (text + "}" if rng.random() < 0.5 else "{" + text), kind, mid
    if kind == "truncated_line":
        text = _dumps(obj)
        return text[: int(rng.integers(10, len(text) - 1))], kind, None
    if kind == "json_array":
        return "[" + _dumps(obj) + "]", kind, None
    if kind == "json_string":
        return _dumps(_dumps(obj)), kind, None
    if kind in ("missing_message_id", "empty_message_id"):
        if kind == "missing_message_id":
            del obj["messageId"]
        else:
            obj["messageId"] = "" if rng.random() < 0.7 else None
        return _dumps(obj), kind, None
    if kind == "missing_timestamp":
        if rng.random() < 0.8:
            del obj["timestamp"]
        else:
            obj["timestamp"] = None
    elif kind == "timestamp_number":
        obj["timestamp"] = 1767225600000 + int(rng.integers(0, 10**9))
    elif kind == "timestamp_not_a_date":
        obj["timestamp"] = str(rng.choice(["not-a-date", "2026-02-30T25:61:00Z", "yesterday"]))
    elif kind == "timestamp_year_2099":
        obj["timestamp"] = f"2099-{int(rng.integers(1, 13)):02d}-15T10:00:00.000Z"
    elif kind == "timestamp_before_1990":
        obj["timestamp"] = f"19{int(rng.integers(70, 90))}-06-15T08:30:00.000Z"
    elif kind == "timestamp_unix_epoch":
        obj["timestamp"] = "1970-01-01T00:00:00.000Z"
    elif kind == "type_misspelled":
        obj["type"] = "trak"
    elif kind == "type_event":
        obj["type"] = "event"
    elif kind == "type_missing":
        del obj["type"]
    elif kind == "no_identifier":
        for key in ("userId", "anonymousId", "previousId"):
            obj.pop(key, None)
    elif kind == "price_not_a_number" and isinstance(props, dict):
        props["price"] = "abc"
    elif kind == "quantity_not_a_number" and isinstance(props, dict):
        props["quantity"] = "two"
    elif kind == "properties_not_an_object":
        obj["properties"] = "oops"
    elif kind == "user_id_object":
        obj["userId"] = {"a": 1}
    elif kind == "negative_price" and isinstance(props, dict):
        props["price"] = -abs(float(props["price"])) - 1.0
    elif kind == "negative_revenue" and isinstance(props, dict):
        props["revenue"] = -abs(float(props["revenue"])) - 1.0
    elif kind == "oversized_payload" and isinstance(props, dict):
        props["blob"] = ("lorem-ipsum-" * (OVERSIZED_BYTES // 12 + 1))[:OVERSIZED_BYTES]
    elif kind == "invalid_utf8":
        raw = _dumps(obj).encode()
        at = raw.index(b'"timezone":"') + len(b'"timezone":"')
        bad = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xfe\xfe")[int(rng.integers(0, 4))]
        return raw[:at] + bad + raw[at:], kind, mid
    else:
        return None
    return _dumps(obj), kind, mid


def conflict_of(line: str, rng: np.random.Generator) -> str:
    """Return a different body under the same ``messageId`` (the event re-sent, altered)."""
    obj = json.loads(line)
    ts = str(obj["timestamp"])
    seconds = int(ts[17:19])
    shifted = (seconds + 1 + int(rng.integers(0, 50))) % 60
    obj["timestamp"] = f"{ts[:17]}{shifted:02d}{ts[19:]}"
    if isinstance(obj.get("properties"), dict):
        obj["properties"]["resent"] = True
    return _dumps(obj)


def mix_chunk(
    by_day: dict[str, list[Line]], truth: EventTruth, rng: np.random.Generator, bad_share: float
) -> dict[str, list[Slot]]:
    """Interleave good lines with exact duplicates, conflicts and bad lines, per day.

    Duplicates and conflicts always come after their original: later in the same day's file or
    in a later day's file of the same shard.

    Args:
        by_day: Good lines per received day.
        truth: Event truth rows; ``copies`` is incremented for exact duplicates.
        rng: The chunk's generator.
        bad_share: Target share of bad lines among all lines.

    Returns:
        Slots per day in write order.
    """
    days = sorted(by_day)
    slots: dict[str, list[Slot]] = {
        d: [(float(i), 0, text, None, None, row) for i, (text, row) in enumerate(by_day[d])]
        for d in days
    }
    odds = bad_share / max(1e-9, 1.0 - bad_share)
    for k, day in enumerate(days):
        lines = by_day[day]
        n = len(lines)
        for i in np.flatnonzero(rng.random(n) < EXACT_DUPLICATE_SHARE).tolist():
            text, row = lines[i]
            target, pos = _later(rng, days, k, i, n, by_day)
            slots[target].append((pos, 1, text, None, None, row))
            truth.copies[row] += 1
        for _ in range(int(rng.binomial(n, odds))):
            kind = _KIND_NAMES[int(np.searchsorted(_KIND_CUM, rng.random(), side="right"))]
            if kind == "duplicate_conflict":
                i = int(rng.integers(0, n))
                text, row = lines[i]
                target, pos = _later(rng, days, k, i, n, by_day)
                mid = truth.message_id[row]
                slots[target].append((pos, 2, conflict_of(text, rng), kind, mid, -1))
                continue
            planted = make_bad(kind, rng, lines)
            if planted is not None:
                slots[day].append((float(rng.random() * n), 3, planted[0], kind, planted[2], -1))
    for day in days:
        slots[day].sort(key=lambda s: (s[0], s[1]))
    return slots


def _later(
    rng: np.random.Generator, days: list[str], k: int, i: int, n: int, by_day: dict[str, list[Line]]
) -> tuple[str, float]:
    """A position after line ``i`` of day ``k``: later that day or on a later day."""
    if k + 1 < len(days) and rng.random() < 0.3:
        later = days[k + 1 + int(rng.integers(0, min(3, len(days) - k - 1)))]
        return later, float(rng.random() * len(by_day[later]))
    return days[k], i + 0.5 + float(rng.random()) * (n - i)
