"""A generated world, ingested once per test session and shared by the integration tests.

Tests must not change the shared world; a test that needs to (late files, erasure) builds
its own small one with :func:`build_world`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dmp.config import Settings, load_config
from dmp.driver import run_stage
from dmp.generate import WorldSpec, generate_world
from dmp.identity.entry import IDENTITY, IdentityRequest
from dmp.ingest.entry import INGEST, IngestRequest
from dmp.profiles.entry import PROFILES, ProfilesRequest
from dmp.segments.entry import SEGMENTS, SegmentsRequest

# 2% bingers: bursty but human shoppers the risk rules must spare (see test_profiles_world).
WORLD = WorldSpec(
    users=400, days=10, seed=7, bad_share=0.02, partner_bad_share=0.02, workers=1,
    binge_share=0.02,
)  # fmt: skip


@dataclass
class World:
    """A data root with a generated, ingested world."""

    settings: Settings
    spec: WorldSpec
    ingest: Any

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def truth(self) -> Path:
        return self.settings.home / "truth"


def build_world(
    spark: Any, home: Path, spec: WorldSpec, landing_dates: list[Any] | None = None
) -> World:
    """Generate ``spec`` under ``home`` and ingest it (or only some landing dates)."""
    settings = load_config(home=home, environ={}).with_truth()
    generate_world(spec, home)
    result = None
    for day in landing_dates or [None]:
        result = run_stage(INGEST, settings, IngestRequest(landing_date=day), spark=spark)
    return World(settings, spec, result)


@pytest.fixture(scope="session")
def world(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The shared world: 400 people, 10 days, 2% bad lines, ingested."""
    return build_world(spark, tmp_path_factory.mktemp("world"), WORLD)


@dataclass
class Stages:
    """The shared world after identity, profiles (two snapshots) and segments."""

    world: World
    identity: Any
    early_profiles: Any
    profiles: Any
    segments: Any
    as_of: Any
    early_as_of: Any
    segment_file: Path


@pytest.fixture(scope="session")
def stages(spark: Any, world: World) -> Stages:
    """Identity, profiles as of two dates, and segments on the shared world."""
    import json
    from datetime import timedelta

    import yaml

    from dmp.segments.spec import load_segment_file
    from dmp.stages import latest_event_date

    settings = world.settings
    identity = run_stage(IDENTITY, settings, IdentityRequest(), spark=spark)
    as_of = latest_event_date(settings)
    early = as_of - timedelta(days=3)
    early_profiles = run_stage(PROFILES, settings, ProfilesRequest(early), spark=spark)
    profiles = run_stage(PROFILES, settings, ProfilesRequest(as_of), spark=spark)
    spec = load_segment_file(settings.segments_file).model_dump()
    manifest = json.loads((world.truth / "manifest.json").read_text())
    for product in manifest["campaign_products"]:
        code = product["product_id"]
        spec["segments"].append(
            {
                "name": f"bought_{code.lower()}",
                "where": f"array_contains(purchased_products, '{code}')",
            }
        )
    segment_file = world.home / "test_segments.yaml"
    segment_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    segments = run_stage(
        SEGMENTS, settings, SegmentsRequest(as_of=as_of, file=segment_file), spark=spark
    )
    return Stages(world, identity, early_profiles, profiles, segments, as_of, early, segment_file)


def small_settings(stages: Stages, tmp: Path, home: Path | None = None) -> Settings:
    """The shared world's settings with a copy of conf/ sized for a 400-person world.

    ``home`` is the data root (default: the shared world's; a copy of it for a test that
    must not add to the shared world).
    """
    import shutil

    conf = tmp / "conf"
    if not conf.exists():
        shutil.copytree(Path(__file__).parents[2] / "conf", conf)
        channels = (
            (conf / "channels.yaml")
            .read_text()
            .replace(
                "    purpose: advertising\n",
                "    purpose: advertising\n    min_audience: 5\n    part_rows: 7\n",
            )
        )
        (conf / "channels.yaml").write_text(channels)
    settings = load_config(home=home or stages.world.home, conf_dir=conf, environ={})
    lookalike = settings.lookalike.model_copy(
        update={"min_seed": 30, "bags": 3, "splits": 2, "evaluation_universe": 100}
    )
    return settings.model_copy(update={"lookalike": lookalike})
