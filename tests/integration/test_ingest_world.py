"""Ingestion of a generated world, checked against its planted truth."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
from pyspark.sql import functions as F

from dmp.driver import run_stage
from dmp.generate import WorldSpec
from dmp.ingest.entry import INGEST, IngestRequest
from dmp.lake import Lake
from tests.integration.conftest import World, build_world
from tests.integration.pii_scan import input_secrets, scan_files, scan_lake


def truth(world: World, name: str) -> list[dict[str, Any]]:
    return ds.dataset(world.truth / name).to_table().to_pylist()


def test_every_planted_bad_record_is_quarantined_with_its_reason(spark, world: World) -> None:
    lake = Lake(world.settings.lake_dir)
    quarantine = {
        (r["source_file"], r["source_line"]): r["reason"]
        for r in lake.read(spark, "bronze/quarantine")
        .select("source_file", "source_line", "reason")
        .collect()
    }
    planted = {
        (r["file"].removeprefix("landing/"), r["line"]): r["expected_reason"]
        for r in truth(world, "bad_records")
    }
    assert planted, "the world has no planted bad records"
    wrong = {k: (v, quarantine.get(k)) for k, v in planted.items() if quarantine.get(k) != v}
    assert wrong == {}
    assert set(quarantine) == set(planted)  # nothing good was quarantined


def test_every_good_record_is_in_bronze_exactly_once(spark, world: World) -> None:
    lake = Lake(world.settings.lake_dir)
    events = lake.read(spark, "bronze/events")
    first_party = events.filter(F.col("source") == "first_party")
    counts = first_party.groupBy("message_id").count()
    assert counts.filter("count > 1").count() == 0
    ingested = {r["message_id"] for r in first_party.select("message_id").collect()}
    expected = {r["message_id"] for r in truth(world, "events")}
    assert ingested == expected
    partner_rows = events.filter(F.col("source") != "first_party").count()
    assert partner_rows == len(truth(world, "partner_rows"))


def test_accounting_identity_holds_and_is_logged(world: World) -> None:
    result = world.ingest
    assert result.read == result.accepted + result.quarantined + result.duplicates
    manifest = json.loads((world.truth / "manifest.json").read_text())
    assert result.duplicates == manifest["counts"]["exact_duplicates"]
    assert result.quarantined == manifest["counts"]["bad_lines"] + manifest["counts"].get(
        "partner_bad_rows", 0
    )
    runs = [r for r in _runs(world) if r["job"] == "ingest"]
    assert runs[-1]["counts"]["read"] == result.read


def test_rerunning_is_a_no_op(spark, world: World) -> None:
    lake = Lake(world.settings.lake_dir)
    before = {t.name: t.version for t in lake.tables() if t.name.startswith("bronze/")}
    again = run_stage(INGEST, world.settings, IngestRequest(), spark=spark)
    assert again.read == 0
    after = {t.name: t.version for t in lake.tables() if t.name.startswith("bronze/")}
    assert after == before
    one_date = run_stage(
        INGEST, world.settings, IngestRequest(landing_date=date(2026, 1, 3)), spark=spark
    )
    assert one_date.read == 0


def test_no_plaintext_email_or_phone_anywhere(spark, world: World) -> None:
    secrets = input_secrets(world.truth)
    assert len(secrets) > 100
    assert scan_lake(spark, Lake(world.settings.lake_dir), secrets) == {}
    assert scan_files(world.settings.reports_dir, secrets) == []


def test_late_file_for_an_old_date_lands_in_its_partitions(spark, tmp_path: Path) -> None:
    late = build_world(spark, tmp_path, WorldSpec(users=60, days=3, seed=3, workers=1))
    lake = Lake(late.settings.lake_dir)
    before = lake.read(spark, "bronze/events").count()
    source = next((late.home / "landing/first_party/dt=2026-01-03").glob("events-*"))
    lines = _read_lines(source)[:25]
    renamed = []
    for line in lines:
        event = json.loads(line)
        event["messageId"] = "late-" + event["messageId"]
        event["timestamp"] = "2026-01-01T12:00:00.000Z"
        renamed.append(json.dumps(event))
    target = late.home / "landing/first_party/dt=2026-01-01/late-upload.jsonl"
    target.write_text("\n".join(renamed) + "\n")
    result = run_stage(INGEST, late.settings, IngestRequest(), spark=spark)
    assert (result.files, result.accepted) == (1, 25)
    events = lake.read(spark, "bronze/events")
    assert events.count() == before + 25
    landed = events.filter(F.col("message_id").startswith("late-"))
    assert {r["event_date"] for r in landed.select("event_date").distinct().collect()} == {
        date(2026, 1, 1)
    }
    # a copy of an already ingested file is all duplicates
    shutil.copy(source, source.with_name("copy-" + source.name))
    copy = run_stage(INGEST, late.settings, IngestRequest(), spark=spark)
    assert copy.accepted == 0 and copy.read == copy.duplicates + copy.quarantined


def test_a_second_partner_is_added_with_yaml_only(spark, tmp_path: Path) -> None:
    home = tmp_path / "home"
    conf = tmp_path / "conf"
    shutil.copytree(Path(__file__).parents[2] / "conf", conf)
    (conf / "partners" / "gamma_loyalty.yaml").write_text(
        "name: gamma_loyalty\n"
        'delimiter: "\\t"\n'
        "columns: [when, phone_hash, tags]\n"
        "identifiers: [{column: phone_hash, id_type: phone_sha256}]\n"
        "time: {column: when, format: iso8601}\n"
        "segments: {column: tags, separator: ','}\n"
        "taxonomy: {g1: loyal_shopper}\n"
    )
    folder = home / "landing/partners/gamma_loyalty/dt=2026-01-02"
    folder.mkdir(parents=True)
    digest = "a" * 64
    good = "".join(f"2026-01-02T10:{i:02d}:00+00:00\t{i:064x}\tg1\n" for i in range(1, 40))
    (folder / "gamma.tsv").write_text(
        "when\tphone_hash\ttags\n"
        f"2026-01-02T10:00:00+00:00\t{digest}\tg1,g9\n"
        f"{good}"
        f"2026-01-02T11:00:00+00:00\tnot-a-hash\tg1\n"
    )
    from dmp.config import load_config

    settings = load_config(home=home, conf_dir=conf, environ={})
    result = run_stage(INGEST, settings, IngestRequest(), spark=spark)
    assert (result.accepted, result.quarantined) == (40, 1)
    assert result.by_reason == {"invalid_identifier": 1}
    events = Lake(settings.lake_dir).read(spark, "bronze/events")
    row = events.filter(F.col("phone_sha256") == digest).first()
    assert row["source"] == "gamma_loyalty"
    assert row["partner_segments"] == ["gamma_loyalty:g9", "loyal_shopper"]


def _read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [line for line in handle.read().splitlines() if line.startswith('{"')][:200]


def _runs(world: World) -> list[dict[str, Any]]:
    from dmp.runlog import recent_runs

    return list(reversed(recent_runs(Lake(world.settings.lake_dir), limit=100)))


def test_the_pii_scan_finds_a_planted_leak(spark, tmp_path: Path) -> None:
    """The scan above must be able to fail: plant an e-mail and a phone and find both."""
    import pyarrow as pa

    lake = Lake(tmp_path / "lake")
    lake.write_arrow(pa.table({"note": ["write to Jane.Doe@example.com"]}), "silver/leaky")
    lake.write_arrow(pa.table({"note": ["call +1 (415) 555-0132 now"]}), "gold/leaky")
    secrets = ["jane.doe@example.com", "+14155550132", "14155550132"]
    assert scan_lake(spark, lake, secrets) == {"silver/leaky": 1, "gold/leaky": 1}
    report = tmp_path / "reports" / "r.html"
    report.parent.mkdir()
    report.write_text("<p>415.555.0132</p>")
    assert scan_files(tmp_path / "reports", ["4155550132"]) == [str(report)]
