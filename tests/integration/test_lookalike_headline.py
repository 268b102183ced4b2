"""The honest headline on the shared world: a segment seed is measured on a time split, and
the audience gate refuses (publishing nothing) a model built on a seed of random people."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from pyspark.sql import functions as F

from dmp.driver import run_stage
from dmp.errors import GateFailed
from dmp.lake import Lake
from dmp.lookalike.entry import LOOKALIKE, LookalikeRequest
from dmp.tables import AUDIENCES_TABLE, UNIVERSE_SCORES_TABLE
from tests.integration.conftest import Stages
from tests.integration.test_activation_world import SEED_SEGMENT, small_settings


def test_a_segment_seed_is_measured_on_a_time_split(
    spark, stages: Stages, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = small_settings(stages, tmp_path_factory.mktemp("headline"))
    lookalike = settings.lookalike.model_copy(
        update={
            "headline": settings.lookalike.headline.model_copy(update={"horizon_days": 3}),
            # the time split ranks the people who did not join: lift@1% needs 100 of them
            "evaluation_universe": 200,
        }
    )
    settings = settings.model_copy(update={"lookalike": lookalike})
    request = LookalikeRequest(
        name="lal_split", segment=SEED_SEGMENT, method="auto", as_of=stages.as_of
    )
    result = run_stage(LOOKALIKE, settings, request, spark=spark)
    headline = result.headline
    assert headline.kind == "time-split", headline.note
    assert headline.early_as_of == stages.early_as_of and headline.horizon_days == 3
    # the seed's rule (lifecycle_stage IN ('new', 'active')) is re-evaluated on the early
    # snapshot: converters are people who became active buyers in the three days since
    profiles = Lake(settings.lake_dir).read(spark, "silver/profiles")
    eligible = ~F.col("bot_flag") & ~F.col("coupon_abuse_flag") & ~F.col("shared_identity")
    active = F.coalesce(F.col("lifecycle_stage").isin("new", "active"), F.lit(False))
    early = profiles.filter(F.col("as_of") == F.lit(stages.early_as_of))
    now = profiles.filter((F.col("as_of") == F.lit(stages.as_of)) & active).select("person_id")
    assert headline.early_seed == early.filter(active).count()
    expected = early.filter(eligible & ~active).select("person_id").join(now, "person_id")
    assert headline.converted == expected.count() > 0
    assert result.method_reason.startswith("auto: best time-split lift@1%")
    assert "lifecycle_stage" in result.left_out
    # held-out figures stay as the secondary view, for every method and baseline
    assert set(result.heldout) == set(result.evaluation)
    assert all(m["positives"] <= headline.converted for m in result.evaluation.values())
    page = Path(result.report).read_text(encoding="utf-8")
    assert "a <b>time split</b>" in page and "Secondary view: held-out seeds" in page
    summary = json.loads((Path(result.report).parent / "summary.json").read_text())
    assert summary["headline"] == "time-split"


def test_the_gate_refuses_a_seed_of_random_people_and_nothing_is_published(
    spark, stages: Stages, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("random_seed")
    settings = small_settings(stages, tmp)
    guardrails = settings.lookalike.guardrails.model_copy(
        update={"metric": "lift_at_10pct", "min_lift_ratio": 1.5, "min_top_people": 5}
    )
    lookalike = settings.lookalike.model_copy(
        update={"guardrails": guardrails, "evaluation_universe": 200}
    )
    settings = settings.model_copy(update={"lookalike": lookalike})
    truth = ds.dataset(stages.world.truth / "identifiers").to_table().to_pylist()
    emails = sorted({r["value"] for r in truth if r["id_type"] == "email" and not r["shared"]})
    seed_file = tmp / "random_people.csv"
    # sorted hashes of e-mail addresses: people picked at random, unrelated to behaviour
    seed_file.write_text("email\n" + "\n".join(emails[1::2][:90]) + "\n")
    with pytest.raises(GateFailed):
        request = LookalikeRequest(
            name="lal_random", seed_file=seed_file, id_type="email", method="pu",
            as_of=stages.as_of,
        )  # fmt: skip
        run_stage(LOOKALIKE, settings, request, spark=spark)
    lake = Lake(settings.lake_dir)
    for table in (AUDIENCES_TABLE, UNIVERSE_SCORES_TABLE):
        if lake.exists(table):
            assert lake.read(spark, table).filter(F.col("audience") == "lal_random").count() == 0
