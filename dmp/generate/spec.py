"""What world to generate (``WorldSpec``) and what was written (``WorldSummary``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class WorldSpec(BaseModel):
    """The parameters of a generated e-commerce world.

    The same spec always produces byte-identical landing files and truth datasets, whatever
    the number of worker processes.
    """

    model_config = ConfigDict(extra="forbid")

    users: int = Field(2000, ge=1, description="Number of people (truth persons).")
    days: int = Field(30, ge=1, le=366, description="Observed days.")
    start_date: dt.date = Field(dt.date(2026, 1, 1), description="First observed day (UTC).")
    future_days: int = Field(
        14, ge=0, le=366, description="Held-back window after the observed days (truth only)."
    )
    seed: int = Field(42, ge=0, description="World seed.")
    bad_share: float = Field(0.01, ge=0.0, le=0.5, description="Share of bad first-party lines.")
    partner_bad_share: float = Field(0.01, ge=0.0, le=0.5, description="Share of bad partner rows.")
    workers: int | None = Field(None, ge=1, description="Processes; None = os.cpu_count().")
    users_per_shard: int = Field(5000, ge=1, description="People per shard (one file per day).")
    plain_file_every: int = Field(
        10, ge=1, description="About one shard-file in this many is written as plain .jsonl."
    )
    compresslevel: int = Field(1, ge=1, le=9, description="gzip level of .jsonl.gz files.")
    binge_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description=(
            "Share of regular shoppers who also binge: a few sessions of hundreds of product "
            "pages at human reading pace, no cart (bursty but human; 0 keeps default worlds)."
        ),
    )
    persons_per_chunk: int = Field(
        250, ge=1, description="People generated between two flushes (bounds worker memory)."
    )

    @property
    def shards(self) -> int:
        """Number of shards (each written by one task)."""
        return -(-self.users // self.users_per_shard)

    @property
    def end_date(self) -> dt.date:
        """Last observed day (inclusive)."""
        return self.start_date + dt.timedelta(days=self.days - 1)


@dataclass(frozen=True)
class WorldSummary:
    """What ``generate_world`` wrote, and how fast."""

    home: Path
    landing: Path
    truth: Path
    manifest: Path
    files: int
    """Landing files written (first-party and partner)."""
    counts: dict[str, int] = field(default_factory=dict)
    """Counts per kind: persons, good_lines, lines, bad_lines, exact_duplicates, partner rows..."""
    bad_by_reason: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    seconds: float = 0.0
    events_per_second: float = 0.0
    mb_per_second: float = 0.0
