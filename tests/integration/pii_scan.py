"""Find plaintext e-mail addresses and phone numbers from a world's input in the lake."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
from pyspark.sql import functions as F

from dmp.lake import Lake

_PARENS = r"[()]"
_BETWEEN_DIGITS = r"(?<=\d)[\s.\-]+(?=\d)"


def input_secrets(truth: Path) -> list[str]:
    """E-mails (lower-cased) and phones (digits, with and without a leading +) of the input.

    Phones are compared after removing parentheses and the spaces, dots and dashes between
    digits, so a number written with separators is found too.
    """
    table = ds.dataset(truth / "identifiers").to_table().to_pylist()
    secrets: set[str] = set()
    for row in table:
        value = (row.get("value") or "").strip()
        if not value:
            continue
        if row["id_type"] == "email":
            secrets.add(value.lower())
        elif row["id_type"] == "phone":
            digits = re.sub(r"\D", "", value)
            if len(digits) >= 8:
                secrets |= {digits, "+" + digits, digits.lstrip("0"), "+" + digits.lstrip("0")}
    return sorted(secrets)


def _tokens(text: Any) -> Any:
    """Lower-cased tokens of a text column, phone separators removed first."""
    squeezed = F.regexp_replace(F.regexp_replace(F.lower(text), _PARENS, ""), _BETWEEN_DIGITS, "")
    return F.explode(F.split(squeezed, r"[^a-z0-9@+_]+"))


def scan_lake(spark: Any, lake: Lake, secrets: list[str]) -> dict[str, int]:
    """Rows per table whose string content (all columns, nested included) holds a secret.

    Every row is turned into text (``to_json``), cut into tokens and joined with the
    secrets: an equality join, so the scan stays fast on large tables.
    """
    wanted = F.broadcast(spark.createDataFrame([(s,) for s in secrets], "token string"))
    hits: dict[str, int] = {}
    for info in lake.tables():
        frame = lake.read(spark, info.name)
        text = F.to_json(F.struct(*[F.col(c) for c in frame.columns]))
        rows = frame.select(
            F.monotonically_increasing_id().alias("_row"), _tokens(text).alias("token")
        )
        # e-mails keep their dots: tokenise them from the unsqueezed text as well
        emails = frame.select(
            F.monotonically_increasing_id().alias("_row"),
            F.explode(F.split(F.lower(text), r"[^a-z0-9@+_.\-]+")).alias("token"),
        )
        found = rows.unionByName(emails).join(wanted, "token").select("_row").distinct().count()
        if found:
            hits[info.name] = found
    return hits


def scan_files(folder: Path, secrets: list[str]) -> list[str]:
    """Files under ``folder`` (reports, exports) whose text holds a secret."""
    found = []
    if not folder.exists():
        return found
    squeezed_secrets = set(secrets)
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace").lower()
            tokens = set(re.split(r"[^a-z0-9@+_.\-]+", text))
            squeezed = re.sub(_BETWEEN_DIGITS, "", re.sub(_PARENS, "", text))
            tokens |= set(re.split(r"[^a-z0-9@+_]+", squeezed))
            if tokens & squeezed_secrets:
                found.append(str(path))
    return found
