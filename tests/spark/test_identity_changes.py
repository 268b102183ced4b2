"""A run of `dmp identity` killed between its two commits loses no identity change."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dmp.config import load_config
from dmp.identity.stage import resolve_identities
from dmp.ingest.schema import EVENTS_SCHEMA
from dmp.lake import Lake, WriteResult
from dmp.runlog import Run
from dmp.tables import EVENTS_TABLE, IDENTITY_CHANGES_TABLE, IDENTITY_MAP_TABLE
from tests.conf_copy import copy_conf


def _event(message_id: str, day: int, anonymous_id: str, user_id: str | None = None) -> dict:
    moment = datetime(2026, 3, day, 12, tzinfo=UTC)
    return {
        "message_id": message_id, "source": "first_party", "event_type": "page",
        "event_time": moment, "received_at": moment, "ingested_at": moment,
        "anonymous_id": anonymous_id, "user_id": user_id, "event_date": moment.date(),
    }  # fmt: skip


class _Killed(Exception):
    """Stands in for a SIGKILL: the rest of the run never happens."""


class _KilledAfterFirstCommit(Run):
    """A run that dies right after its first commit to one of identity's two tables."""

    def write(self, df: Any, name: str, **options: Any) -> WriteResult:
        written = super().write(df, name, **options)
        if name in (IDENTITY_MAP_TABLE, IDENTITY_CHANGES_TABLE):
            raise _Killed(name)
        return written


def _merges(lake: Lake) -> list[dict]:
    rows = lake.read_arrow(IDENTITY_CHANGES_TABLE).to_pylist()
    return [r for r in rows if r["change"] == "merge"]


def test_a_run_killed_between_map_and_changes_records_the_merge_once(spark, tmp_path: Path) -> None:
    conf = copy_conf(tmp_path)
    settings = load_config(home=tmp_path / "home", conf_dir=conf, environ={})
    lake = Lake(settings.lake_dir)

    def land(events: list[dict]) -> None:
        table = pa.Table.from_pylist(events, schema=EVENTS_SCHEMA)
        lake.write_arrow(table, EVENTS_TABLE, partition_by=["event_date"])

    # Day 1: two cookies nobody has linked yet are two persons.
    land([_event("m1", 1, "cookie-a"), _event("m2", 1, "cookie-b")])
    resolve_identities(spark, settings, Run("identity", lake))
    first = {r["id_value"]: r["person_id"] for r in lake.read_arrow(IDENTITY_MAP_TABLE).to_pylist()}
    assert first["cookie-a"] != first["cookie-b"]
    assert _merges(lake) == []

    # Day 2: one login on both cookies makes them one person; the run dies after one commit.
    land([_event("m3", 2, "cookie-a", "u-1"), _event("m4", 2, "cookie-b", "u-1")])
    with pytest.raises(_Killed):
        resolve_identities(spark, settings, _KilledAfterFirstCommit("identity", lake))
    resolve_identities(spark, settings, Run("identity", lake))  # the re-run

    after = {r["id_value"]: r["person_id"] for r in lake.read_arrow(IDENTITY_MAP_TABLE).to_pylist()}
    assert after["cookie-a"] == after["cookie-b"] == after["u-1"]
    merges = _merges(lake)
    assert len(merges) == 1, merges
    assert merges[0]["to_person_id"] == after["u-1"]
    assert {merges[0]["from_person_id"], after["u-1"]} <= {first["cookie-a"], first["cookie-b"]}
