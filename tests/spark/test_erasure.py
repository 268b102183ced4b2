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
from dmp.erasure.stage import ErasureRequest, erase, request_keys
from dmp.errors import UserError
from dmp.export.suppression import suppressed_people
from dmp.lake import Lake
from dmp.privacy import hmac_sha256_hex, mask_pii, normalize_email, sha256_hex
from dmp.runlog import Run
from dmp.tables import JOURNAL_TABLE
from tests.privacy_key import TEST_ID_KEY

CONF = Path(__file__).parents[2] / "conf"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
ALICE_EMAIL = "alice@example.com"
ALICE_HASH = sha256_hex(normalize_email(ALICE_EMAIL, "basic"))
LOGIN_HASH = sha256_hex(normalize_email("login.carol@example.com", "basic"))
LOGIN_ID = "email-hmac:" + str(hmac_sha256_hex("login.carol@example.com", TEST_ID_KEY))

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


def _settings(home: Path) -> Settings:
    return load_config(home=home, conf_dir=CONF, environ={})


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
    # Tables added after erasure was written: the catalogue, not a list in erasure, names them.
    lake.write_arrow(
        pa.table(
            {
                "segment": ["funnel_checkout_dropoff_1"] * 2,
                "person_id": ["p-a", "p-b"],
                "as_of": [date(2026, 3, 2)] * 2,
            }
        ),
        "gold/funnel_segments",
        partition_by=["as_of"],
    )
    lake.write_arrow(
        pa.table(
            {
                "list": ["vip", "vip", "vip"],
                "id_type": ["email_sha256", "user_id", "user_id"],
                "id_value": [ALICE_HASH, "u-bob", "u-alice-lookalike"],
            }
        ),
        "gold/lists",
        partition_by=["list"],
    )
    events = [
        _event("a1", user_id="u-alice", anonymous_id="cookie-alice", email_sha256=ALICE_HASH),
        _event("a2", anonymous_id="cookie-alice"),
        _event("b1", user_id="u-bob"),
        _event("f1", user_id="42"),
        _event("g1", user_id="421"),
        _event("d1", user_id="u-dora", anonymous_id="cookie-dora"),
        _event("d2", anonymous_id="cookie-dora"),
        _event("c1", user_id=LOGIN_ID),
    ]
    lake.write_arrow(pa.Table.from_pylist(events, schema=_EVENT_SCHEMA), "bronze/events")
    # A valid UK mobile number: Ofcom's drama range (07700 900xxx) is not valid to
    # libphonenumber, so such a number is neither hashed nor given a normalised token.
    uk_phone = _mask('{"traits":{"phone":"+44 7911 123456"}}')
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


# One request naming everyone the tests check: Alice (e-mail), user 42, bronze-only Dora,
# Carol (her e-mail was her login id), and a UK phone in quarantine.
REQUEST = ErasureRequest(
    emails=[ALICE_EMAIL, "Login.Carol@example.com"],
    phones=["07911 123456"],
    user_ids=["42", "u-dora"],
)


def _uk_settings(home: Path) -> Settings:
    plain = _settings(home)
    ingest = plain.ingest.model_copy(update={"default_country_code": "44"})
    return plain.model_copy(update={"ingest": ingest})


@pytest.fixture(scope="module")
def erased(spark, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Lake, Any]:
    """The tiny lake after one uninterrupted erasure of ``REQUEST``."""
    settings = _uk_settings(tmp_path_factory.mktemp("erased"))
    lake = _build(settings)
    orphan = lake.path("silver/profiles") / "part-killed-write.parquet"
    shutil.copy(next(lake.path("gold/segments").glob("*.parquet")), orphan)
    stale = settings.work_dir / "checkpoints" / "dead-session"
    stale.mkdir(parents=True)
    (stale / "rdd-1").write_text("p-a")
    result = erase(spark, settings, _run(lake), REQUEST)
    return settings, lake, result


def _run(lake: Lake) -> Run:
    return Run("erase", lake)


