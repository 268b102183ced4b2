"""Identity resolution on generated worlds, checked against the planted persons."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pyspark.sql import functions as F

from dmp.driver import run_stage
from dmp.generate import WorldSpec
from dmp.identity.entry import IDENTITY, IdentityRequest
from dmp.ingest.entry import INGEST, IngestRequest
from dmp.lake import Lake
from tests.integration.conftest import Stages, build_world


def test_pairwise_scores_against_the_planted_persons(stages: Stages) -> None:
    """Regression guard on the small shared world; the 10k-person world is measured by
    benchmarks/bench_identity.py (precision >= 0.99, recall >= 0.95)."""
    scores = stages.identity.scores
    assert scores is not None and scores.identifiers > 1000
    assert scores.precision >= 0.99
    assert scores.recall >= 0.9
    summary = stages.identity.summary()
    assert "pairwise precision (vs truth)" in summary
    assert summary["rejected: shared identifier (too many user ids)"] >= 1


def test_identity_invariants(spark, stages: Stages) -> None:
    lake = Lake(stages.world.settings.lake_dir)
    identity = lake.read(spark, "silver/identity_map")
    two_users = (
        identity.filter(F.col("id_type") == "user_id")
        .groupBy("person_id")
        .count()
        .filter("count > 1")
    )
    assert two_users.count() == 0
    assert identity.groupBy("id_type", "id_value").count().filter("count > 1").count() == 0
    # every identifier in bronze is mapped, except blocked placeholders
    from dmp.identity.graph import blocked, event_identifiers, with_event_keys

    rules = stages.world.settings.identity
    bronze = event_identifiers(with_event_keys(lake.read(spark, "bronze/events")))
    unmapped = (
        bronze.filter(~blocked(F.col("id_value"), rules))
        .select("id_type", "id_value")
        .distinct()
        .join(identity, ["id_type", "id_value"], "left_anti")
    )
    assert unmapped.count() == 0


def test_rerunning_gives_identical_person_ids(spark, stages: Stages) -> None:
    settings = stages.world.settings
    lake = Lake(settings.lake_dir)
    before = lake.read(spark, "silver/identity_map").select("id_type", "id_value", "person_id")
    before_rows = sorted(tuple(r) for r in before.collect())
    again = run_stage(IDENTITY, settings, IdentityRequest(), spark=spark)
    after = lake.read(spark, "silver/identity_map").select("id_type", "id_value", "person_id")
    assert sorted(tuple(r) for r in after.collect()) == before_rows
    assert (again.merges, again.splits) == (0, 0)


def test_a_new_day_keeps_the_ids_of_unaffected_people(spark, tmp_path: Path) -> None:
    spec = WorldSpec(users=150, days=5, seed=21, workers=1)
    world = build_world(
        spark, tmp_path, spec, landing_dates=[date(2026, 1, d) for d in range(1, 5)]
    )
    settings = world.settings
    lake = Lake(settings.lake_dir)
    run_stage(IDENTITY, settings, IdentityRequest(), spark=spark)
    old = {
        (r["id_type"], r["id_value"]): r["person_id"]
        for r in lake.read(spark, "silver/identity_map").collect()
    }
    run_stage(INGEST, settings, IngestRequest(landing_date=date(2026, 1, 5)), spark=spark)
    result = run_stage(IDENTITY, settings, IdentityRequest(), spark=spark)
    new = {
        (r["id_type"], r["id_value"]): r["person_id"]
        for r in lake.read(spark, "silver/identity_map").collect()
    }
    old_people: dict[str, set] = {}
    for key, person in old.items():
        old_people.setdefault(person, set()).add(key)
    new_people: dict[str, set] = {}
    for key, person in new.items():
        new_people.setdefault(person, set()).add(key)
    unaffected = 0
    for person, keys in old_people.items():
        targets = {new[k] for k in keys}
        if len(targets) != 1:
            continue  # split
        (target,) = targets
        others = {old[k] for k in new_people[target] if k in old} - {person}
        if others:
            continue  # merged with another person
        unaffected += 1
        assert target == person, "an unaffected person (maybe grown) must keep their id"
    assert unaffected > 0.9 * len(old_people)
    assert len(new) > len(old)  # the new day brought new identifiers
    changes = lake.read(spark, "silver/identity_changes").filter(F.col("run_id").isNotNull())
    assert changes.count() == result.merges + result.splits
