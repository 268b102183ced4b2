"""Find plaintext e-mail addresses and phone numbers from a world's input in the lake."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
from pyspark.sql import functions as F

from dmp.lake import Lake


def input_secrets(truth: Path) -> list[str]:
    """E-mails (as written and normalised) and phones (as written and E.164) of the input."""
    table = ds.dataset(truth / "identifiers").to_table().to_pylist()
    secrets: set[str] = set()
    for row in table:
        value = (row.get("value") or row.get("raw_value") or "").strip()
        if not value:
            continue
        if row["id_type"] == "email":
            secrets.add(value.lower())
        elif row["id_type"] == "phone":
            secrets.add(value.lower())
            digits = re.sub(r"\D", "", value)
            if len(digits) >= 8:
                secrets.add("+" + digits.lstrip("0"))
    return sorted(secrets)


def scan_lake(spark: Any, lake: Lake, secrets: list[str]) -> dict[str, int]:
    """Rows per table whose string content (all columns, nested included) holds a secret."""
    pattern = "|".join(re.escape(s) for s in secrets)
    hits: dict[str, int] = {}
    for info in lake.tables():
        frame = lake.read(spark, info.name)
        text = F.lower(F.to_json(F.struct(*[F.col(c) for c in frame.columns])))
        count = frame.filter(text.rlike(pattern)).count()
        if count:
            hits[info.name] = count
    return hits


def scan_files(folder: Path, secrets: list[str]) -> list[str]:
    """Files under ``folder`` (reports, exports) whose text holds a secret."""
    found = []
    if not folder.exists():
        return found
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace").lower()
            if any(s in text for s in secrets):
                found.append(str(path))
    return found
