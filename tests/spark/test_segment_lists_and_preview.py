"""Uploaded lists (hashed) and combined segments, checked against Python set algebra."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from dmp.lake import Lake
from dmp.runlog import Run
from dmp.segments.combined import CombinedSegment
from dmp.segments.lists import add_to_list, list_names, remove_from_list
from dmp.segments.spec import SegmentFile, SegmentSpec
from dmp.segments.stage import preview_segments
from dmp.tables import LISTS_TABLE
from tests.privacy_key import TEST_ID_KEY

AS_OF = date(2026, 3, 31)
USERS = [f"u{i:02d}" for i in range(40)]


def email(user: str) -> str:
    return f"{user.upper()}@Example.com "  # normalised (trim, lower-case) before hashing


def sha(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake")
    people = {u: f"P{i:04d}" for i, u in enumerate(USERS)}
    rows = [("user_id", u, p) for u, p in people.items()]
    rows += [("email_sha256", sha(email(u)), p) for u, p in people.items()]
    lake.write_arrow(
        pa.table(
            {k: [r[i] for r in rows] for i, k in enumerate(("id_type", "id_value", "person_id"))}
        ),
        "silver/identity_map",
    )
    profiles = pa.table({
        "person_id": list(people.values()),
        "as_of": [AS_OF] * len(USERS),
        "vip_level": [i % 5 for i in range(len(USERS))],
        "orders_count": [i % 3 for i in range(len(USERS))],
    })  # fmt: skip
    lake.write_arrow(profiles, "silver/profiles", partition_by=["as_of"])
    return lake


def csv(path: Path, header: str, values: list[str]) -> Path:
    path.write_text("\n".join([header, *values]) + "\n")
    return path


def test_lists_are_stored_hashed_and_deduplicated(spark, lake: Lake, tmp_path: Path) -> None:
    run = Run(job="lists", lake=lake)
    file = csv(tmp_path / "stop.csv", "email", [email(u) for u in USERS[:10]] + [email("u00")])
    change = add_to_list(spark, run, "stop", file, "email", "1", id_key=TEST_ID_KEY)
    assert (change.rows, change.added, change.size) == (11, 10, 10)
    again = add_to_list(
        spark, Run(job="lists", lake=lake), "stop", file, "email", "1", id_key=TEST_ID_KEY
    )
    assert (again.added, again.size) == (0, 10)
    stored = lake.read_arrow(LISTS_TABLE).to_pylist()
    assert {r["id_value"] for r in stored} == {sha(email(u)) for u in USERS[:10]}
    assert not any("example" in str(v).lower() for r in stored for v in r.values())

    fewer = csv(tmp_path / "fewer.csv", "email", [email(u) for u in USERS[:3]])
    removed = remove_from_list(
        spark, Run(job="lists", lake=lake), "stop", fewer, "email", "1", id_key=TEST_ID_KEY
    )
    assert (removed.removed, removed.size) == (3, 7)
    gone = remove_from_list(
        spark, Run(job="lists", lake=lake), "stop", None, None, "1", id_key=TEST_ID_KEY
    )
    assert (gone.removed, gone.size) == (7, 0)
    assert list_names(lake) == []


def test_preview_counts_combined_segments_like_set_algebra(
    spark, lake: Lake, tmp_path: Path
) -> None:
    vip = {f"P{i:04d}" for i in range(40) if i % 5 >= 3}
    buyers = {f"P{i:04d}" for i in range(40) if i % 3 == 2}
    listed = {f"P{i:04d}" for i in range(0, 40, 4)}
    upload = csv(tmp_path / "ids.csv", "user_id", [USERS[int(p[1:])] for p in sorted(listed)])
    add_to_list(
        spark, Run(job="lists", lake=lake), "contacted", upload, "user_id", "1", id_key=TEST_ID_KEY
    )
    before = {t.name: t.version for t in lake.tables()}
    spec = SegmentFile(
        segments=[
            SegmentSpec(name="vip", where="vip_level >= 3"),
            SegmentSpec(name="buyers", where="orders_count = 2"),
        ],
        combined=[
            CombinedSegment(name="either", include=["vip", "buyers"]),
            CombinedSegment(name="both", include=["vip"], intersect=["buyers"]),
            CombinedSegment(name="fresh", include=["either"], exclude=["list:contacted"]),
            CombinedSegment(name="listed_vips", include=["list:contacted"], intersect=["vip"]),
        ],
    )
    preview = preview_segments(spark, Run(job="preview", lake=lake), spec, None)
    assert preview.persons == 40
    assert preview.sizes == {
        "vip": len(vip),
        "buyers": len(buyers),
        "either": len(vip | buyers),
        "both": len(vip & buyers),
        "fresh": len((vip | buyers) - listed),
        "listed_vips": len(listed & vip),
    }
    assert {t.name: t.version for t in lake.tables()} == before  # nothing written
