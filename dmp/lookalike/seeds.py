"""Seeds: the people a lookalike audience should resemble, from a segment or an uploaded list.

Uploaded identifiers are normalised and hashed exactly as ingestion does, then resolved
through the identity map; the clear-text values only ever live in Spark memory.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.errors import UserError
from dmp.runlog import Run

SeedIdType = Literal["user_id", "email", "phone", "email_sha256", "advertising_id"]
SEED_ID_TYPES: tuple[str, ...] = ("user_id", "email", "phone", "email_sha256", "advertising_id")
_COLUMN_NAMES = ("id", "identifier", "value", "user_id", "email", "phone", "email_sha256",
                 "advertising_id", "madid", "maid")  # fmt: skip
# A hex digest, or a UUID / mobile ad id.
_HEX_ID = re.compile(r"[0-9a-fA-F]{32,}|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}")
_FIRST_LINE_LIMIT = 1 << 16
_BOM = "\ufeff"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class SeedSet:
    """Resolved seed people.

    Attributes:
        description: For reports ("segment sleeping_vips", "file buyers.csv (user_id)").
        rows: Rows in the uploaded file (None for a segment).
        matched: Distinct people the seed resolved to.
        persons: ``person_id`` of every seed person.
        rule: The segment's condition (``where``) when the seed is a segment: the profile
            columns it names define the seed, so the model must not use them.
    """

    description: str
    rows: int | None
    matched: int
    persons: DataFrame
    rule: str | None = None


def seed_from_segment(spark: SparkSession, run: Run, segment: str, as_of: date) -> SeedSet:
    """The members of ``segment`` in the segments of the ``as_of`` snapshot."""
    from dmp.segments.members import segment_table

    table = segment_table(segment)
    if not run.lake.exists(table):
        raise UserError(f"{table} does not exist yet: run `dmp segments` / `dmp funnels` first")
    members = (
        run.read(spark, table)
        .filter((F.col("segment") == segment) & (F.col("as_of") == F.lit(as_of)))
        .select("person_id")
        .distinct()
    )
    matched = members.count()
    if matched == 0:
        known = run.lake.read(spark, table).filter(F.col("as_of") == F.lit(as_of))
        names = sorted(r["segment"] for r in known.select("segment").distinct().collect())
        raise UserError(
            f"segment {segment!r} has no members as of {as_of}"
            + (f"; segments of that snapshot: {', '.join(names)}" if names else "")
        )
    return SeedSet(f"segment {segment}", None, matched, members, _rule(spark, run, segment, as_of))


def _rule(spark: SparkSession, run: Run, segment: str, as_of: date) -> str | None:
    """The condition the segment was materialised with (one row of ``gold/segment_sizes``)."""
    from dmp.tables import SEGMENT_SIZES_TABLE

    if not run.lake.exists(SEGMENT_SIZES_TABLE):
        return None
    rows = (
        run.read(spark, SEGMENT_SIZES_TABLE)
        .filter((F.col("segment") == segment) & (F.col("as_of") == F.lit(as_of)))
        .select("where")
        .limit(1)
        .collect()
    )
    return str(rows[0]["where"]) if rows and rows[0]["where"] else None


def seed_from_file(
    spark: SparkSession,
    run: Run,
    identity_map: DataFrame,
    path: Path,
    id_type: SeedIdType,
    default_country_code: str,
    *,
    id_key: bytes,
) -> SeedSet:
    """Resolve a CSV of identifiers (one per row) to people through the identity map.

    The identifier column is the one named like the id type (or ``id``/``identifier``),
    else the first column. E-mails and phones are normalised and SHA-256 hashed first; user
    ids that are e-mails or phones are pseudonymised with ``id_key`` as ingest does.
    """
    rows, keys = read_identifiers(spark, path, id_type, default_country_code, id_key=id_key)
    persons = (
        keys.join(identity_map.select("id_type", "id_value", "person_id"), ["id_type", "id_value"])
        .select("person_id")
        .distinct()
    )
    matched = persons.count()
    return SeedSet(f"file {path.name} ({id_type})", rows, matched, persons)


def read_identifiers(
    spark: SparkSession, path: Path, id_type: str, default_country_code: str, *, id_key: bytes
) -> tuple[int, DataFrame]:
    """Read a CSV of identifiers as identity-map keys: ``id_type, id_value``.

    The identifier column is the one named like the id type (or ``id``/``identifier``),
    else the first column. E-mails and phones are normalised and SHA-256 hashed as at
    ingest, so the clear values never leave Spark memory.

    Returns:
        The number of non-empty rows in the file and the keys (one per row, not distinct).

    Raises:
        UserError: Unknown id type or missing file.
    """
    if id_type not in SEED_ID_TYPES:
        raise UserError(f"--id-type must be one of {', '.join(SEED_ID_TYPES)}, not {id_type!r}")
    if not path.is_file():
        raise UserError(f"identifier file {path} does not exist")
    header = read_seed_header(path)
    if header is None:
        # No header row: the first column of every row, the first row included, is data.
        frame = spark.read.option("header", "false").csv(str(path.absolute()))
        column = frame.columns[0] if frame.columns else "_c0"
    else:
        frame = spark.read.option("header", "true").csv(str(path.absolute()))
        frame = frame.toDF(*header[: len(frame.columns)], *frame.columns[len(header) :])
        column = _identifier_column(frame.columns, id_type)
    without_bom = F.regexp_replace(F.col(column), f"^{_BOM}", "")
    values = frame.select(F.trim(without_bom).alias("raw")).filter(
        F.col("raw").isNotNull() & (F.col("raw") != "")
    )
    rows = values.count()
    map_type, normalised = _normalised(F.col("raw"), id_type, default_country_code, id_key)
    keys = values.select(F.lit(map_type).alias("id_type"), normalised.alias("id_value")).filter(
        F.col("id_value").isNotNull()
    )
    return rows, keys


def read_seed_header(path: Path) -> list[str] | None:
    """The column names of a seed CSV, or ``None`` when its first row is already data.

    The file must be UTF-8 (a byte-order mark is accepted); it is streamed once to check
    that, never loaded whole. A first row is taken as data when none of its cells is a known
    column name and one of them looks like an identifier (an e-mail, a phone number, a hex
    digest, a UUID), so an address never becomes a column name that reports would echo.

    Raises:
        UserError: The file is not UTF-8 text. The message never quotes the file's content.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    first_line = ""
    offset = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                text = decoder.decode(chunk)
                offset += len(chunk)
                if "\n" not in first_line and len(first_line) < _FIRST_LINE_LIMIT:
                    first_line += text
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UserError(
            f"seed file {path} is not UTF-8 text (near byte {offset:,}); save it as UTF-8"
        ) from None
    first_line = first_line.removeprefix(_BOM).splitlines()[0] if first_line.strip() else ""
    try:
        cells = [c.strip() for c in next(csv.reader([first_line]), [])]
    except csv.Error:
        raise UserError(f"seed file {path}: the first row is not valid CSV") from None
    if any(c.lower() in (*_COLUMN_NAMES, *SEED_ID_TYPES) for c in cells):
        return cells
    if any(_looks_like_identifier(c) for c in cells):
        return None
    return cells


