"""Right to be forgotten: remove a person from every table, vacuum old versions, suppress.

An erasure is a journaled request (``ops/erasure_journal``, see
:mod:`dmp.erasure.journal`); a re-run of ``dmp erase`` (or ``dmp erase --resume``)
completes a request an earlier run left half-done.

1. The request's identifiers (e-mail and phone are hashed first) are resolved to persons
   through the identity map, and every identifier of those persons is collected; people
   ingested but not yet in the identity map are found in bronze, and people whose every line
   was quarantined are found in the quarantined lines (their request's own identifiers are
   then the ones erased and suppressed). The request is journaled.
2. Those identifiers and the persons' ids go on the suppression list, so new data cannot
   bring the person back into an export.
3. Every row of the person is deleted from bronze (events, and quarantined lines mentioning
   the person's ids or message ids), silver and gold tables; links to the person in other
   people's rows (``referred_by``) are cleared.
4. Every such table is vacuumed with no retention, files no commit references included, so
   no older version or killed write still holds them; old Spark checkpoints are removed.
5. Export files that contained the person, and landing files holding their raw data, are
   listed in the erasure report for re-issue and purging; lookalike models that may have
   been trained on the person are tagged in MLflow and listed too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.erasure.journal import FINISHED, ErasureJournal, JournaledRequest
from dmp.errors import UserError
from dmp.faults import commit_point
from dmp.lake import Lake
from dmp.runlog import Run
from dmp.tables import IDENTIFIER_TABLES, PERSON_TABLES

_log = logging.getLogger(__name__)
# Tables holding person ids (the catalogue says which columns own and which only link).
_PERSON_TABLES: dict[str, tuple[str, ...]] = {
    t.name: (*t.person_columns, *t.link_columns) for t in PERSON_TABLES
}
# Columns of a person's table that only link to the person: cleared, the row is kept.
_LINK_COLUMNS: dict[str, tuple[str, ...]] = {t.name: t.link_columns for t in PERSON_TABLES}
# JSON keys whose value is an identifier in quarantined first-party lines.
_ID_KEYS = "(?:user_?id|anonymous_?id|previous_?id|device_?id|advertising_?id|id|uid|partner_?uid)"
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
    links_cleared: dict[str, int] = field(default_factory=dict)
    models_flagged: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    report: str | None = None

    def summary(self) -> dict[str, Any]:
        """Key figures for the console (person ids are pseudonymous)."""
        shown: dict[str, Any] = {
            "persons erased": len(self.persons),
            "identifiers suppressed": self.suppressed,
        }
        for table, rows in sorted(self.deleted_rows.items()):
            shown[f"rows deleted from {table}"] = rows
        for table, rows in sorted(self.links_cleared.items()):
            shown[f"links cleared in {table}"] = rows
        shown["old data files vacuumed"] = self.vacuumed_files
        shown["exports to re-issue"] = len(self.exports_to_reissue)
        shown["landing files to purge"] = len(self.landing_files)
        shown["models trained on them (flagged in MLflow)"] = len(self.models_flagged)
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


Step = Callable[[str], None]
"""Called with each step's name before it runs (tests inject failures through it)."""


def erase(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    request: ErasureRequest,
    *,
    before_step: Step | None = None,
) -> ErasureResult:
    """Forget the people behind ``request``; see the module docstring.

    Every pending request of the journal (an erasure that was interrupted) is completed
    first; a request with no identifier only does that (``dmp erase --resume``).

    Args:
        spark: The session.
        settings: The configuration.
        run: The run of this ``erase`` command.
        request: Identifiers to forget; may be empty to only resume pending requests.
        before_step: Hook called with each step's name before it runs.

    Raises:
        UserError: Nothing to do: no identifier and no pending request, or none of the
            identifiers is known to the identity map or to bronze.
    """
    journal = ErasureJournal(run)
    keys = request_keys(request, settings.ingest.default_country_code, settings.id_key())
    todo = journal.pending()
    pending_ids = {key for item in todo for key in item.identifiers}
    fresh = [key for key in keys if key not in pending_ids]
    if not keys and not todo:
        raise UserError(
            "give at least one valid --email, --phone, --user-id or --file "
            "(no interrupted erasure is pending)"
        )
    if fresh:
        persons, identifiers, detail = _resolve(spark, run, fresh)
        detail["quarantine_tokens"] = sorted(
            {*detail.get("quarantine_tokens", []), *_request_tokens(request, settings)}
        )
        if not identifiers and _quarantined(spark, run, fresh, detail["quarantine_tokens"]):
            # Every line of the person was quarantined: no person, no event, but the lines
            # name them. The request's own identifiers are erased there and suppressed.
            identifiers = list(fresh)
            detail["quarantine_only"] = True
        if identifiers:
            todo.append(journal.open(persons, identifiers, detail))
        elif not todo:
            raise UserError(
                "none of the given identifiers is known (identity map, bronze events or "
                "quarantined lines); nothing erased"
            )
    result = ErasureResult()
    for item in todo:
        _complete(spark, settings, run, journal, item, before_step)
        _add_up(result, item)
    result.report = str(_write_report(settings, run, result))
    for table, rows in result.deleted_rows.items():
        run.count(f"deleted.{table}", rows)
    return result


