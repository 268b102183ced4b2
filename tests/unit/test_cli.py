"""The command line: fast help, one-line user errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from dmp.cli import _hoist_global_options, main


def test_help_is_fast_and_loads_no_spark() -> None:
    started = time.perf_counter()
    probe = (
        "import sys; from dmp.cli import main; code = main(['--help']); "
        "heavy = [m for m in ('pyspark', 'mlflow', 'great_expectations', 'pyarrow') "
        "if m in sys.modules]; print('HEAVY', heavy); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert "Commands" in result.stdout
    assert elapsed < 2.0, f"dmp --help took {elapsed:.2f}s"


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    import typer.main

    from dmp.cli import app

    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        assert main([name, "--help"]) == 0, name
        assert "Usage" in capsys.readouterr().out


def test_user_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DMP__SPARK__SHUFFLE_PARTITIONS", "many")
    assert main(["tables", "--home", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("error: environment variable DMP__SPARK__SHUFFLE_PARTITIONS")
    monkeypatch.delenv("DMP__SPARK__SHUFFLE_PARTITIONS")
    assert main(["tables", "--no-such-option"]) == 2


def test_global_options_may_follow_the_command() -> None:
    assert _hoist_global_options(["runs", "--limit", "3", "--home", "/x", "-v"]) == [
        "--home",
        "/x",
        "-v",
        "runs",
        "--limit",
        "3",
    ]
    assert _hoist_global_options(["tables", "--config=a.yaml"]) == ["--config=a.yaml", "tables"]


def test_empty_lake_lists_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tables", "--home", str(tmp_path)]) == 0
    assert "no tables" in capsys.readouterr().out
    assert main(["runs", "--home", str(tmp_path)]) == 0
    assert "no runs recorded yet" in capsys.readouterr().out


def test_erase_resume_takes_no_identifiers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["erase", "--resume", "--user-id", "u-1", "--home", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--resume takes no identifiers" in err
    assert main(["export", "--channel", "push", "--segment", "s", "--on", "someday",
                 "--home", str(tmp_path)]) == 2  # fmt: skip
    assert capsys.readouterr().err.strip().count("\n") == 0
