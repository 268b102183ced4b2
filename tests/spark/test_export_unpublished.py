"""An export killed between its members commit and its publish leaves nothing behind."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from dmp.config import load_config
from dmp.export.files import TEMP_PREFIX
from dmp.export.stage import ExportRequest, export
from dmp.ingest.schema import EVENTS_SCHEMA
from dmp.lake import Lake
from dmp.runlog import Run
from tests.conf_copy import copy_conf
from tests.spark.test_export_consent import SNAPSHOT, _event

UNPUBLISHED = "99991231T000000-deadbeef"  # sorts after any real export id


def test_members_of_an_unpublished_export_are_forgotten_by_the_next_export(
    spark, tmp_path: Path
) -> None:
    """The fault tier's kill at ``export.publish.before``: the members were committed, the
    folder never published. The re-run used to keep those members beside its own (every
    person twice in gold/export_members) and diff against the export nobody received."""
    conf = copy_conf(tmp_path, min_audience=1, purposes=["push"])
    settings = load_config(home=tmp_path / "home", conf_dir=conf, environ={})
    lake = Lake(settings.lake_dir)
    people = ["a", "b", "c"]
    events = [_event(f"m-{p}", f"u-{p}", 1, True) for p in people]
    lake.write_arrow(
        pa.Table.from_pylist(events, schema=EVENTS_SCHEMA), "bronze/events",
        partition_by=["event_date"],
    )  # fmt: skip
    lake.write_arrow(
        pa.table({"id_type": ["user_id"] * 3, "id_value": [f"u-{p}" for p in people],
                  "person_id": [f"p-{p}" for p in people]}),
        "silver/identity_map",
    )  # fmt: skip
    snapshot = [{"person_id": f"p-{p}", "as_of": SNAPSHOT, "user_ids": [f"u-{p}"],
                 "consent_push": True, "bot_flag": False, "coupon_abuse_flag": False}
                for p in people]  # fmt: skip
    lake.write_arrow(pa.Table.from_pylist(snapshot), "silver/profiles", partition_by=["as_of"])
    segment = {"segment": ["all"] * 3, "person_id": [f"p-{p}" for p in people],
               "as_of": [SNAPSHOT] * 3}  # fmt: skip
    lake.write_arrow(pa.table(segment), "gold/segments", partition_by=["as_of"])
    request = ExportRequest(channel="push", segment="all", on=date(2026, 3, 4))
    first = export(spark, settings, Run("export", lake), request)

    # What the killed export left: its members committed, its folder still temporary.
    members = lake.read_arrow("gold/export_members")
    orphan = members.set_column(
        members.schema.get_field_index("export_id"),
        "export_id",
        pa.array([UNPUBLISHED] * members.num_rows),
    )
    lake.write_arrow(orphan, "gold/export_members")
    base = settings.exports_dir / "all" / "push"
    (base / f"{TEMP_PREFIX}{UNPUBLISHED}").mkdir()
    (base / f"{TEMP_PREFIX}{UNPUBLISHED}" / "part-00000.csv.gz").write_bytes(b"")

    second = export(spark, settings, Run("export", lake), request)
    after = lake.read_arrow("gold/export_members")
    ids = pc.unique(after.column("export_id")).to_pylist()
    assert sorted(ids) == sorted([first.export_id, second.export_id])
    assert after.num_rows == 2 * members.num_rows
    assert second.previous_export == first.export_id
    assert not any(p.name.startswith(TEMP_PREFIX) for p in base.iterdir())