def request_keys(
    request: ErasureRequest, country_code: str, id_key: bytes
) -> list[tuple[str, str]]:
    """``(id_type, id_value)`` pairs the lake may hold for the request's identifiers.

    E-mails and phones are hashed as ingest hashes them (phones with the configured
    ``default_country_code``). A site that used the e-mail or phone as login id has it
    stored as ``user_id = email-hmac:<keyed hash>`` (``phone-hmac:``), so an e-mail or phone
    also names that user id, and a user id that carries an e-mail or is a phone number (in
    any form ingest recognises) is looked up both ways; no clear-text contact is kept.
    """
    from dmp.privacy import (
        email_in_identifier,
        normalize_email,
        normalize_phone,
        phone_in_identifier,
        pseudonymous_id,
        sha256_hex,
    )

    keys: set[tuple[str, str]] = set()
    emails = list(request.emails)
    phones = list(request.phones)
    for raw in request.user_ids:
        value = raw.strip()
        if not value:
            continue
        if (email := email_in_identifier(value)) is not None:
            emails.append(email)
        elif (phone := phone_in_identifier(value, country_code)) is not None:
            phones.append(phone)
        keys.add(("user_id", pseudonymous_id(value, country_code, key=id_key) or value))
    for email in emails:
        if digest := sha256_hex(normalize_email(email, "basic")):
            keys.add(("email_sha256", digest))
        user_id = pseudonymous_id(email, country_code, key=id_key)
        if user_id is not None and user_id != email:
            keys.add(("user_id", user_id))
    for phone in phones:
        if digest := sha256_hex(normalize_phone(phone, "meta", country_code)):
            keys.add(("phone_sha256", digest))
        user_id = pseudonymous_id(phone, country_code, key=id_key)
        if user_id is not None and user_id != phone:
            keys.add(("user_id", user_id))
    return sorted(keys)


def _request_tokens(request: ErasureRequest, settings: Settings) -> list[str]:
    """Mask tokens (``<phone:xxxxxxxx>``) the request's phones get in quarantined lines:
    the tokens masking gives the number as typed (its digits when it is not a valid
    number), and the token of its E.164 form under the configured country code."""
    from dmp.privacy import normalize_phone, sha256_hex
    from dmp.privacy.masking import phone_tokens

    code = settings.ingest.default_country_code
    tokens: set[str] = set()
    for phone in request.phones:
        tokens |= phone_tokens(phone)
        for rule_code in sorted({code, "1"}):
            if digest := sha256_hex(normalize_phone(phone, "e164", rule_code)):
                tokens.add(f"<phone:{digest[:8]}>")
    return sorted(tokens)