def _looks_like_identifier(cell: str) -> bool:
    # An e-mail, a phone number (7+ digits), a hex digest or a UUID: data, not a name.
    return "@" in cell or sum(c.isdigit() for c in cell) >= 7 or bool(_HEX_ID.fullmatch(cell))


def _identifier_column(columns: list[str], id_type: str) -> str:
    lowered = {c.strip().lower(): c for c in columns}
    for name in (id_type, *_COLUMN_NAMES):
        if name in lowered:
            return lowered[name]
    if not columns:
        raise UserError("the seed file has no columns")
    return columns[0]


def _normalised(
    raw: Column, id_type: str, default_country_code: str, id_key: bytes
) -> tuple[str, Column]:
    from dmp.privacy.columns import (
        email_normalized,
        phone_normalized,
        pseudonymous_id_col,
        sha256_hex_col,
    )

    if id_type == "email":
        return "email_sha256", sha256_hex_col(email_normalized(raw, "basic"))
    if id_type == "phone":
        return "phone_sha256", sha256_hex_col(phone_normalized(raw, "meta", default_country_code))
    if id_type in ("email_sha256", "advertising_id"):
        return id_type, F.lower(raw)
    # a user id that is an e-mail or phone was pseudonymised at ingest: match it the same way
    return "user_id", pseudonymous_id_col(F.trim(raw), default_country_code, key=id_key)
