"""Campaign lift on simulated outcomes, and erasure, on their own generated world."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from pyspark.sql import functions as F

from dmp.config import load_config
from dmp.driver import run_stage
from dmp.erasure.entry import ERASE
from dmp.erasure.stage import ErasureRequest
from dmp.export.entry import EXPORT
from dmp.export.stage import ExportRequest
from dmp.generate import WorldSpec
from dmp.generate.outcomes import simulate_outcomes
from dmp.identity.entry import IDENTITY, IdentityRequest
from dmp.ingest.entry import INGEST, IngestRequest
from dmp.lake import Lake
from dmp.lift.entry import LIFT, LiftRequest
from dmp.privacy import normalize_email, sha256_hex
from dmp.profiles.entry import PROFILES, ProfilesRequest
from dmp.segments.entry import SEGMENTS, SegmentsRequest
from dmp.stages import latest_event_date
from tests.browser import check_reports
from tests.integration.conftest import build_world


@pytest.fixture(scope="module")
def activated(spark, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A world with identity, profiles, segments and a segment exported to Meta."""
    home = tmp_path_factory.mktemp("activated")
    world = build_world(spark, home, WorldSpec(users=600, days=6, seed=31, workers=1))
    conf = home / "conf"
    shutil.copytree(Path(__file__).parents[2] / "conf", conf)
    text = (
        (conf / "channels.yaml")
        .read_text()
        .replace("    purpose: advertising\n", "    purpose: advertising\n    min_audience: 20\n")
    )
    (conf / "channels.yaml").write_text(text)
    settings = load_config(home=home, conf_dir=conf, environ={})
    run_stage(IDENTITY, settings, IdentityRequest(), spark=spark)
    as_of = latest_event_date(settings)
    run_stage(PROFILES, settings, ProfilesRequest(as_of), spark=spark)
    run_stage(SEGMENTS, settings, SegmentsRequest(as_of=as_of), spark=spark)
    request = ExportRequest(channel="meta", segment="registered_users", holdout=0.3)
    exported = run_stage(EXPORT, settings, request, spark=spark)
    return world, settings, exported, as_of


