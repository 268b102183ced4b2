"""Landing files: which exist, which were already ingested, and reading them in Spark tasks."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

import pyarrow as pa

from dmp.ingest.canonical import CanonicalCheck
from dmp.ingest.fast import FastParser
from dmp.ingest.partners import PartnerSpec, parse_partner_line
from dmp.ingest.records import ParseContext, parse_first_party_line, unreadable_rest
from dmp.ingest.schema import PARSED_SCHEMA
from dmp.lake import Lake
from dmp.tables import INGESTED_FILES_TABLE

FIRST_PARTY = "first_party"
_PARTITION = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson", ".ndjson.gz")
_BATCH_ROWS = 2000

INGESTED_FILES_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("landing_date", pa.date32()),
        ("path", pa.string()),
        ("size", pa.int64()),
        ("run_id", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class LandingFile:
    """One file waiting in ``landing/``.

    Attributes:
        source: ``first_party`` or the partner name.
        landing_date: Its ``dt=`` partition.
        path: Absolute path (executors read it, so it must be on shared storage).
        relative: Path relative to the landing folder (the lineage key).
        size: Bytes, part of the identity of an ingested file.
    """

    source: str
    landing_date: date
    path: str
    relative: str
    size: int


def discover(
    landing_dir: Path, first_party_dir: str, partners_dir: str, partners: Sequence[str]
) -> list[LandingFile]:
    """Every landing file of the first-party source and the configured partners."""
    found: list[LandingFile] = []
    sources = [(FIRST_PARTY, landing_dir / first_party_dir)]
    sources += [(name, landing_dir / partners_dir / name) for name in partners]
    for source, folder in sources:
        if not folder.is_dir():
            continue
        for partition in sorted(folder.iterdir()):
            match = _PARTITION.match(partition.name)
            if not match or not partition.is_dir():
                continue
            day = date.fromisoformat(match.group(1))
            for file in sorted(partition.iterdir()):
                if not file.is_file() or file.name.startswith((".", "_")):
                    continue
                if source == FIRST_PARTY and not file.name.endswith(_SUFFIXES):
                    continue
                found.append(
                    LandingFile(
                        source=source,
                        landing_date=day,
                        path=str(file.absolute()),
                        relative=str(file.relative_to(landing_dir)),
                        size=file.stat().st_size,
                    )
                )
    return found


def pending(lake: Lake, files: Sequence[LandingFile]) -> list[LandingFile]:
    """Files not ingested yet: new paths, and paths whose size changed since."""
    if not lake.exists(INGESTED_FILES_TABLE):
        return list(files)
    done = lake.read_arrow(INGESTED_FILES_TABLE, columns=["path", "size"]).to_pylist()
    seen = {(row["path"], row["size"]) for row in done}
    return [f for f in files if (f.relative, f.size) not in seen]


def ingested_files_table(files: Sequence[LandingFile], run_id: str) -> pa.Table:
    """Rows for ``ops/ingested_files`` marking ``files`` as done."""
    now = datetime.now(UTC)
    return pa.Table.from_pylist(
        [
            {
                "source": f.source,
                "landing_date": f.landing_date,
                "path": f.relative,
                "size": f.size,
                "run_id": run_id,
                "ingested_at": now,
            }
            for f in files
        ],
        schema=INGESTED_FILES_SCHEMA,
    )


@dataclass(frozen=True)
class ParseSettings:
    """Run-wide parse settings shipped to the Spark tasks (must stay picklable)."""

    ingested_at: datetime
    min_time: datetime
    max_time: datetime
    max_record_bytes: int
    consent_purposes: Mapping[str, tuple[str, ...]]
    default_country_code: str
    partners: Mapping[str, PartnerSpec]
    id_key: bytes = field(repr=False)
    max_amount: float = 1_000_000
    max_quantity: int = 100_000

    @classmethod
    def build(
        cls,
        *,
        ingested_at: datetime,
        min_event_time: date,
        max_future_hours: int,
        max_record_bytes: int,
        consent_purposes: Mapping[str, Sequence[str]],
        default_country_code: str,
        partners: Mapping[str, PartnerSpec],
        id_key: bytes,
        max_amount: float = 1_000_000,
        max_quantity: int = 100_000,
    ) -> ParseSettings:
        """Derive the time window and normalise purpose names."""
        return cls(
            ingested_at=ingested_at,
            min_time=datetime.combine(min_event_time, datetime.min.time(), tzinfo=UTC),
            max_time=ingested_at + timedelta(hours=max_future_hours),
            max_record_bytes=max_record_bytes,
            consent_purposes={
                purpose: tuple(n.strip().lower() for n in names)
                for purpose, names in consent_purposes.items()
            },
            default_country_code=default_country_code,
            partners=dict(partners),
            id_key=id_key,
            max_amount=max_amount,
            max_quantity=max_quantity,
        )

    def canonical_check(self) -> CanonicalCheck:
        """Which first-party lines the JVM parser may take in this run."""
        return CanonicalCheck(
            min_time=self.min_time,
            max_time=self.max_time,
            max_record_bytes=self.max_record_bytes,
            max_amount=self.max_amount,
            max_quantity=self.max_quantity,
        )

    def context(self, file: LandingFile) -> ParseContext:
        """The parse context of one file."""
        return ParseContext(
            source=file.source,
            landing_date=file.landing_date,
            source_file=file.relative,
            min_time=self.min_time,
            max_time=self.max_time,
            # Deterministic fallback for a missing receivedAt: the start of the landing day.
            ingested_at=datetime.combine(file.landing_date, datetime.min.time(), tzinfo=UTC),
            max_record_bytes=self.max_record_bytes,
            consent_purposes=self.consent_purposes,
            default_country_code=self.default_country_code,
            id_key=self.id_key,
            max_amount=self.max_amount,
            max_quantity=self.max_quantity,
        )


def parse_files(
    batches: Iterable[pa.RecordBatch], settings: ParseSettings
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: read each listed file line by line and parse every line.

    Input batches hold ``source, landing_date, path, relative, size``; output batches
    follow ``PARSED_SCHEMA``, rows in line order. A first-party line the canonical check
    accepts goes through the fast path (:mod:`dmp.ingest.fast`), every other line through
    the reference parser. Blank lines are not records and are skipped.
    """
    fast = FastParser(settings.canonical_check())
    for batch in batches:
        for row in batch.to_pylist():
            file = LandingFile(**row)
            context = settings.context(file)
            partner = settings.partners.get(file.source)
            rows: list[dict[str, Any]] = []
            for number, line in _lines(file.path):
                if number < 0:  # the rest of the file could not be read
                    rows.append(unreadable_rest(-number, line, context))
                elif partner is not None:
                    parsed = parse_partner_line(line, number, partner, context)
                    if parsed is not None:
                        rows.append(parsed)
                elif line.strip():
                    fast_row = fast.parse(line, number, context)
                    rows.append(fast_row or parse_first_party_line(line, number, context))
                if len(rows) >= _BATCH_ROWS:
                    yield _batch(rows)
                    rows = []
            if rows:
                yield _batch(rows)


def _batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """Parsed rows as one Arrow batch (keys missing from a row are nulls)."""
    return pa.RecordBatch.from_pylist(rows, schema=PARSED_SCHEMA)


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` of a landing file, without line ends or a leading BOM.

    A file that stops being readable part-way (a truncated or corrupt gzip stream) ends
    with ``(-n, error text)``: line ``n`` onwards could not be read. Lines before it stand.
    """
    number = 0
    try:
        with _open(path) as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.rstrip(b"\r\n")
                if number == 1 and line.startswith(_BOM):
                    line = line[len(_BOM) :]
                yield number, line
    except (OSError, EOFError, zlib.error) as error:
        yield -(number + 1), f"{type(error).__name__}: {error}".encode()


_BOM = b"\xef\xbb\xbf"


def _open(path: str) -> IO[bytes]:
    if path.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")