def _rows(lake: Lake, table: str) -> list[dict[str, Any]]:
    data = lake.read_arrow(table).to_pylist()
    return sorted(data, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def test_erasing_a_referrer_keeps_the_referred_profiles(erased) -> None:
    lake, result = erased[1], erased[2]
    assert result.persons == ["p-42", "p-a"]
    profiles = _rows(lake, "silver/profiles")
    assert {(r["person_id"], str(r["as_of"])) for r in profiles} == {
        ("p-b", "2026-03-01"), ("p-b", "2026-03-02"),
    }  # fmt: skip
    assert {r["referred_by"] for r in profiles} == {None}  # Bob's referrer is gone
    assert result.links_cleared == {"silver/profiles": 2}
    assert result.deleted_rows["silver/profiles"] == 4


def test_funnel_audiences_and_uploaded_lists_lose_the_person(erased) -> None:
    lake, result = erased[1], erased[2]
    assert [r["person_id"] for r in _rows(lake, "gold/funnel_segments")] == ["p-b"]
    assert {r["id_value"] for r in _rows(lake, "gold/lists")} == {"u-bob", "u-alice-lookalike"}
    assert result.deleted_rows["gold/funnel_segments"] == 1
    assert result.deleted_rows["gold/lists"] == 1


def test_bronze_only_and_email_login_people_are_erased(erased) -> None:
    lake, result = erased[1], erased[2]
    # Dora was never resolved by identity (d2 goes through her cookie); Carol's login id was
    # her e-mail, stored as email-hmac:<keyed hash>
    assert {r["message_id"] for r in _rows(lake, "bronze/events")} == {"b1", "g1"}
    assert result.deleted_rows["bronze/events"] == 6


def test_an_email_given_as_user_id_is_looked_up_both_ways() -> None:
    keys = request_keys(ErasureRequest(user_ids=[" Login.Carol@example.com"]), "1", TEST_ID_KEY)
    assert keys == [("email_sha256", LOGIN_HASH), ("user_id", LOGIN_ID)]
    assert request_keys(ErasureRequest(user_ids=["42"]), "1", TEST_ID_KEY) == [("user_id", "42")]
    named = request_keys(
        ErasureRequest(user_ids=["Carol <login.carol@example.com>;"]), "1", TEST_ID_KEY
    )
    assert named == keys


def test_a_phone_given_as_user_id_or_phone_names_the_phone_user_id() -> None:
    user_id = ("user_id", "phone-hmac:" + str(hmac_sha256_hex("+14155550132", TEST_ID_KEY)))
    phone = ("phone_sha256", str(sha256_hex("14155550132")))
    by_id = request_keys(ErasureRequest(user_ids=["tel:+1 415 555 0132"]), "1", TEST_ID_KEY)
    by_phone = request_keys(ErasureRequest(phones=["(415) 555-0132"]), "1", TEST_ID_KEY)
    assert by_id == by_phone == sorted([phone, user_id])


def test_quarantine_lines_match_whole_ids_and_the_configured_phone_country(erased) -> None:
    lake = erased[1]
    # 2 and 3 hold 421 and "quantity":42 (other people); the rest are the request's
    assert {r["source_line"] for r in _rows(lake, "bronze/quarantine")} == {2, 3}


def test_orphan_files_and_old_checkpoints_are_removed(erased) -> None:
    settings, lake, _result = erased
    assert not (lake.path("silver/profiles") / "part-killed-write.parquet").exists()
    assert not (settings.work_dir / "checkpoints" / "dead-session").exists()


def test_an_interrupted_erasure_is_completed_by_a_rerun(spark, erased, tmp_path: Path) -> None:
    plain = erased[1]
    settings = _uk_settings(tmp_path / "broken")
    lake = _build(settings)

    def killed_at(name: str) -> Any:
        def hook(step: str) -> None:
            if step == name:
                raise RuntimeError(f"killed before {step}")

        return hook

    # killed just after the identity_map delete
    with pytest.raises(RuntimeError, match="killed"):
        erase(
            spark,
            settings,
            _run(lake),
            REQUEST,
            before_step=killed_at("delete silver/identity_changes"),
        )
    assert {r["person_id"] for r in _rows(lake, "silver/identity_map")} == {"p-b"}
    # the person is still suppressed although the identity map forgot them
    held = {r["person_id"] for r in suppressed_people(spark, _run(lake)).collect()}
    assert {"p-a", "p-42"} <= held
    # `dmp erase --resume`, killed again before the vacuum
    with pytest.raises(RuntimeError, match="killed"):
        erase(spark, settings, _run(lake), ErasureRequest(), before_step=killed_at("vacuum"))
    # a re-run with the same identifiers completes it
    resumed = erase(spark, settings, _run(lake), REQUEST)
    assert resumed.persons == ["p-42", "p-a"]
    assert resumed.deleted_rows["silver/identity_map"] == 4
    for table in ("bronze/events", "bronze/quarantine", "silver/identity_map",
                  "silver/profiles", "gold/segments"):  # fmt: skip
        assert _rows(lake, table) == _rows(plain, table), table
    assert not any(lake.path("silver/profiles").glob("part-killed-write*"))
    journal = lake.read_arrow(JOURNAL_TABLE).to_pylist()
    steps = [r["step"] for r in journal]
    assert steps.count("finished") == 1 and steps.count("resolved") == 1
    assert ALICE_EMAIL not in json.dumps(journal, default=str)
    # nothing is pending any more
    with pytest.raises(UserError, match="no interrupted erasure"):
        erase(spark, settings, _run(lake), ErasureRequest())


def test_unknown_identifiers_are_a_user_error(spark, erased) -> None:
    settings, lake, _result = erased
    with pytest.raises(UserError, match="none of the given identifiers"):
        erase(spark, settings, _run(lake), ErasureRequest(user_ids=["nobody"]))


def _mask(text: str) -> str:
    masked = mask_pii(text)
    assert masked is not None and masked != text
    return masked


def test_a_person_only_in_quarantined_lines_is_erased_there(spark, tmp_path: Path) -> None:
    # u-7 and the UK phone never reached bronze/events or the identity map: their only
    # traces are quarantined lines 3 and 7. Before, this was "none ... is known" (exit 2).
    settings = _uk_settings(tmp_path)
    lake = _build(settings)
    events_before = _rows(lake, "bronze/events")
    result = erase(
        spark, settings, _run(lake), ErasureRequest(user_ids=["u-7"], phones=["07911 123456"])
    )
    assert result.persons == []
    assert result.deleted_rows == {"bronze/quarantine": 2, "bronze/events": 0}
    assert {r["source_line"] for r in _rows(lake, "bronze/quarantine")} == {1, 2, 4, 5, 6}
    assert _rows(lake, "bronze/events") == events_before
    assert {r["person_id"] for r in _rows(lake, "silver/identity_map")} == {"p-a", "p-b", "p-42"}
    held = {(r["id_type"], r["id_value"]) for r in _rows(lake, "ops/suppression")}
    assert ("user_id", "u-7") in held
    journal = lake.read_arrow(JOURNAL_TABLE).to_pylist()
    assert [r["step"] for r in journal].count("finished") == 1
    assert "07911" not in json.dumps(journal, default=str)
