"""Generate and write one shard of people: their landing files and their truth parts."""

from __future__ import annotations

import datetime as dt
import gzip
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from dmp.generate.activity import play_person
from dmp.generate.bad_records import BAD_KINDS, BAD_SALT, BadTruth, mix_chunk
from dmp.generate.catalog import build_catalog
from dmp.generate.lines import EventTruth, Line, render
from dmp.generate.partners import (
    ALPHA,
    ALPHA_HEADER,
    BETA_HEADER,
    PARTNER_BAD_KINDS,
    PARTNER_SALT,
    PartnerRows,
    corrupt_row,
    partner_rows_for,
)
from dmp.generate.people import make_person
from dmp.generate.population import build_plan
from dmp.generate.sessions import World
from dmp.generate.spec import WorldSpec
from dmp.generate.truth_tables import TruthCollector

_PARTNER_KINDS = tuple(PARTNER_BAD_KINDS)


@dataclass(frozen=True)
class ShardResult:
    """What one shard wrote."""

    shard: int
    counts: dict[str, int]
    seconds: float


class _Sink:
    """One landing file (gzip with a reproducible header, or plain)."""

    def __init__(self, path: Path, gz: bool, level: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._raw: IO[bytes] = path.open("wb")
        self._out: IO[bytes] | gzip.GzipFile = self._raw
        if gz:
            # No file name and a zero mtime in the header: the same spec gives the same bytes.
            self._out = gzip.GzipFile(
                filename="", mode="wb", compresslevel=level, fileobj=self._raw, mtime=0
            )
        self.lines = 0
        self.bytes = 0

    def write(self, parts: list[bytes]) -> None:
        data = b"\n".join(parts) + b"\n"
        self._out.write(data)
        self.lines += len(parts)
        self.bytes += len(data)

    def close(self) -> None:
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()


def run_shard(spec_json: str, home: str, shard: int) -> ShardResult:
    """Generate shard ``shard`` of the world and write its files.

    Args:
        spec_json: The ``WorldSpec`` as JSON (spawn-safe to pass to a worker).
        home: The data root.
        shard: Shard number.

    Returns:
        Counts and timing of what the shard wrote.
    """
    began = time.perf_counter()
    spec = WorldSpec.model_validate_json(spec_json)
    root = Path(home)
    start_ms = int(
        dt.datetime.combine(spec.start_date, dt.time(), tzinfo=dt.UTC).timestamp() * 1000
    )
    world = World(
        spec.seed,
        start_ms,
        spec.days,
        spec.future_days,
        build_catalog(spec.seed),
        build_plan(spec.seed, spec.users, spec.days),
        binge_share=spec.binge_share,
    )
    world.prepare(spec.start_date)
    lo = shard * spec.users_per_shard
    hi = min(spec.users, lo + spec.users_per_shard)
    sinks: dict[str, _Sink] = {}
    bad = BadTruth()
    partners = PartnerRows()
    collector = TruthCollector(root / "truth", shard)
    counts: Counter[str] = Counter()
    first_day = spec.start_date
    for chunk_no, chunk_lo in enumerate(range(lo, hi, spec.persons_per_chunk)):
        by_day: dict[str, list[Line]] = {}
        events = EventTruth()
        for index in range(chunk_lo, min(hi, chunk_lo + spec.persons_per_chunk)):
            rng = np.random.default_rng([spec.seed, index])
            person = make_person(spec.seed, index, world.plan, start_ms, spec.days, rng)
            log = play_person(person, world, rng)
            counts["events"] += render(person, log, rng, by_day, events)
            beta_uid = partner_rows_for(person, spec.seed, start_ms, spec.days, partners)
            collector.add_person(person, log, beta_uid, world)
        chunk_rng = np.random.default_rng([spec.seed, BAD_SALT, shard, chunk_no])
        slots = mix_chunk(by_day, events, chunk_rng, spec.bad_share)
        for day in sorted(slots):
            sink = sinks.get(day)
            if sink is None:
                offset = (dt.date.fromisoformat(day) - first_day).days
                plain = (shard * 7 + offset * 3 + spec.seed) % spec.plain_file_every == 0
                name = f"events-{shard:05d}.jsonl" + ("" if plain else ".gz")
                path = root / "landing" / "first_party" / f"dt={day}" / name
                sink = sinks[day] = _Sink(path, not plain, spec.compresslevel)
            parts: list[bytes] = []
            rel = sink.path.relative_to(root).as_posix()
            for pos, slot in enumerate(slots[day]):
                text = slot[2]
                parts.append(text.encode() if isinstance(text, str) else text)
                kind = slot[3]
                if kind is not None:
                    reason = BAD_KINDS[kind][0].value
                    bad.add("first_party", rel, sink.lines + pos + 1, kind, reason, slot[4])
                    counts[f"bad:{reason}"] += 1
                elif slot[1] == 1:
                    counts["exact_duplicates"] += 1
            sink.write(parts)
        collector.write_events(events)
        counts["good_lines"] += len(events)
    for sink in sinks.values():
        sink.close()
        counts["bytes"] += sink.bytes
        counts["lines"] += sink.lines
        counts["files"] += 1
    _write_partners(spec, root, shard, partners, bad, counts)
    collector.finish(bad, partners)
    counts["persons"] = hi - lo
    counts["bad_lines"] = sum(v for k, v in counts.items() if k.startswith("bad:"))
    return ShardResult(shard, dict(counts), time.perf_counter() - began)


def _write_partners(
    spec: WorldSpec,
    root: Path,
    shard: int,
    partners: PartnerRows,
    bad: BadTruth,
    counts: Counter[str],
) -> None:
    """Write partner CSV files, one per partner and day, with planted bad rows."""
    rng = np.random.default_rng([spec.seed, PARTNER_SALT + 2, shard])
    odds = spec.partner_bad_share / max(1e-9, 1.0 - spec.partner_bad_share)
    for (partner, day), rows in sorted(partners.rows.items()):
        short = "alpha" if partner == ALPHA else "beta"
        path = root / "landing" / "partners" / partner / f"dt={day}" / f"{short}-{shard:05d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [ALPHA_HEADER if partner == ALPHA else BETA_HEADER, *rows]
        planted: list[tuple[float, str, str]] = []
        for _ in range(int(rng.binomial(len(rows), odds))):
            kind = _PARTNER_KINDS[int(rng.integers(0, len(_PARTNER_KINDS)))]
            base = rows[int(rng.integers(0, len(rows)))]
            planted.append(
                (1.5 + rng.random() * len(rows), kind, corrupt_row(partner, base, kind, rng))
            )
        planted.sort()
        out: list[str] = []
        k = 0
        for i, line in enumerate(lines):
            while k < len(planted) and planted[k][0] < i + 1:
                _, kind, text = planted[k]
                out.append(text)
                reason = PARTNER_BAD_KINDS[kind].value
                bad.add(partner, path.relative_to(root).as_posix(), len(out), kind, reason, None)
                counts[f"partner_bad:{reason}"] += 1
                k += 1
            out.append(line)
        for _, kind, text in planted[k:]:
            out.append(text)
            reason = PARTNER_BAD_KINDS[kind].value
            bad.add(partner, path.relative_to(root).as_posix(), len(out), kind, reason, None)
            counts[f"partner_bad:{reason}"] += 1
        data = ("\n".join(out) + "\n").encode()
        path.write_bytes(data)
        counts["bytes"] += len(data)
        counts["files"] += 1
        counts[f"partner_rows:{partner}"] += len(rows)