def _resolve(
    spark: SparkSession, run: Run, keys: Sequence[tuple[str, str]]
) -> tuple[list[str], list[tuple[str, str]], dict[str, Any]]:
    """Persons, every identifier to forget, and what bronze says about them.

    Persons come from the identity map. Keys the identity map does not know yet (ingested,
    identity not run) are looked up in bronze: the identifiers on the events carrying them
    are the person's too. Keys the identity map knows are not expanded through bronze, where
    a shared cookie would drag in other people.
    """
    from dmp.tables import EVENTS_TABLE, IDENTITY_MAP_TABLE

    wanted = spark.createDataFrame(list(keys), "id_type string, id_value string")
    persons: list[str] = []
    identifiers: set[tuple[str, str]] = set()
    known: set[tuple[str, str]] = set()
    if run.lake.exists(IDENTITY_MAP_TABLE):
        identity_map = run.read(spark, IDENTITY_MAP_TABLE).select(
            "id_type", "id_value", "person_id"
        )
        matched = identity_map.join(wanted, ["id_type", "id_value"]).collect()  # request-sized
        known = {(r["id_type"], r["id_value"]) for r in matched}
        persons = sorted({r["person_id"] for r in matched})
        held = identity_map.filter(F.col("person_id").isin(persons)).select("id_type", "id_value")
        identifiers = {(r["id_type"], r["id_value"]) for r in held.collect()}  # one person's
    detail: dict[str, Any] = {"landing_files": [], "quarantine_tokens": []}
    if not run.lake.exists(EVENTS_TABLE):
        return persons, sorted(identifiers), detail
    events = run.read(spark, EVENTS_TABLE)
    unknown = [key for key in keys if key not in known]
    if unknown and (predicate := _events_predicate(unknown)):
        stacked = F.array(
            *[
                F.struct(F.lit(id_type).alias("id_type"), F.col(column).alias("id_value"))
                for id_type, columns in _EVENT_COLUMNS.items()
                for column in columns
            ]
        )
        found = (
            events.filter(predicate)
            .select(F.explode(stacked).alias("k"))
            .select("k.id_type", "k.id_value")
            .filter(F.col("id_value").isNotNull())
            .distinct()
            .collect()
        )  # the identifiers of a handful of people's events
        identifiers |= {(r["id_type"], r["id_value"]) for r in found}
    identifiers |= {key for key in keys if key in known}
    if identifiers and (predicate := _events_predicate(sorted(identifiers))):
        seen = (
            events.filter(predicate)
            .agg(
                F.collect_set("source_file").alias("files"),
                F.collect_set("phone_sha256_e164").alias("phones"),
            )
            .first()
        )
        if seen is not None:
            detail["landing_files"] = sorted(seen["files"] or [])
            detail["quarantine_tokens"] = sorted(f"<phone:{p[:8]}>" for p in seen["phones"] or [])
    return persons, sorted(identifiers), detail


def _complete(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    journal: ErasureJournal,
    item: JournaledRequest,
    before_step: Step | None,
) -> None:
    """Run the steps of ``item`` the journal does not mark done, each marked when done."""
    lake = run.lake
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("suppress", lambda: _suppress(run, item)),
        ("exports", lambda: {"exports": _exports_with(spark, run, item.persons, settings)}),
        ("models", lambda: _flag_models(spark, settings, run, item)),
        ("bronze", lambda: _erase_bronze(spark, run, item)),
    ]
    for table, columns in _PERSON_TABLES.items():
        steps.append((f"delete {table}", _person_step(lake, table, columns, item.persons)))
    for keyed in IDENTIFIER_TABLES:
        steps.append((f"delete {keyed.name}", _identifier_step(lake, keyed.name, item)))
    steps.append(("vacuum", lambda: _vacuum(spark, settings, lake)))
    for name, action in steps:
        if name in item.done:
            continue
        if before_step is not None:
            before_step(name)
        commit_point("erase.before", name)
        detail = action()
        # Done but not yet journaled: the re-run repeats the step, which must be harmless.
        commit_point("erase.done", name)
        journal.mark(item, name, detail)
    journal.mark(item, FINISHED, {})


def _flag_models(
    spark: SparkSession, settings: Settings, run: Run, item: JournaledRequest
) -> dict[str, Any]:
    """Tag the lookalike models that may have been trained on the persons (MLflow)."""
    from dmp.lookalike.tracking import flag_builds_trained_on, tracking_exists
    from dmp.tables import AUDIENCES_TABLE, SEGMENTS_TABLE

    if not item.persons or not tracking_exists(settings):
        return {"models": []}
    run_ids: set[str] = set()
    if run.lake.exists(AUDIENCES_TABLE):
        rows = (
            run.read(spark, AUDIENCES_TABLE)
            .filter(F.col("person_id").isin(item.persons) & F.col("run_id").isNotNull())
            .select("run_id")
            .distinct()
            .collect()
        )  # one row per build
        run_ids = {r["run_id"] for r in rows}
    segments: set[tuple[str, str]] = set()
    if run.lake.exists(SEGMENTS_TABLE):
        rows = (
            run.read(spark, SEGMENTS_TABLE)
            .filter(F.col("person_id").isin(item.persons))
            .select("segment", "as_of")
            .distinct()
            .collect()
        )  # the persons' segment memberships
        segments = {(r["segment"], str(r["as_of"])) for r in rows}
    if not run_ids and not segments:
        return {"models": []}
    flagged = flag_builds_trained_on(
        settings, run_ids=run_ids, seed_segments=segments, note=f"request {item.request_id}"
    )
    return {"models": flagged}


