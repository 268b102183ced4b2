"""Erasure on a tiny hand-built lake: links, interrupted runs, bronze-only people, quarantine."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dmp.config import Settings, load_config
from dmp.errors import UserError
from dmp.export.suppression import suppressed_people
from dmp.lake import Lake
from dmp.privacy import mask_pii, normalize_email, normalize_phone, sha256_hex
from dmp.privacy.erasure import ErasureRequest, erase
from dmp.privacy.erasure_journal import JOURNAL_TABLE
from dmp.runlog import Run

CONF = Path(__file__).parents[2] / "conf"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
ALICE_EMAIL = "alice@example.com"
ALICE_HASH = sha256_hex(normalize_email(ALICE_EMAIL, "basic"))
LOGIN_HASH = sha256_hex(normalize_email("login.carol@example.com", "basic"))

_EVENT_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("source", pa.string()),
        ("source_file", pa.string()),
        ("event_time", pa.timestamp("us", tz="UTC")),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("previous_id", pa.string()),
        ("device_id", pa.string()),
        ("advertising_id", pa.string()),
        ("email_sha256", pa.string()),
        ("phone_sha256", pa.string()),
        ("phone_sha256_e164", pa.string()),
        ("partner_uid", pa.string()),
    ]
)


def _event(message_id: str, **ids: str | None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(_EVENT_SCHEMA.names)
    row.update(message_id=message_id, source="first_party", event_time=T0)
    row["source_file"] = f"landing/first_party/dt=2026-03-01/{message_id[:1]}.jsonl"
    row.update(ids)
    return row


def _settings(home: Path, **environ: str) -> Settings:
    return load_config(home=home, conf_dir=CONF, environ=environ)


def _build(settings: Settings) -> Lake:
    """Alice (p-a, referred Bob), Bob (p-b), user 42 and 421, a bronze-only Dora, Carol."""
    lake = Lake(settings.lake_dir)
    lake.write_arrow(
        pa.table(
            {
                "id_type": ["user_id", "email_sha256", "anonymous_id", "user_id", "user_id"],
                "id_value": ["u-alice", ALICE_HASH, "cookie-alice", "u-bob", "42"],
                "person_id": ["p-a", "p-a", "p-a", "p-b", "p-42"],
            }
        ),
        "silver/identity_map",
    )
    profiles = []
    for day in (date(2026, 3, 1), date(2026, 3, 2)):
        profiles += [
            {"person_id": "p-a", "as_of": day, "referred_by": None, "user_ids": ["u-alice"]},
            {"person_id": "p-b", "as_of": day, "referred_by": "p-a", "user_ids": ["u-bob"]},
            {"person_id": "p-42", "as_of": day, "referred_by": "p-b", "user_ids": ["42"]},
        ]
    lake.write_arrow(pa.Table.from_pylist(profiles), "silver/profiles", partition_by=["as_of"])
    lake.write_arrow(
        pa.table(
            {
                "segment": ["all"] * 3,
                "person_id": ["p-a", "p-b", "p-42"],
                "as_of": [date(2026, 3, 2)] * 3,
            }
        ),
        "gold/segments",
    )
    events = [
        _event("a1", user_id="u-alice", anonymous_id="cookie-alice", email_sha256=ALICE_HASH),
        _event("a2", anonymous_id="cookie-alice"),
        _event("b1", user_id="u-bob"),
        _event("f1", user_id="42"),
        _event("g1", user_id="421"),
        _event("d1", user_id="u-dora", anonymous_id="cookie-dora"),
        _event("d2", anonymous_id="cookie-dora"),
        _event("c1", user_id="email-sha256:" + LOGIN_HASH),
    ]
    lake.write_arrow(pa.Table.from_pylist(events, schema=_EVENT_SCHEMA), "bronze/events")
    uk_phone = _mask('{"traits":{"phone":"+44 7700 900123"}}')
    lines = [
        ('{"userId":"42","event":"Order Completed"', None),  # user 42: goes
        ('{"userId":"421","properties":{"quantity":42}}', None),  # another person: stays
        ('{"userId":"u-7","properties":{"quantity":42}}', None),  # stays
        ("partner-x,42,2026-03-01", None),  # partner CSV with id 42: goes
        ('{"messageId":"a2","broken', "a2"),  # Alice's event id: goes
        (_mask('{"traits":{"email":"alice@example.com"}'), None),  # goes
        (uk_phone, None),  # the UK phone of the request: goes
    ]
    quarantine = [
        {
            "source_file": "landing/q.jsonl",
            "source_line": number,
            "message_id": message_id,
            "reason": "malformed_json",
            "raw_masked": raw,
        }
        for number, (raw, message_id) in enumerate(lines, start=1)
    ]
    lake.write_arrow(pa.Table.from_pylist(quarantine), "bronze/quarantine")
    return lake


@pytest.fixture
def lake_settings(tmp_path: Path) -> tuple[Settings, Lake]:
    settings = _settings(tmp_path / "home")
    return settings, _build(settings)


def _run(lake: Lake) -> Run:
    return Run("erase", lake)


def _rows(lake: Lake, table: str) -> list[dict[str, Any]]:
    data = lake.read_arrow(table).to_pylist()
    return sorted(data, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def test_erasing_a_referrer_keeps_the_referred_profiles(spark, lake_settings) -> None:
    settings, lake = lake_settings
    result = erase(spark, settings, _run(lake), ErasureRequest(emails=[ALICE_EMAIL]))
    assert result.persons == ["p-a"]
    profiles = _rows(lake, "silver/profiles")
    assert {(r["person_id"], str(r["as_of"])) for r in profiles} == {
        (p, d) for p in ("p-b", "p-42") for d in ("2026-03-01", "2026-03-02")
    }
    assert {r["person_id"]: r["referred_by"] for r in profiles} == {"p-b": None, "p-42": "p-b"}
    assert result.links_cleared == {"silver/profiles": 2}
    assert result.deleted_rows["silver/profiles"] == 2
    assert {r["message_id"] for r in _rows(lake, "bronze/events")} == {
        "b1", "f1", "g1", "d1", "d2", "c1",
    }  # fmt: skip


def test_an_interrupted_erasure_is_completed_by_a_rerun(spark, tmp_path: Path) -> None:
    plain = _settings(tmp_path / "plain")
    broken = _settings(tmp_path / "broken")
    lakes = {"plain": _build(plain), "broken": _build(broken)}
    request = ErasureRequest(user_ids=["u-alice"])
    erase(spark, plain, _run(lakes["plain"]), request)

    def killed(step: str) -> None:
        if step == "delete silver/identity_changes":  # just after the identity_map delete
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        erase(spark, broken, _run(lakes["broken"]), request, before_step=killed)
    assert all(r["person_id"] != "p-a" for r in _rows(lakes["broken"], "silver/identity_map"))
    # the person is still suppressed although the identity map forgot them
    run = _run(lakes["broken"])
    held = {r["person_id"] for r in suppressed_people(spark, run).collect()}
    assert "p-a" in held
    resumed = erase(spark, broken, _run(lakes["broken"]), request)
    assert resumed.persons == ["p-a"]
    assert resumed.deleted_rows["silver/identity_map"] == 3
    for table in ("bronze/events", "bronze/quarantine", "silver/identity_map",
                  "silver/profiles", "gold/segments"):  # fmt: skip
        assert _rows(lakes["broken"], table) == _rows(lakes["plain"], table), table
    # nothing pending any more: a further --resume has nothing to do
    with pytest.raises(UserError, match="no interrupted erasure"):
        erase(spark, broken, _run(lakes["broken"]), ErasureRequest())
    steps = [r["step"] for r in lakes["broken"].read_arrow(JOURNAL_TABLE).to_pylist()]
    assert steps.count("finished") == 1 and steps.count("resolved") == 1
    journal = json.dumps(lakes["broken"].read_arrow(JOURNAL_TABLE).to_pylist(), default=str)
    assert ALICE_EMAIL not in journal


def test_resume_alone_completes_a_pending_request(spark, lake_settings) -> None:
    settings, lake = lake_settings

    def killed(step: str) -> None:
        if step == "bronze":
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        erase(spark, settings, _run(lake), ErasureRequest(user_ids=["u-bob"]), before_step=killed)
    result = erase(spark, settings, _run(lake), ErasureRequest())
    assert result.persons == ["p-b"] and result.deleted_rows["bronze/events"] == 1


def test_a_person_only_in_bronze_can_be_erased(spark, lake_settings) -> None:
    settings, lake = lake_settings
    result = erase(spark, settings, _run(lake), ErasureRequest(user_ids=["u-dora"]))
    assert result.persons == []
    assert result.deleted_rows["bronze/events"] == 2  # d2 through Dora's cookie
    assert "u-dora" not in {r["user_id"] for r in _rows(lake, "bronze/events")}


@pytest.mark.parametrize(
    "request_",
    [
        ErasureRequest(emails=["Login.Carol@example.com"]),
        ErasureRequest(user_ids=["login.carol@example.com"]),
    ],
)
def test_an_email_used_as_login_id_can_be_erased(spark, lake_settings, request_) -> None:
    settings, lake = lake_settings
    result = erase(spark, settings, _run(lake), request_)
    assert result.deleted_rows["bronze/events"] == 1
    assert "c1" not in {r["message_id"] for r in _rows(lake, "bronze/events")}


def test_quarantine_lines_match_whole_ids_only(spark, lake_settings) -> None:
    settings, lake = lake_settings
    erase(spark, settings, _run(lake), ErasureRequest(user_ids=["42"]))
    left = {r["source_line"] for r in _rows(lake, "bronze/quarantine")}
    assert left == {2, 3, 5, 6, 7}
    assert "g1" in {r["message_id"] for r in _rows(lake, "bronze/events")}


def test_quarantine_phone_tokens_use_the_configured_country(spark, tmp_path: Path) -> None:
    settings = _settings(tmp_path / "uk", DMP__INGEST__DEFAULT_COUNTRY_CODE="44")
    lake = _build(settings)
    phone_hash = sha256_hex(normalize_phone("07700 900123", "meta", "44"))
    lake.write_arrow(
        pa.table({"id_type": ["phone_sha256"], "id_value": [phone_hash], "person_id": ["p-uk"]}),
        "silver/identity_map",
    )
    erase(spark, settings, _run(lake), ErasureRequest(phones=["07700 900123"]))
    assert 7 not in {r["source_line"] for r in _rows(lake, "bronze/quarantine")}


def test_unknown_identifiers_are_a_user_error(spark, lake_settings) -> None:
    settings, lake = lake_settings
    with pytest.raises(UserError, match="none of the given identifiers"):
        erase(spark, settings, _run(lake), ErasureRequest(user_ids=["nobody"]))


def test_orphan_parquet_files_are_removed(spark, lake_settings) -> None:
    settings, lake = lake_settings
    orphan = lake.path("silver/profiles") / "part-killed-write.parquet"
    shutil.copy(next(lake.path("gold/segments").glob("*.parquet")), orphan)
    stale = settings.work_dir / "checkpoints" / "dead-session"
    stale.mkdir(parents=True)
    (stale / "rdd-1").write_text("p-a")
    erase(spark, settings, _run(lake), ErasureRequest(user_ids=["u-alice"]))
    assert not orphan.exists() and not stale.exists()


def _mask(text: str) -> str:
    masked = mask_pii(text)
    assert masked is not None and masked != text
    return masked
