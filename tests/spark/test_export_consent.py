"""Exports evaluate consent from the statements on the export date, not the snapshot."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from dmp.config import load_config
from dmp.export.stage import ExportRequest, export
from dmp.ingest.schema import EVENTS_SCHEMA
from dmp.lake import Lake
from dmp.runlog import Run
from tests.conf_copy import copy_conf

SNAPSHOT = date(2026, 3, 2)


def _event(message_id: str, user_id: str, day: int, push: bool | None) -> dict:
    moment = datetime(2026, 3, day, 12, tzinfo=UTC)
    return {
        "message_id": message_id, "source": "first_party", "event_type": "identify",
        "event_time": moment, "received_at": moment, "ingested_at": moment,
        "user_id": user_id, "consent_push": push, "event_date": moment.date(),
    }  # fmt: skip


def test_a_withdrawal_after_the_snapshot_keeps_the_person_out(spark, tmp_path: Path) -> None:
    conf = copy_conf(tmp_path, min_audience=1, purposes=["push"])
    settings = load_config(home=tmp_path / "home", conf_dir=conf, environ={})
    lake = Lake(settings.lake_dir)
    events = [
        _event("m1", "u-withdrew", 1, True),
        _event("m2", "u-withdrew", 4, False),  # after the snapshot, before the export
        _event("m3", "u-granted", 1, True),
        _event("m4", "u-silent", 1, None),
        _event("m5", "u-later", 5, True),  # granted after the snapshot
    ]
    lake.write_arrow(
        pa.Table.from_pylist(events, schema=EVENTS_SCHEMA), "bronze/events",
        partition_by=["event_date"],
    )  # fmt: skip
    people = ["withdrew", "granted", "silent", "later"]
    lake.write_arrow(
        pa.table(
            {
                "id_type": ["user_id"] * 4,
                "id_value": [f"u-{p}" for p in people],
                "person_id": [f"p-{p}" for p in people],
            }
        ),
        "silver/identity_map",
    )
    # the snapshot still says what was true on the 2nd (and the old default for the silent)
    snapshot = [
        {"person_id": f"p-{p}", "as_of": SNAPSHOT, "user_ids": [f"u-{p}"],
         "consent_push": p != "later", "bot_flag": False, "coupon_abuse_flag": False}
        for p in people
    ]  # fmt: skip
    lake.write_arrow(pa.Table.from_pylist(snapshot), "silver/profiles", partition_by=["as_of"])
    segment = {"segment": ["all"] * 4, "person_id": [f"p-{p}" for p in people],
               "as_of": [SNAPSHOT] * 4}  # fmt: skip
    lake.write_arrow(pa.table(segment), "gold/segments", partition_by=["as_of"])
    request = ExportRequest(channel="push", segment="all", on=date(2026, 3, 4))
    result = export(spark, settings, Run("export", lake), request)
    exported = {
        r["person_id"]
        for r in lake.read_arrow("gold/export_members").to_pylist()
        if r["group"] == "exported"
    }
    assert exported == {"p-granted"}
    assert result.excluded["no push consent"] == 3
    assert result.consent_on == date(2026, 3, 4)