def _suppress(run: Run, item: JournaledRequest) -> dict[str, Any]:
    from dmp.export.suppression import add_to_suppression

    # person_id too: until every table is clean, profiles still hold the person's user ids
    # although the identity map no longer links them.
    entries = [*item.identifiers, *(("person_id", p) for p in item.persons)]
    added = add_to_suppression(run, entries, reason="erased", note=f"request {item.request_id}")
    return {"suppressed": added}


def _person_step(
    lake: Lake, table: str, columns: Sequence[str], persons: Sequence[str]
) -> Callable[[], dict[str, Any]]:
    def step() -> dict[str, Any]:
        if not persons or not lake.exists(table):
            return {"deleted": 0}
        owned = [c for c in columns if c not in _LINK_COLUMNS.get(table, ())]
        predicate = " OR ".join(f"{c} IN ({_quoted(persons)})" for c in owned)
        deleted = lake.delete(table, predicate, metadata={"dmp.job": "erase"})
        cleared = 0
        for column in _LINK_COLUMNS.get(table, ()):
            # A link to the person (who referred whom) is cleared, the row is someone else's.
            cleared += lake.update(
                table,
                f"{column} IN ({_quoted(persons)})",
                {column: "NULL"},
                metadata={"dmp.job": "erase"},
            )
        return {"deleted": deleted, "cleared": cleared}

    return step


def _identifier_step(
    lake: Lake, table: str, item: JournaledRequest
) -> Callable[[], dict[str, Any]]:
    """Delete the request's identifiers (``id_type, id_value``) from ``table``."""

    def step() -> dict[str, Any]:
        if not item.identifiers or not lake.exists(table):
            return {"deleted": 0}
        by_type: dict[str, list[str]] = {}
        for id_type, id_value in item.identifiers:
            by_type.setdefault(id_type, []).append(id_value)
        predicate = " OR ".join(
            f"(id_type = {_quote(t)} AND id_value IN ({_quoted(values)}))"
            for t, values in sorted(by_type.items())
        )
        return {"deleted": lake.delete(table, predicate, metadata={"dmp.job": "erase"})}

    return step


def _vacuum(spark: SparkSession, settings: Settings, lake: Lake) -> dict[str, Any]:
    """Drop every unreferenced file and the history of every table that held the person.

    ``full`` also removes Parquet files no commit ever referenced (killed writes), which may
    hold the person's rows; Spark checkpoints of earlier sessions under ``work/`` go too.
    """
    from dmp.tables import EVENTS_TABLE, QUARANTINE_TABLE

    files = 0
    for table in (
        EVENTS_TABLE,
        QUARANTINE_TABLE,
        *_PERSON_TABLES,
        *(t.name for t in IDENTIFIER_TABLES),
    ):
        if lake.exists(table):
            files += len(lake.vacuum(table, retention_hours=0, enforce_retention=False, full=True))
            lake.purge_history(table)
    return {"vacuumed_files": files, "checkpoints_removed": _clean_checkpoints(spark, settings)}


def _clean_checkpoints(spark: SparkSession, settings: Settings) -> int:
    """Remove checkpoint folders of other (finished or killed) Spark sessions."""
    import shutil

    folder = settings.work_dir / "checkpoints"
    if not folder.is_dir():
        return 0
    active = spark.sparkContext.getCheckpointDir() or ""
    removed = 0
    for child in folder.iterdir():
        if child.is_dir() and child.name not in active:
            shutil.rmtree(child, ignore_errors=True)
            removed += 1
    return removed


def _add_up(result: ErasureResult, item: JournaledRequest) -> None:
    """Fold a completed request's journal into the result (also for resumed requests)."""
    result.persons = sorted({*result.persons, *item.persons})
    result.identifiers += len(item.identifiers)
    result.suppressed += int(item.done.get("suppress", {}).get("suppressed", 0))
    for name, detail in item.done.items():
        table = name.removeprefix("delete ")
        if name.startswith("delete ") and (detail.get("deleted") or detail.get("cleared")):
            result.deleted_rows[table] = result.deleted_rows.get(table, 0) + detail["deleted"]
            if detail.get("cleared"):
                result.links_cleared[table] = detail["cleared"]
    for table, rows in item.done.get("bronze", {}).get("deleted", {}).items():
        result.deleted_rows[table] = result.deleted_rows.get(table, 0) + rows
    result.vacuumed_files += int(item.done.get("vacuum", {}).get("vacuumed_files", 0))
    result.exports_to_reissue = sorted(
        {*result.exports_to_reissue, *item.done.get("exports", {}).get("exports", [])}
    )
    result.landing_files = sorted({*result.landing_files, *item.detail.get("landing_files", [])})
    result.models_flagged = sorted(
        {*result.models_flagged, *item.done.get("models", {}).get("models", [])}
    )
    result.requests.append(item.request_id)


