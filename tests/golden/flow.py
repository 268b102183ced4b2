"""The golden flow: one fixed small world through every stage, and digests of every table.

``tests/integration/test_golden.py`` runs it and compares the digests with
``tests/golden/expected.json``, captured from the code before a change. A change that
alters results on purpose refreshes the file with
``DMP_GOLDEN_UPDATE=1 pytest tests/integration/test_golden.py`` and says why in its commit.

Digests are order-independent: per table, the multiset of canonical rows and, to tell which
column moved, the multiset of each column's values. Columns that hold wall-clock times, run
ids or values derived from them are left out (``VOLATILE``).

Floating-point columns (doubles, and arrays of them such as embeddings) are not hashed:
their last bits depend on the machine. Java's vectorised BLAS under ALS and NumPy's BLAS
under the BTYD fit pick kernels by CPU (AVX2 or AVX-512), which sum in a different order.
Each such column gets a fingerprint instead: its null, NaN and infinity counts (exact), the
sum of absolute values, the plain sum and three sums weighted by pseudo-random weights drawn
from each row's other columns. The weighted sums are compared within a relative tolerance
(``FLOAT_RTOL`` of the absolute sum). They move when any value moves beyond it, or when
values trade places between rows.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

from dmp.config import Settings, load_config
from dmp.generate import WorldSpec, generate_world

WORLD = WorldSpec(users=500, days=7, seed=5, bad_share=0.02, partner_bad_share=0.02, workers=1)
AUDIENCE = "golden_lal"
SEED_SEGMENT = "active_buyers"

# Columns whose values depend on the wall clock or on random run ids, per table
# ("*" applies to every table).
VOLATILE: dict[str, frozenset[str]] = {
    "*": frozenset({"ingested_at", "run_id", "export_id", "changed_at"}),
    "ops/runs": frozenset({"*"}),
    "ops/suppression": frozenset({"added_at", "note"}),  # the note names the erasure request
}
_SKIPPED_TABLES = frozenset({"ops/runs"})
FLOAT_RTOL = 1e-6
"""Relative tolerance of a float column's weighted sums (of the sum of absolute values)."""
_PROJECTIONS = 3


def golden_settings(home: Path) -> Settings:
    """Settings for the golden world: the project's conf, sized for 300 people."""
    conf = home / "conf"
    if not conf.exists():
        shutil.copytree(Path(__file__).parents[2] / "conf", conf)
        channels = (conf / "channels.yaml").read_text()
        channels = channels.replace(
            "    purpose: advertising\n",
            "    purpose: advertising\n    min_audience: 5\n    part_rows: 50\n",
        )
        (conf / "channels.yaml").write_text(channels)
    settings = load_config(home=home, conf_dir=conf, environ={})
    lookalike = settings.lookalike.model_copy(
        update={
            "min_seed": 20,
            "min_universe": 100,
            "bags": 3,
            "splits": 2,
            "evaluation_universe": 100,
        }
    )
    # Captured when a person with no consent statement counted as consenting; the default
    # is now "no consent", so the golden world keeps the old default explicitly.
    ingest = settings.ingest.model_copy(update={"consent_default": True})
    return settings.model_copy(update={"lookalike": lookalike, "ingest": ingest})