@pytest.fixture(scope="module")
def lifted(spark, activated: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The lift of simulated outcomes (true lift 0.5) on the exported segment."""
    _world, settings, _exported, _ = activated
    results = tmp_path_factory.mktemp("lift") / "results.csv"
    simulate_outcomes(
        spark, settings, audience="registered_users", out=results, true_lift=0.5,
        base_rate=0.3, seed=11,
    )  # fmt: skip
    return run_stage(
        LIFT, settings, LiftRequest(audience="registered_users", results=results), spark=spark
    )


def test_lift_recovers_the_planted_lift(spark, activated: Any, lifted: Any) -> None:
    _world, settings, exported, _ = activated
    result = lifted
    lift = result.lift
    assert lift.control.people == exported.holdout
    assert lift.test.people >= exported.people
    low, high = lift.relative_ci
    assert low <= 0.5 <= high, (low, lift.relative_lift, high)
    assert Path(result.report).exists() and result.mlflow_run_id
    # closed loop: conversions landed as events and ingest accepts them
    landed = list(Path(result.landed_events).glob("campaign-registered_users-*.jsonl"))
    assert landed
    first = json.loads(landed[0].read_text().splitlines()[0])
    assert first["event"] == "Campaign Converted" and first["messageId"].startswith("campaign-")
    ingested = run_stage(INGEST, settings, IngestRequest(), spark=spark)
    assert ingested.accepted == lift.test.converters + lift.control.converters


def test_reports_render_in_a_browser(
    activated: Any, lifted: Any, browser: Any, screenshots: Path
) -> None:
    """Every report of this world (its gates, the lift, the index) in Chromium."""
    settings = activated[1]
    checked = check_reports(browser, settings.reports_dir, screenshots)
    kinds = {path.parts[0] for path in checked}
    assert {"index.html", "quality", "lift"} <= kinds, kinds
    lift = checked[Path(lifted.report).relative_to(settings.reports_dir)]
    assert lift.images == 1 and lift.headline == "Campaign lift for audience registered_users"


def test_erasure_forgets_a_person_everywhere(spark, activated: Any) -> None:
    world, settings, _exported, as_of = activated
    lake = Lake(settings.lake_dir)
    identity = lake.read(spark, "silver/identity_map")
    # someone registered, with an e-mail, who was exported
    members = lake.read(spark, "gold/export_members").filter(F.col("group") == "exported")
    users = identity.filter(F.col("id_type") == "user_id").join(
        members.select("person_id"), "person_id"
    )
    user_id = sorted(r["id_value"] for r in users.collect())[0]
    truth = ds.dataset(world.truth / "persons").to_table().to_pylist()
    person_key = next(p["person_key"] for p in truth if p["user_id"] == user_id)
    emails = [
        r["value"]
        for r in ds.dataset(world.truth / "identifiers").to_table().to_pylist()
        if r["person_key"] == person_key and r["id_type"] == "email"
    ]
    held = identity.filter(F.col("id_type") == "user_id").filter(F.col("id_value") == user_id)
    person_id = held.first()["person_id"]
    ids = [r["id_value"] for r in identity.filter(F.col("person_id") == person_id).collect()]
    request = ErasureRequest(emails=emails[:1], user_ids=[user_id])
    result = run_stage(ERASE, settings, request, spark=spark)
    assert result.persons == [person_id]
    assert result.exports_to_reissue and result.deleted_rows["bronze/events"] > 0
    # no current row and no file of any table (data or log) mentions the person any more
    needles = [person_id.encode(), user_id.encode()]
    needles += [v.encode() for v in ids if len(v) >= 8]
    if emails:
        needles.append(sha256_hex(normalize_email(emails[0], "basic")).encode())
    for folder, _, names in os.walk(settings.lake_dir):
        if "ops" in Path(folder).parts:
            continue  # the run log and the suppression list (which must hold the hashes)
        for name in names:
            data = (Path(folder) / name).read_bytes()
            for needle in needles:
                assert needle not in data, (folder, name, needle)
    for table in ("bronze/events", "silver/identity_map", "silver/profiles", "gold/segments"):
        frame = lake.read(spark, table)
        if "person_id" in frame.columns:
            assert frame.filter(F.col("person_id") == person_id).count() == 0
    # the person coming back in new data is kept out of new exports by the suppression list
    comeback = settings.landing_dir / "first_party" / f"dt={as_of.isoformat()}" / "comeback.jsonl"
    comeback.write_text(
        json.dumps(
            {"type": "identify", "messageId": "comeback-1", "userId": user_id,
             "anonymousId": "fresh-cookie-1", "timestamp": f"{as_of.isoformat()}T12:00:00Z",
             "context": {"consent": {"categoryPreferences": {"advertising": True}}}}
        ) + "\n"
    )  # fmt: skip
    run_stage(INGEST, settings, IngestRequest(), spark=spark)
    run_stage(IDENTITY, settings, IdentityRequest(), spark=spark)
    run_stage(PROFILES, settings, ProfilesRequest(as_of), spark=spark)
    run_stage(SEGMENTS, settings, SegmentsRequest(as_of=as_of), spark=spark)
    again = run_stage(
        EXPORT, settings, ExportRequest(channel="meta", segment="registered_users"), spark=spark
    )
    back = lake.read(spark, "silver/identity_map").filter(F.col("id_value") == user_id).first()
    assert back is not None  # identity knows the new data ...
    exported_now = lake.read(spark, "gold/export_members").filter(
        F.col("export_id") == again.export_id
    )
    assert (
        exported_now.filter(F.col("person_id") == back["person_id"]).count() == 0
    )  # ... exports don't
    assert again.excluded["on the suppression list"] >= 1
