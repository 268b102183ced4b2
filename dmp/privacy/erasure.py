"""Right to be forgotten: remove a person from every table, vacuum old versions, suppress.

1. The request's identifiers (e-mail and phone are hashed first) are resolved to persons
   through the identity map, and every identifier of those persons is collected.
2. Those identifiers go on the suppression list, so new data cannot bring the person back
   into an export.
3. Every row of the person is deleted from bronze (events, and quarantined lines mentioning
   the person's ids or message ids), silver and gold tables.
4. Every touched table is vacuumed with no retention, so no older version still holds them.
5. Export files that contained the person, and landing files holding their raw data, are
   listed in the erasure report for re-issue and purging.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.errors import UserError
from dmp.runlog import Run

_log = logging.getLogger(__name__)
# Tables keyed by person_id, and the columns holding it.
_PERSON_TABLES: dict[str, tuple[str, ...]] = {
    "silver/identity_map": ("person_id",),
    "silver/identity_changes": ("from_person_id", "to_person_id"),
    "silver/profiles": ("person_id", "referred_by"),
    "silver/embeddings": ("person_id",),
    "gold/segments": ("person_id",),
    "gold/scores": ("person_id",),
    "gold/persona_clusters": ("person_id",),
    "gold/audiences": ("person_id",),
    "gold/export_members": ("person_id",),
}
_EVENT_COLUMNS = {
    "user_id": ("user_id",),
    "anonymous_id": ("anonymous_id", "previous_id"),
    "device_id": ("device_id",),
    "advertising_id": ("advertising_id",),
    "email_sha256": ("email_sha256",),
    "phone_sha256": ("phone_sha256",),
}


@dataclass
class ErasureResult:
    """What an erasure removed and what still needs a human."""

    persons: list[str] = field(default_factory=list)
    identifiers: int = 0
    suppressed: int = 0
    deleted_rows: dict[str, int] = field(default_factory=dict)
    vacuumed_files: int = 0
    exports_to_reissue: list[str] = field(default_factory=list)
    landing_files: list[str] = field(default_factory=list)
    report: str | None = None

    def summary(self) -> dict[str, Any]:
        """Key figures for the console (person ids are pseudonymous)."""
        shown: dict[str, Any] = {
            "persons erased": len(self.persons),
            "identifiers suppressed": self.suppressed,
        }
        for table, rows in sorted(self.deleted_rows.items()):
            shown[f"rows deleted from {table}"] = rows
        shown["old data files vacuumed"] = self.vacuumed_files
        shown["exports to re-issue"] = len(self.exports_to_reissue)
        shown["landing files to purge"] = len(self.landing_files)
        shown["report"] = self.report or "-"
        return shown


@dataclass(frozen=True)
class ErasureRequest:
    """Identifiers of the people to forget (clear-text e-mail/phone are hashed, never kept)."""

    emails: Sequence[str] = ()
    phones: Sequence[str] = ()
    user_ids: Sequence[str] = ()

    @classmethod
    def from_file(cls, path: Path) -> ErasureRequest:
        """Read a CSV with ``id_type,value`` rows (email, phone or user_id)."""
        import csv

        if not path.is_file():
            raise UserError(f"erasure file {path} does not exist")
        found: dict[str, list[str]] = {"email": [], "phone": [], "user_id": []}
        number = 0
        try:
            # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is accepted and dropped.
            with path.open(newline="", encoding="utf-8-sig") as handle:
                for number, row in enumerate(csv.reader(handle), start=1):
                    if not row or row[0].strip().lower() in ("id_type", "type"):
                        continue
                    if len(row) < 2 or row[0].strip().lower() not in found:
                        raise UserError(f"{path}:{number}: expected 'email|phone|user_id,value'")
                    found[row[0].strip().lower()].append(row[1].strip())
        except UnicodeDecodeError:
            raise UserError(
                f"{path}: erasure file is not UTF-8 text (after line {number}); save it as UTF-8"
            ) from None
        except csv.Error:
            raise UserError(f"{path}:{number + 1}: not valid CSV") from None
        return cls(found["email"], found["phone"], found["user_id"])


def erase(
    spark: SparkSession, settings: Settings, run: Run, request: ErasureRequest
) -> ErasureResult:
    """Forget the people behind ``request``; see the module docstring.

    Raises:
        UserError: No identifier given, or none of them is known.
    """
    from dmp.identity.stage import IDENTITY_MAP_TABLE
    from dmp.privacy import normalize_email, normalize_phone, sha256_hex

    keys: list[tuple[str, str]] = [("user_id", u) for u in request.user_ids if u]
    code = settings.ingest.default_country_code
    keys += [
        ("email_sha256", h)
        for e in request.emails
        if (h := sha256_hex(normalize_email(e, "basic")))
    ]
    keys += [
        ("phone_sha256", h)
        for p in request.phones
        if (h := sha256_hex(normalize_phone(p, "meta", code)))
    ]
    if not keys:
        raise UserError("give at least one valid --email, --phone, --user-id or --file")
    lake = run.lake
    if not lake.exists(IDENTITY_MAP_TABLE):
        raise UserError("silver/identity_map does not exist yet: nothing to erase")
    identity_map = run.read(spark, IDENTITY_MAP_TABLE)
    wanted = spark.createDataFrame(keys, "id_type string, id_value string")
    persons = sorted(
        r["person_id"]
        for r in identity_map.join(wanted, ["id_type", "id_value"])
        .select("person_id")
        .distinct()
        .collect()
    )  # a handful of people
    if not persons:
        raise UserError("none of the given identifiers is known; nothing erased")
    held = (
        identity_map.filter(F.col("person_id").isin(persons))
        .select("id_type", "id_value")
        .collect()
    )
    identifiers = sorted({(r["id_type"], r["id_value"]) for r in held} | set(keys))
    result = ErasureResult(persons=persons, identifiers=len(identifiers))
    from dmp.export.suppression import add_to_suppression

    result.suppressed = add_to_suppression(
        run, identifiers, reason="erased", note=f"run {run.run_id}"
    )
    result.exports_to_reissue = _exports_with(spark, run, persons, settings)
    _erase_bronze(spark, run, identifiers, result)
    for table, columns in _PERSON_TABLES.items():
        if lake.exists(table):
            predicate = " OR ".join(f"{c} IN ({_quoted(persons)})" for c in columns)
            result.deleted_rows[table] = lake.delete(
                table, predicate, metadata={"dmp.job": "erase"}
            )
    for table in result.deleted_rows:
        result.vacuumed_files += len(lake.vacuum(table, retention_hours=0, enforce_retention=False))
        lake.purge_history(table)
    result.report = str(_write_report(settings, run, result))
    for table, rows in result.deleted_rows.items():
        run.count(f"deleted.{table}", rows)
    return result


def _erase_bronze(
    spark: SparkSession, run: Run, identifiers: Sequence[tuple[str, str]], result: ErasureResult
) -> None:
    from dmp.ingest.schema import EVENTS_TABLE, QUARANTINE_TABLE

    by_type: dict[str, list[str]] = {}
    for id_type, value in identifiers:
        by_type.setdefault(id_type, []).append(value)
    clauses = [
        f"{column} IN ({_quoted(by_type[id_type])})"
        for id_type, columns in _EVENT_COLUMNS.items()
        if id_type in by_type
        for column in columns
    ]
    for value in by_type.get("partner_uid", []):
        source, _, uid = value.partition(":")
        clauses.append(f"(source = {_quote(source)} AND partner_uid = {_quote(uid)})")
    if not clauses or not run.lake.exists(EVENTS_TABLE):
        return
    predicate = " OR ".join(clauses)
    events = run.read(spark, EVENTS_TABLE).filter(predicate)
    touched = events.select("message_id", "source_file", "phone_sha256_e164").collect()
    result.landing_files = sorted({r["source_file"] for r in touched if r["source_file"]})
    message_ids = sorted({r["message_id"] for r in touched})
    result.deleted_rows[EVENTS_TABLE] = run.lake.delete(
        EVENTS_TABLE, predicate, metadata={"dmp.job": "erase"}
    )
    if run.lake.exists(QUARANTINE_TABLE):
        # Quarantined lines are masked: e-mails and phones appear as <email:xxxxxxxx> tokens
        # (the first 8 hex of their hash); ids appear in clear.
        needles = [v for t, v in identifiers if t not in ("email_sha256", "phone_sha256")]
        needles += [f"<email:{v[:8]}>" for t, v in identifiers if t == "email_sha256"]
        needles += [
            f"<phone:{r['phone_sha256_e164'][:8]}>" for r in touched if r["phone_sha256_e164"]
        ]
        quarantine = [f"message_id IN ({_quoted(message_ids)})"] if message_ids else []
        quarantine += [f"strpos(raw_masked, {_quote(n)}) > 0" for n in sorted(set(needles))]
        if quarantine:
            result.deleted_rows[QUARANTINE_TABLE] = run.lake.delete(
                QUARANTINE_TABLE, " OR ".join(quarantine), metadata={"dmp.job": "erase"}
            )


def _exports_with(
    spark: SparkSession, run: Run, persons: Sequence[str], settings: Settings
) -> list[str]:
    from dmp.export.stage import MEMBERS_TABLE

    if not run.lake.exists(MEMBERS_TABLE):
        return []
    rows = (
        run.read(spark, MEMBERS_TABLE)
        .filter(F.col("person_id").isin(list(persons)) & (F.col("group") == "exported"))
        .select("name", "channel", "export_id")
        .distinct()
        .collect()
    )
    return sorted(
        str(settings.exports_dir / r["name"] / r["channel"] / r["export_id"]) for r in rows
    )


def _write_report(settings: Settings, run: Run, result: ErasureResult) -> Path:
    folder = settings.reports_dir / "erasure"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{run.run_id}.json"
    body = {k: v for k, v in result.__dict__.items() if k != "report"}
    path.write_text(json.dumps(body, indent=2, default=str))
    return path


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(_quote(v) for v in values)
