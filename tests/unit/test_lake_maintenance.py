"""Compaction and vacuum (``dmp optimize``): fewer files, the same rows, standard Delta."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from dmp.config import load_config
from dmp.errors import UserError
from dmp.lake import Lake
from dmp.maintenance import OptimizeRequest, optimize_lake
from dmp.runlog import Run


def small_appends(lake: Lake, name: str, writes: int) -> None:
    for n in range(writes):
        rows = pa.table(
            {
                "day": pa.array(["2026-01-01", "2026-01-02"] * 5),
                "n": pa.array(range(n * 10, n * 10 + 10), pa.int64()),
            }
        )
        lake.write_arrow(rows, name, partition_by=["day"])


def rows_of(lake: Lake, name: str) -> list[tuple[str, int]]:
    table = lake.read_arrow(name)
    return sorted(zip(table.column("day").to_pylist(), table.column("n").to_pylist(), strict=True))


def test_optimize_compacts_each_partition_and_keeps_every_row(tmp_path: Path) -> None:
    settings = load_config(home=tmp_path, environ={})
    lake = Lake(settings.lake_dir)
    small_appends(lake, "gold/things", 12)
    before = rows_of(lake, "gold/things")
    assert lake.info("gold/things").files == 24  # one file per partition per append

    result = optimize_lake(
        settings, Run(job="optimize", lake=lake), OptimizeRequest(retention_hours=0)
    )

    (maintained,) = result.tables
    assert maintained.files_before == 24
    assert maintained.files_after == 2  # one file per partition
    assert maintained.files_compacted == 24
    assert maintained.files_vacuumed == 24  # the replaced files, with no retention
    assert rows_of(lake, "gold/things") == before
    # still a standard Delta table for other readers
    assert DeltaTable(str(lake.path("gold/things"))).to_pyarrow_dataset().count_rows() == 120


def test_compaction_is_not_a_change_for_the_pipeline(tmp_path: Path) -> None:
    settings = load_config(home=tmp_path, environ={})
    lake = Lake(settings.lake_dir)
    small_appends(lake, "gold/things", 3)
    read_version = lake.version("gold/things")
    assert read_version is not None
    optimize_lake(settings, Run(job="optimize", lake=lake), OptimizeRequest())
    assert lake.version("gold/things") != read_version  # new versions were committed
    assert not lake.changed_since("gold/things", read_version)  # but no row changed
    small_appends(lake, "gold/things", 1)
    assert lake.changed_since("gold/things", read_version)


def test_a_second_optimize_has_nothing_to_do(tmp_path: Path) -> None:
    settings = load_config(home=tmp_path, environ={})
    lake = Lake(settings.lake_dir)
    small_appends(lake, "gold/things", 4)
    run = Run(job="optimize", lake=lake)
    optimize_lake(settings, run, OptimizeRequest(vacuum=False))
    version = lake.version("gold/things")
    again = optimize_lake(settings, run, OptimizeRequest(vacuum=False))
    assert again.tables[0].files_compacted == 0
    assert lake.version("gold/things") == version


def test_an_unknown_table_is_a_user_error(tmp_path: Path) -> None:
    settings = load_config(home=tmp_path, environ={})
    lake = Lake(settings.lake_dir)
    small_appends(lake, "gold/things", 1)
    with pytest.raises(UserError, match="no such table: gold/nope"):
        optimize_lake(
            settings, Run(job="optimize", lake=lake), OptimizeRequest(tables=("gold/nope",))
        )