def _events_predicate(identifiers: Sequence[tuple[str, str]]) -> str:
    """SQL predicate on bronze/events for rows carrying any of ``identifiers``."""
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
    return " OR ".join(clauses)


def _erase_bronze(spark: SparkSession, run: Run, item: JournaledRequest) -> dict[str, Any]:
    """Quarantined lines of the person first (they are found through events), then events."""
    from dmp.tables import EVENTS_TABLE, QUARANTINE_TABLE

    deleted: dict[str, int] = {}
    predicate = _events_predicate(item.identifiers)
    if not predicate:
        return {"deleted": deleted}
    events_exist = run.lake.exists(EVENTS_TABLE)
    if run.lake.exists(QUARANTINE_TABLE):
        quarantine = run.read(spark, QUARANTINE_TABLE)
        matches = _quarantine_match(item)
        if events_exist:
            ids = run.read(spark, EVENTS_TABLE).filter(predicate).select("message_id").distinct()
            ids = ids.withColumn("_event", F.lit(True))
            quarantine = quarantine.join(ids, "message_id", "left")
            matches = matches | F.col("_event").isNotNull()
        lines = (
            quarantine.filter(matches).select("source_file", "source_line").distinct().collect()
        )  # the quarantined lines of a handful of people
        if lines:
            keys = " OR ".join(
                f"(source_file = {_quote(r['source_file'])} "
                f"AND source_line = {int(r['source_line'])})"
                for r in lines
            )
            deleted[QUARANTINE_TABLE] = run.lake.delete(
                QUARANTINE_TABLE, keys, metadata={"dmp.job": "erase"}
            )
    if events_exist:
        deleted[EVENTS_TABLE] = run.lake.delete(
            EVENTS_TABLE, predicate, metadata={"dmp.job": "erase"}
        )
    return {"deleted": deleted}


def _quarantined(
    spark: SparkSession, run: Run, keys: Sequence[tuple[str, str]], tokens: Sequence[str]
) -> bool:
    """Whether any quarantined line names one of ``keys`` (or carries one of ``tokens``)."""
    from dmp.tables import QUARANTINE_TABLE

    if not run.lake.exists(QUARANTINE_TABLE):
        return False
    matches = _quarantine_condition(keys, tokens)
    return not run.read(spark, QUARANTINE_TABLE).filter(matches).isEmpty()


def _quarantine_match(item: JournaledRequest) -> Column:
    """Quarantined raw lines naming one of the person's identifiers (see
    :func:`_quarantine_condition`)."""
    return _quarantine_condition(item.identifiers, item.detail.get("quarantine_tokens", []))


def _quarantine_condition(identifiers: Sequence[tuple[str, str]], tokens: Sequence[str]) -> Column:
    """Quarantined raw lines naming one of ``identifiers`` or carrying one of ``tokens``.

    Lines are masked: e-mails and phones appear as ``<email:xxxxxxxx>`` tokens (the first 8
    hex of their hash); other ids appear in clear and must match a whole field, a JSON id
    value or a delimited CSV field, so erasing id ``42`` leaves ``u-421`` and
    ``"quantity":42`` alone.
    """
    wanted = [f"<email:{v[:8]}>" for t, v in identifiers if t == "email_sha256"]
    wanted += tokens
    condition = F.lit(False)
    for token in sorted(set(wanted)):
        condition = condition | (F.instr(F.col("raw_masked"), token) > 0)
    for id_type, value in identifiers:
        if id_type in ("email_sha256", "phone_sha256"):
            continue
        if id_type == "partner_uid":
            value = value.partition(":")[2]
        condition = condition | F.col("raw_masked").rlike(whole_field_pattern(value))
    return condition


def whole_field_pattern(value: str) -> str:
    """Java regex matching ``value`` as a whole JSON id value or a whole delimited field."""
    quoted = "\\Q" + value.replace("\\E", "\\E\\\\E\\Q") + "\\E"
    json_id = f'(?i:"{_ID_KEYS}"\\s*:\\s*)(?:"{quoted}"|{quoted}(?![0-9A-Za-z_.\\-]))'
    field = f'(?:^|[,;\\t|])"?{quoted}"?(?=[,;\\t|]|$)'
    return f"{json_id}|{field}"


def _exports_with(
    spark: SparkSession, run: Run, persons: Sequence[str], settings: Settings
) -> list[str]:
    from dmp.tables import MEMBERS_TABLE

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
