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
from dmp.driver import execute
from dmp.generate import WorldSpec, generate_world
from dmp.stages import ingest_stage

WORLD = WorldSpec(users=400, days=10, seed=7, bad_share=0.02, partner_bad_share=0.02, workers=1)


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


def build_world(spark: Any, home: Path, spec: WorldSpec) -> World:
    """Generate ``spec`` under ``home`` and ingest it."""
    settings = load_config(home=home, environ={})
    generate_world(spec, home)
    result = execute("ingest", ingest_stage(settings, None), settings, spark=spark)
    return World(settings, spec, result)


@pytest.fixture(scope="session")
def world(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The shared world: 400 people, 10 days, 2% bad lines, ingested."""
    return build_world(spark, tmp_path_factory.mktemp("world"), WORLD)
