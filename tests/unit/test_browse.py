"""``dmp audiences / segments list / exports / show / history``: answers without Spark."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from dmp.browse import parse_where
from dmp.cli import main

D1, D2 = date(2026, 1, 5), date(2026, 1, 6)


def _write(home: Path, name: str, data: pa.Table, partition_by: list[str] | None = None) -> None:
    write_deltalake(str(home / "lake" / name), data, mode="append", partition_by=partition_by)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny lake, written with delta-rs only: sizes, an audience, reach, exports."""
    root = tmp_path_factory.mktemp("browse")
    for day, sizes in ((D1, (10, 4)), (D2, (12, 5))):
        _write(
            root,
            "gold/segment_sizes",
            pa.table(
                {
                    "as_of": pa.array([day, day], pa.date32()),
                    "segment": ["buyers", "it's_vip"],
                    "size": pa.array(sizes, pa.int64()),
                    "share": [sizes[0] / 20, sizes[1] / 20],
                    "description": ["Bought", "VIPs"],
                }
            ),
            ["as_of"],
        )
    people = [f"P{i:03d}" for i in range(7)]
    _write(
        root,
        "gold/audiences",
        pa.table(
            {
                "person_id": people,
                "score": [1.0 - i / 10 for i in range(7)],
                "audience": ["lal_buyers"] * 7,
                "as_of": pa.array([D2] * 7, pa.date32()),
            }
        ),
        ["audience", "as_of"],
    )
    _write(
        root,
        "gold/audience_reach",
        pa.table(
            {
                "audience": ["lal_buyers", "lal_buyers"],
                "as_of": pa.array([D2, D2], pa.date32()),
                "tier": pa.array([1, 5], pa.int32()),
                "people": pa.array([3, 7], pa.int64()),
            }
        ),
        ["audience", "as_of"],
    )
    # a second audience without a report: its method comes from the run log
    _write(
        root,
        "gold/audiences",
        pa.table(
            {
                "person_id": ["P100", "P101"],
                "score": [0.9, 0.8],
                "audience": ["lal_file", "lal_file"],
                "as_of": pa.array([D1, D1], pa.date32()),
            }
        ),
        ["audience", "as_of"],
    )
    params = pa.map_(pa.string(), pa.string())
    _write(
        root,
        "ops/runs",
        pa.table(
            {
                "job": ["lookalike", "lookalike", "lookalike"],
                "status": ["succeeded", "succeeded", "failed"],
                "params": pa.array(
                    [
                        [("name", "lal_file"), ("method", "pu")],
                        [("name", "lal_file"), ("method", "knn")],
                        [("name", "lal_file"), ("method", "bad")],
                    ],
                    params,
                ),
                "started_at": pa.array([1, 2, 3], pa.timestamp("us", tz="UTC")),
            }
        ),
    )
    _write(root, "bronze/raw_contacts", pa.table({"id": [1, 2], "email": ["a@x.io", None]}))
    report = root / "reports" / "lookalike" / "lal_buyers" / "20260106T100000Z-abc"
    report.mkdir(parents=True)
    summary = {"audience": "lal_buyers", "as_of": D2.isoformat(), "method": "gbt"}
    (report / "summary.json").write_text(json.dumps({**summary, "lift_at_1pct": 4.25}))
    for source, channel, stamp, rows in (
        ("lal_buyers", "meta", "2026-01-06T11:00:00+00:00", 7),
        ("lal_buyers", "google", "2026-01-07T09:30:00+00:00", 3),
        ("buyers", "csv", "2026-01-05T08:00:00+00:00", 10),
    ):
        folder = root / "exports" / source / channel / f"{stamp[:10]}-{channel}"
        folder.mkdir(parents=True)
        key = "audience" if source.startswith("lal_") else "segment"
        manifest = {
            "source": {key: source},
            "channel": {"name": channel},
            "as_of": stamp[:10],
            "created_at": stamp,
            "rows": rows,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return root


def _run(home: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--home", str(home)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _lines_with(out: str, word: str) -> list[str]:
    return [line for line in out.splitlines() if word in line]


def test_segments_list_latest_and_as_of(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(home, capsys, "segments", "list")
    assert code == 0
    assert "2026-01-06" in out and "2026-01-05" not in out
    (buyers,) = _lines_with(out, "buyers")
    assert "12" in buyers and "60.0%" in buyers
    code, out, _ = _run(home, capsys, "segments", "list", "--as-of", "2026-01-05")
    assert code == 0
    assert "50.0%" in _lines_with(out, "buyers")[0]
    code, _, err = _run(home, capsys, "segments", "list", "--as-of", "2025-12-31")
    assert code == 2 and err.count("\n") == 1 and "2026-01-06" in err


def test_audiences_join_lake_report_and_exports(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(home, capsys, "audiences")
    assert code == 0
    (row,) = _lines_with(out, "lal_buyers")
    for expected in ("2026-01-06", "gbt", "4.2x", "1%: 3", "5%: 7", "2026-01-07 09:30:00"):
        assert expected in row, (expected, row)
    assert "google" in out  # the last export's channel (may wrap onto the next line)
    assert "│ 7 " in row  # size: the audience's rows, counted from the Delta log
    (other,) = _lines_with(out, "lal_file")
    # the method the latest successful run asked for; no report, so no lift and no reach
    assert "knn" in other and "│ 2 " in other and "2026-01-05" in other
    assert other.count("│ - ") == 3, other


def test_exports_newest_first(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(home, capsys, "exports")
    assert code == 0
    order = [out.index(c) for c in ("google", "meta", "csv")]
    assert order == sorted(order)
    code, out, _ = _run(home, capsys, "exports", "--limit", "1")
    assert "google" in out and "meta" not in out


def test_show_filters_limits_and_versions(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        home, capsys, "show", "gold/segment_sizes", "--where", "segment = 'it''s_vip' AND size >= 5"
    )
    assert code == 0
    assert "it's_vip" in out and "buyers" not in out and "(1 rows shown)" in out
    code, out, _ = _run(
        home,
        capsys,
        "show",
        "gold/segment_sizes",
        "--as-of",
        "2026-01-05",
        "--columns",
        "segment,size",
    )
    assert code == 0 and "(2 rows shown)" in out and "share" not in out
    code, out, _ = _run(home, capsys, "show", "gold/segment_sizes", "--version", "0")
    assert "2026-01-06" not in out and "(2 rows shown)" in out
    code, out, _ = _run(home, capsys, "show", "gold/audiences", "--limit", "3")
    assert "(3 rows shown)" in out
    code, out, _ = _run(
        home, capsys, "show", "gold/segment_sizes", "--where", "as_of > '2026-01-05'"
    )
    assert "(2 rows shown)" in out and "2026-01-05" not in out


def test_show_never_prints_sensitive_columns(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(home, capsys, "show", "bronze/raw_contacts")
    assert code == 0
    assert "a@x.io" not in out and "<hidden: sensitive>" in out


def test_history_lists_commits_with_metrics(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(home, capsys, "history", "gold/segment_sizes")
    assert code == 0
    assert _lines_with(out, "WRITE") and "num_added_files=1" in out.replace("\n", "")
    assert out.index("│ 1 ") < out.index("│ 0 ")  # newest first
    code, out, _ = _run(home, capsys, "history", "gold/segment_sizes", "--limit", "1")
    assert "│ 0 " not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "gold/segment_size"), "did you mean gold/segment_sizes"),
        (("show", "segment_sizes"), "did you mean gold/segment_sizes"),
        (("history", "gold/nothing_like_it"), "unknown table"),
        (("show", "gold/segment_sizes", "--columns", "segmnt"), "did you mean segment"),
        (("show", "gold/segment_sizes", "--where", "sizee = 3"), "no column 'sizee'"),
        (("show", "gold/segment_sizes", "--where", "size = 3 OR 1=1"), "expected AND"),
        (("show", "gold/segment_sizes", "--where", "size = 'x'"), "not a valid"),
        (("show", "gold/segment_sizes", "--where", "segment = x; drop"), "--where"),
        (("show", "gold/segment_sizes", "--where", "__import__('os')"), "--where"),
        (("show", "gold/segment_sizes", "--version", "9"), "versions 0..1"),
        (("show", "bronze/raw_contacts", "--where", "email = 'a@x.io'"), "personal data"),
        (("show", "gold/audience_reach", "--where", "as_of = 'soon'"), "not a valid"),
    ],
)
def test_mistakes_are_one_line_exit_2(
    home: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = _run(home, capsys, *args)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err, err


def test_where_language_matches_reference_filter() -> None:
    data = pa.table({"n": [1, 2, 3, 4, None], "s": ["a", "b", "a", "c", "a"]})
    expression = parse_where("n > 1 AND s = 'a'", data.schema)
    assert data.filter(expression).to_pylist() == [{"n": 3, "s": "a"}]
    assert data.filter(parse_where("n IS NULL", data.schema)).num_rows == 1
    assert data.filter(parse_where("s <> 'a' and n <= 2", data.schema)).to_pylist() == [
        {"n": 2, "s": "b"}
    ]


def test_browsing_starts_no_spark(home: Path) -> None:
    probe = (
        "import sys; from dmp.cli import main; "
        f"codes = [main([*a, '--home', {str(home)!r}]) for a in "
        "(['audiences'], ['segments', 'list'], ['exports'], ['show', 'gold/audiences'], "
        "['history', 'gold/audiences'])]; "
        "print('CODES', codes, 'SPARK', 'pyspark' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert "CODES [0, 0, 0, 0, 0] SPARK False" in result.stdout, result.stderr
