"""Create the project virtualenv, even where Debian/Ubuntu ship Python without ensurepip.

Usage: python3 scripts/bootstrap_venv.py .venv

Tries ``python -m venv`` first; if ensurepip is missing (no python3-venv package), makes the
venv without pip and installs pip from its wheel on PyPI, using only the standard library.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

MIN_PYTHON = (3, 11)


def main(target: str) -> int:
    """Create ``target`` with a working pip; return a process exit code."""
    if sys.version_info[:2] != MIN_PYTHON:
        print(f"dmp needs Python 3.11, this is {sys.version.split()[0]}", file=sys.stderr)
        return 2
    path = Path(target)
    python = path / "bin" / "python"
    if python.exists() and _has_pip(python):
        return 0
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
    except (subprocess.CalledProcessError, OSError) as error:
        print(f"venv with pip failed ({error}); installing pip from PyPI", file=sys.stderr)
        venv.EnvBuilder(with_pip=False, clear=True).create(path)
    if not _has_pip(python):
        _install_pip_from_pypi(python)
    return 0


def _has_pip(python: Path) -> bool:
    result = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True)
    return result.returncode == 0


def _install_pip_from_pypi(python: Path) -> None:
    with urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=60) as response:
        release = json.load(response)
    wheel = next(u for u in release["urls"] if u["filename"].endswith("-py3-none-any.whl"))
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / wheel["filename"]
        urllib.request.urlretrieve(wheel["url"], target)
        # A pip wheel can run itself to install itself.
        subprocess.run(
            [str(python), f"{target}/pip", "install", "--no-index", str(target)], check=True
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".venv"))
