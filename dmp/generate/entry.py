"""The ``generate`` stage's entry in the stage registry: a world's landing files and truth."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dmp.config import Settings
from dmp.generate.spec import WorldSpec, WorldSummary
from dmp.runlog import Run
from dmp.stages import Stage

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["GENERATE", "GenerateResult"]

_log = logging.getLogger("dmp")


@dataclass
class GenerateResult:
    """Outcome of ``dmp generate``."""

    world: WorldSummary

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        counts = self.world.counts
        shown: dict[str, Any] = {
            "landing folder": str(self.world.landing),
            "truth folder": str(self.world.truth),
            "people": counts.get("persons", 0),
            "good event lines": counts.get("good_lines", 0),
            "planted bad lines": counts.get("bad_lines", 0),
            "exact duplicate lines": counts.get("exact_duplicates", 0),
            "files": self.world.files,
            "seconds": round(self.world.seconds, 1),
            "events/s": round(self.world.events_per_second),
        }
        return shown


def _generate(
    spark: SparkSession | None, settings: Settings, run: Run, request: WorldSpec
) -> GenerateResult:
    from dmp.generate.world import generate_world

    def progress(done: int, total: int) -> None:
        _log.info("generate: %d/%d shards written", done, total)

    world = generate_world(request, settings.home, progress=progress)
    for key, value in world.counts.items():
        run.count(key, int(value))
    return GenerateResult(world)


GENERATE: Stage[WorldSpec, GenerateResult] = Stage(
    name="generate", request=WorldSpec, run=_generate, reads=(), writes=(), needs_spark=False
)
"""``dmp generate``: write a world's landing files and truth under the data root (no Spark)."""