def run_flow(spark: Any, home: Path) -> Settings:
    """Generate the golden world under ``home`` and run every stage on it."""
    from dmp.driver import run_stage
    from dmp.export.entry import EXPORT
    from dmp.export.stage import ExportRequest
    from dmp.generate.outcomes import simulate_outcomes
    from dmp.identity.entry import IDENTITY, IdentityRequest
    from dmp.ingest.entry import INGEST, IngestRequest
    from dmp.lift.entry import LIFT, LiftRequest
    from dmp.lookalike.entry import LOOKALIKE, LookalikeRequest
    from dmp.profiles.entry import PROFILES, ProfilesRequest
    from dmp.segments.entry import SEGMENTS, SegmentsRequest
    from dmp.stages import latest_event_date

    settings = golden_settings(home)
    generate_world(WORLD, home)
    run_stage(INGEST, settings, IngestRequest(), spark=spark)
    run_stage(IDENTITY, settings, IdentityRequest(), spark=spark)
    as_of = latest_event_date(settings)
    run_stage(PROFILES, settings, ProfilesRequest(as_of - dt.timedelta(days=2)), spark=spark)
    run_stage(PROFILES, settings, ProfilesRequest(as_of), spark=spark)
    run_stage(SEGMENTS, settings, SegmentsRequest(as_of=as_of), spark=spark)
    run_stage(
        LOOKALIKE,
        settings,
        LookalikeRequest(name=AUDIENCE, segment=SEED_SEGMENT, method="pu", as_of=as_of),
        spark=spark,
    )
    request = ExportRequest(channel="meta", audience=AUDIENCE, holdout=0.2)
    run_stage(EXPORT, settings, request, spark=spark)
    outcomes = home / "campaign_results" / f"{AUDIENCE}.csv"
    simulate_outcomes(spark, settings, audience=AUDIENCE, out=outcomes, true_lift=0.3,
                      base_rate=0.1)  # fmt: skip
    run_stage(LIFT, settings, LiftRequest(audience=AUDIENCE, results=outcomes), spark=spark)
    return settings


def digests(settings: Settings) -> dict[str, Any]:
    """Order-independent digests of every table and of the export files."""
    from dmp.lake import Lake

    lake = Lake(settings.lake_dir)
    found: dict[str, Any] = {}
    for info in lake.tables():
        if info.name in _SKIPPED_TABLES:
            continue
        data = lake.read_arrow(info.name)
        volatile = VOLATILE["*"] | VOLATILE.get(info.name, frozenset())
        columns = sorted(c for c in data.column_names if c not in volatile)
        floats = [c for c in columns if _holds_floats(data.schema.field(c).type)]
        exact = [c for c in columns if c not in floats]
        rows = data.select(columns).to_pylist()
        found[info.name] = _table_digest(exact, floats, rows)
    found["exports/files"] = _export_digest(settings.exports_dir)
    return found


def catalogue_problems(settings: Settings) -> list[str]:
    """Where the lake the flow wrote disagrees with the table catalogue (``dmp.tables``).

    Every table must be catalogued with its real partition columns, and its declared key
    (and person columns) must exist, the key identifying one row.
    """
    from dmp.lake import Lake
    from dmp.tables import TABLES

    lake = Lake(settings.lake_dir)
    problems = []
    for info in lake.tables():
        entry = TABLES.get(info.name)
        if entry is None:
            problems.append(f"{info.name}: not in dmp/tables.py")
            continue
        if tuple(info.partition_by) != entry.partition_by:
            problems.append(f"{info.name}: partitioned by {info.partition_by}, catalogue says "
                            f"{entry.partition_by}")  # fmt: skip
        data = lake.read_arrow(info.name)
        declared = (*entry.key, *entry.person_columns, *entry.link_columns)
        missing = [c for c in declared if c not in data.column_names]
        if missing:
            problems.append(f"{info.name}: no column {', '.join(missing)}")
            continue
        keys = [
            tuple(map(_canonical, row.values())) for row in data.select(list(entry.key)).to_pylist()
        ]
        if len(set(keys)) != len(keys):
            problems.append(f"{info.name}: key {entry.key} is not unique")
    return problems


def _holds_floats(kind: Any) -> bool:
    """A float column, or a list of floats (at any depth)."""
    import pyarrow as pa

    if pa.types.is_floating(kind):
        return True
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _holds_floats(kind.value_type)
    return False


def _table_digest(
    exact: list[str], floats: list[str], rows: list[dict[str, Any]]
) -> dict[str, Any]:
    row_hashes = []
    column_sums = dict.fromkeys(exact, 0)
    prints = {c: _FloatPrint() for c in floats}
    for row in rows:
        parts = []
        for column in exact:
            text = _canonical(row[column])
            parts.append(text)
            column_sums[column] = (column_sums[column] + _h(text)) % (1 << 64)
        key = "\x1f".join(parts)
        row_hashes.append(_h(key))
        for column in floats:
            prints[column].add(f"{key}\x1e{column}", row[column])
    digest: dict[str, Any] = {
        "rows": len(rows),
        "digest": f"{sum(row_hashes) % (1 << 64):016x}",
        "columns": {c: f"{s:016x}" for c, s in column_sums.items()},
    }
    if floats:
        digest["floats"] = {c: p.as_dict() for c, p in prints.items()}
    return digest


