"""Exports: members are committed before the folder is published; CSVs are RFC 4180 and
owned-channel values cannot run as spreadsheet formulas."""

from __future__ import annotations

import csv
import gzip
import io
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from dmp.config import Settings, load_config
from dmp.export import stage as export_module
from dmp.export.stage import ExportRequest
from dmp.lake import Lake
from dmp.runlog import Run
from dmp.tables import MEMBERS_TABLE

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 1, 5)
USER_IDS = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\tTAB",
    'a,b "quoted"\nnext line',
    'back\\slash"',
    "u-plain",
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    (conf / "channels.yaml").write_text(
        "channels:\n  push:\n    type: owned\n    purpose: advertising\n"
        "    requires: user_id\n    min_audience: 1\n"
    )
    return load_config(conf_dir=conf, home=tmp_path / "home", environ={})


@pytest.fixture
def tiny_inputs(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> None:
    people = spark.createDataFrame(
        [(f"p{i}", [user_id]) for i, user_id in enumerate(USER_IDS)],
        "person_id string, user_ids array<string>",
    )

    def members(*_: Any) -> tuple[DataFrame, date, None]:
        return people.select("person_id"), DAY, None

    def eligible(*_: Any) -> DataFrame:
        return people

    def contacts(*_: Any) -> DataFrame:
        return spark.createDataFrame([], "person_id string")

    monkeypatch.setattr(export_module, "_members", members)
    monkeypatch.setattr(export_module, "_eligible", eligible)
    monkeypatch.setattr(export_module, "_contacts", contacts)


def _export(spark: SparkSession, settings: Settings) -> export_module.ExportResult:
    run = Run(job="export", lake=Lake(settings.lake_dir))
    return export_module.export(spark, settings, run, ExportRequest("push", segment="tiny"))


@pytest.mark.usefixtures("tiny_inputs")
def test_members_are_committed_before_the_folder_is_published(
    spark: SparkSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, int] = {}

    def killed_publish(temporary: Path, final: Path, manifest: dict[str, Any]) -> Path:
        lake = Lake(settings.lake_dir)
        seen["members"] = (
            lake.read(spark, MEMBERS_TABLE).filter(f"export_id = '{final.name}'").count()
            if lake.exists(MEMBERS_TABLE)
            else 0
        )
        raise KeyboardInterrupt("killed between members and publish")

    monkeypatch.setattr(export_module, "publish", killed_publish)
    with pytest.raises(KeyboardInterrupt):
        _export(spark, settings)
    assert seen["members"] == len(USER_IDS)
    published = [p for p in (settings.exports_dir / "tiny" / "push").iterdir()]
    assert all(p.name.startswith(".tmp-") for p in published)


@pytest.mark.usefixtures("tiny_inputs")
def test_owned_csv_is_rfc4180_and_formula_safe(spark: SparkSession, settings: Settings) -> None:
    result = _export(spark, settings)
    assert result.folder is not None
    text = b"".join(gzip.decompress((result.folder / p.name).read_bytes()) for p in result.parts)
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8"), newline="")))
    got = {row["dmp_person_id"]: row["user_id"] for row in rows}
    expected = {f"p{i}": user_id for i, user_id in enumerate(USER_IDS)}
    for key in ("p0", "p1", "p2", "p3", "p4"):
        expected[key] = "'" + expected[key]
    assert got == expected
    # Read back by the csv module in strict RFC 4180 mode: quotes doubled, no backslashes.
    list(csv.reader(io.StringIO(text.decode("utf-8"), newline=""), strict=True))
    assert Lake(settings.lake_dir).read(spark, MEMBERS_TABLE).count() == len(USER_IDS)
