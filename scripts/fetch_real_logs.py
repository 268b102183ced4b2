"""Fetch the real human-activity logs the risk-rule tests run on, through pip only.

The MovieLens 100k ratings (943 real people, 100,000 ratings with second timestamps, no bots)
are not ours to redistribute (GroupLens' terms ask for permission), so the repository does
not hold them. The RecBole wheel on PyPI (MIT, https://pypi.org/project/recbole/) ships them
as ``recbole/dataset_example/ml-100k/ml-100k.inter``; this script downloads that wheel with
``pip download --no-deps`` (nothing is installed), checks its hash and extracts the one file
into ``.cache/real_logs/``. ``make test`` runs it once.

Usage: python scripts/fetch_real_logs.py [target-folder]
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "recbole==1.2.1"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
FILE_SHA256 = "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(target: Path) -> Path:
    """Return the path of ``ml-100k.inter`` under ``target``, downloading it if missing."""
    destination = target / "ml-100k.inter"
    if destination.exists() and _sha256(destination) == FILE_SHA256:
        return destination
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", WHEEL,
             "--dest", scratch],
            check=True,
        )  # fmt: skip
        (wheel,) = Path(scratch).glob("recbole-*.whl")
        if _sha256(wheel) != WHEEL_SHA256:
            raise SystemExit(f"{wheel.name}: unexpected sha256; refusing to use it")
        partial = destination.with_suffix(".partial")
        with zipfile.ZipFile(wheel) as archive:
            partial.write_bytes(archive.read(MEMBER))
        if _sha256(partial) != FILE_SHA256:
            partial.unlink()
            raise SystemExit(f"{MEMBER}: unexpected sha256; refusing to use it")
        partial.replace(destination)
    return destination


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else root / ".cache" / "real_logs"
    sys.stdout.write(f"{fetch(folder)}\n")