class _FloatPrint:
    """A float column's fingerprint: exact special-value counts, tolerant weighted sums."""

    def __init__(self) -> None:
        self.counts = {"null": 0, "nan": 0, "+inf": 0, "-inf": 0, "finite": 0}
        # Terms, summed by math.fsum (correctly rounded): the same values in any row order
        # give the same fingerprint to the last bit, so equal tables have equal digests.
        self.terms: list[list[float]] = [[] for _ in range(2 + _PROJECTIONS)]

    def add(self, key: str, value: Any, position: str = "") -> None:
        """Add one cell (a float, None or a list of them) of the row named by ``key``."""
        if isinstance(value, list | tuple):
            for index, item in enumerate(value):
                self.add(key, item, f"{position}/{index}")
            return
        if value is None:
            self.counts["null"] += 1
        elif math.isnan(value):
            self.counts["nan"] += 1
        elif math.isinf(value):
            self.counts["+inf" if value > 0 else "-inf"] += 1
        else:
            self.counts["finite"] += 1
            # At 10 significant digits, as other columns are hashed: two runs of one machine
            # that sum in another order still give equal digests (the fault tier needs that).
            value = float(f"{value:.10g}")
            seed = hashlib.sha256(f"{key}\x1d{position}".encode()).digest()
            self.terms[0].append(abs(value))
            self.terms[1].append(value)
            for k in range(_PROJECTIONS):
                weight = int.from_bytes(seed[4 * k : 4 * k + 4], "big") / (1 << 31) - 1.0
                self.terms[2 + k].append(weight * value)

    def as_dict(self) -> dict[str, Any]:
        absolute, *sums = (math.fsum(terms) for terms in self.terms)
        return {"counts": self.counts, "abs": absolute, "sums": sums}


def _floats_agree(want: dict[str, Any], got: dict[str, Any]) -> bool:
    if want["counts"] != got["counts"]:
        return False
    scale = max(want["abs"], got["abs"])
    if abs(want["abs"] - got["abs"]) > FLOAT_RTOL * scale:
        return False
    return all(
        abs(a - b) <= FLOAT_RTOL * scale for a, b in zip(want["sums"], got["sums"], strict=True)
    )


def _export_digest(exports: Path) -> dict[str, Any]:
    """Rows of every exported CSV part (decompressed, sorted), per channel folder."""
    lines: list[str] = []
    for part in sorted(exports.rglob("*.csv.gz")):
        with gzip.open(part, "rt") as handle:
            lines.extend(handle.read().splitlines()[1:])
    return {
        "rows": len(lines),
        "digest": f"{sum(_h(line) for line in lines) % (1 << 64):016x}",
        "columns": {},
    }


def _h(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _canonical(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.10g}" if value != 0 else "0"
    if isinstance(value, decimal.Decimal):
        return _canonical(float(value))
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_canonical(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, bytes):
        return value.hex()
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Readable differences between two digest sets (empty when they agree)."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append(f"{table}: missing (expected {expected[table]['rows']} rows)")
            continue
        if table not in expected:
            problems.append(f"{table}: new table ({actual[table]['rows']} rows)")
            continue
        want, got = expected[table], actual[table]
        if want["rows"] != got["rows"]:
            problems.append(f"{table}: {got['rows']} rows, expected {want['rows']}")
        moved = sorted(
            c
            for c in set(want["columns"]) | set(got["columns"])
            if want["columns"].get(c) != got["columns"].get(c)
        )
        want_floats, got_floats = want.get("floats", {}), got.get("floats", {})
        moved += sorted(
            f"{c} (floats beyond a relative {FLOAT_RTOL:g})"
            for c in set(want_floats) | set(got_floats)
            if c not in want_floats
            or c not in got_floats
            or not _floats_agree(want_floats[c], got_floats[c])
        )
        if moved:
            problems.append(f"{table}: columns differ: {', '.join(moved)}")
        elif want["digest"] != got["digest"]:
            problems.append(f"{table}: rows differ (each column's values agree)")
    return problems
