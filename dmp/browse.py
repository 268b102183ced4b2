"""Read-only views of the lake for the command line, without Spark.

``dmp audiences``, ``dmp segments list``, ``dmp exports``, ``dmp show`` and ``dmp history``
answer from the Delta log (row counts, partitions, history), small driver-side tables and
the report / export folders, with delta-rs and pyarrow only. Every function returns a
header and rows of strings for the CLI's console tables; user mistakes raise
:class:`~dmp.errors.UserError` with one line.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dmp.errors import UserError
from dmp.ingest.records import _PII_PROPERTIES as _INGEST_PII
from dmp.lake import Lake
from dmp.tables import AUDIENCES_TABLE, REACH_TABLE, RUNS_TABLE, SEGMENT_SIZES_TABLE

__all__ = [
    "SENSITIVE_COLUMNS",
    "Listing",
    "audiences",
    "exports",
    "history",
    "parse_where",
    "segments",
    "show",
]


# Raw personal fields: the ones ingest masks or hashes (``email`` -> ``email_sha256`` ...)
# plus other clear personal data. The lake should hold none of them; should a column of
# one of these names ever appear, ``dmp show`` prints it hidden.
SENSITIVE_COLUMNS: frozenset[str] = _INGEST_PII | frozenset(
    {
        "email",
        "phone",
        "first_name",
        "last_name",
        "full_name",
        "address",
        "street",
        "ip",
        "ip_address",
        "date_of_birth",
        "birthday",
    }
)
_HIDDEN = "<hidden: sensitive>"


@dataclass(frozen=True)
class Listing:
    """A console table: its title, header and rows of display strings."""

    title: str
    header: list[str]
    rows: list[list[str]]


# -- table names --------------------------------------------------------------------------
def check_table(lake: Lake, name: str) -> None:
    """Raise a one-line :class:`UserError` unless ``name`` is an existing table.

    Close names (``difflib``) are suggested.
    """
    from dmp.lake.errors import LakeError

    try:
        found = lake.exists(name)
    except LakeError as error:
        found = False
        if "/" not in name:
            raise UserError(f"unknown table {name!r}{_suggest(lake, name)}") from error
    if not found:
        raise UserError(f"unknown table {name!r}{_suggest(lake, name)}")


def _suggest(lake: Lake, name: str) -> str:
    names = [t.name for t in _safe_tables(lake)]
    # let "segments" find "gold/segments": match on the short name too
    short = {n.split("/", 1)[1]: n for n in names}
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    close += [
        short[s]
        for s in difflib.get_close_matches(name, list(short), n=3, cutoff=0.6)
        if short[s] not in close
    ]
    if close:
        return f"; did you mean {', '.join(close[:3])}?"
    return " (see `dmp tables`)"


def _safe_tables(lake: Lake) -> list[Any]:
    try:
        return lake.tables()
    except Exception:  # a broken table must not hide the real error
        return []


def _check_column(name: str, column: str, known: Sequence[str]) -> None:
    if column not in known:
        close = difflib.get_close_matches(column, list(known), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; columns: {', '.join(known)}"
        raise UserError(f"{name} has no column {column!r}{hint}")


# -- dmp segments list --------------------------------------------------------------------
def segments(lake: Lake, as_of: date | None = None) -> Listing:
    """Segment sizes of one snapshot (the latest unless ``as_of``) from gold/segment_sizes."""
    if not lake.exists(SEGMENT_SIZES_TABLE):
        raise UserError(f"{SEGMENT_SIZES_TABLE} does not exist yet: run `dmp segments` first")
    days = lake.partition_values(SEGMENT_SIZES_TABLE, "as_of")
    if not days:
        return Listing("Segments", ["segment", "size", "share", "as_of", "description"], [])
    day = as_of.isoformat() if as_of is not None else max(days)
    if day not in days:
        raise UserError(f"no segment sizes as of {day}; snapshots: {', '.join(sorted(days)[-5:])}")
    data = lake.read_arrow(
        SEGMENT_SIZES_TABLE, predicate=f"as_of = '{date.fromisoformat(day).isoformat()}'"
    )
    rows = sorted(data.to_pylist(), key=lambda r: (-(r.get("size") or 0), r["segment"]))
    return Listing(
        f"Segments as of {day}",
        ["segment", "size", "share", "as_of", "description"],
        [
            [
                str(r["segment"]),
                f"{r['size']:,}" if r.get("size") is not None else "-",
                f"{r['share']:.1%}" if r.get("share") is not None else "-",
                str(r["as_of"]),
                str(r.get("description") or ""),
            ]
            for r in rows
        ],
    )


# -- exports ------------------------------------------------------------------------------
def _manifests(exports_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every ``exports/<source>/<channel>/<id>/manifest.json``, newest first."""
    found: list[tuple[Path, dict[str, Any]]] = []
    if not exports_dir.is_dir():
        return found
    for path in exports_dir.glob("*/*/*/manifest.json"):
        if any(part.startswith(".") for part in path.relative_to(exports_dir).parts):
            continue
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict):
            found.append((path.parent, manifest))
    found.sort(key=lambda item: str(item[1].get("created_at", "")), reverse=True)
    return found


def _source_name(folder: Path, manifest: dict[str, Any]) -> str:
    source = manifest.get("source") or {}
    if isinstance(source, dict):
        for key in ("audience", "segment"):
            if source.get(key):
                return str(source[key])
    return folder.parent.parent.name


def _channel_name(folder: Path, manifest: dict[str, Any]) -> str:
    channel = manifest.get("channel")
    if isinstance(channel, dict) and channel.get("name"):
        return str(channel["name"])
    return folder.parent.name


def _when(manifest: dict[str, Any]) -> str:
    return str(manifest.get("created_at", ""))[:19].replace("T", " ") or "-"


def exports(exports_dir: Path, limit: int | None = None) -> Listing:
    """Exports from the manifests under the exports folder, newest first."""
    rows = []
    for folder, manifest in _manifests(exports_dir)[:limit]:
        count = manifest.get("rows")
        rows.append(
            [
                _source_name(folder, manifest),
                _channel_name(folder, manifest),
                _when(manifest),
                f"{count:,}" if isinstance(count, int) else "-",
                str(manifest.get("as_of") or "-"),
                str(folder),
            ]
        )
    return Listing(
        f"Exports in {exports_dir}",
        ["audience", "channel", "when (UTC)", "rows", "as_of", "folder"],
        rows,
    )


# -- dmp audiences ------------------------------------------------------------------------
def _partition_counts(lake: Lake, name: str) -> dict[tuple[str, str], int]:
    """Rows per ``(audience, as_of)`` partition from the log's file statistics."""
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(str(lake.path(name))).get_add_actions(flatten=True))
    counts: dict[tuple[str, str], int] = {}
    columns = set(actions.column_names)
    if not {"partition.audience", "partition.as_of", "num_records"} <= columns:
        return counts
    for audience, day, rows in zip(
        actions.column("partition.audience").to_pylist(),
        actions.column("partition.as_of").to_pylist(),
        actions.column("num_records").to_pylist(),
        strict=True,
    ):
        key = (str(audience), str(day))
        counts[key] = counts.get(key, 0) + int(rows or 0)
    return counts


def _summaries(reports_dir: Path, audience: str) -> list[dict[str, Any]]:
    """The audience's lookalike ``summary.json`` files, newest report first."""
    folder = reports_dir / "lookalike" / audience
    if not folder.is_dir():
        return []
    found = []
    for run in sorted(folder.iterdir(), key=lambda p: p.name, reverse=True):
        if run.name.startswith(".") or not (run / "summary.json").is_file():
            continue
        try:
            loaded = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(loaded, dict):
            found.append(loaded)
    return found


def _run_methods(lake: Lake) -> dict[str, str]:
    """``audience -> method`` requested by its latest successful ``dmp lookalike`` run.

    The run log keeps the command's parameters (``name``, ``method`` when one was asked
    for), not the method ``auto`` chose: the report's ``summary.json`` is preferred.
    """
    if not lake.exists(RUNS_TABLE):
        return {}
    data = lake.read_arrow(RUNS_TABLE, columns=["job", "status", "params", "started_at"])
    methods: dict[str, str] = {}
    for row in sorted(data.to_pylist(), key=lambda r: r["started_at"]):
        if row["job"] != "lookalike" or row["status"] != "succeeded":
            continue
        params = dict(row["params"] or [])
        name = params.get("name") or params.get("audience")
        if name and params.get("method") and params["method"] != "auto":
            methods[name] = params["method"]
    return methods


def audiences(lake: Lake, reports_dir: Path, exports_dir: Path) -> Listing:
    """Lookalike audiences: as_of, method, headline lift@1% (time split or held-out), size,
    tiers and last export."""
    header = ["audience", "as_of", "method", "lift@1%", "size", "reach", "last export"]
    if not lake.exists(AUDIENCES_TABLE):
        return Listing("Audiences", header, [])
    sizes = _partition_counts(lake, AUDIENCES_TABLE)
    reach: dict[tuple[str, str], list[tuple[int, int]]] = {}
    if lake.exists(REACH_TABLE):
        for row in lake.read_arrow(REACH_TABLE).to_pylist():
            key = (str(row["audience"]), str(row["as_of"]))
            reach.setdefault(key, []).append((int(row["tier"]), int(row["people"])))
    methods = _run_methods(lake)
    last_export: dict[str, str] = {}
    for folder, manifest in reversed(_manifests(exports_dir)):
        source = manifest.get("source") or {}
        if isinstance(source, dict) and source.get("audience"):
            name = str(source["audience"])
            last_export[name] = f"{_when(manifest)} -> {_channel_name(folder, manifest)}"
    rows = []
    for audience, day in sorted(sizes, key=lambda k: (k[0], k[1]), reverse=False):
        summary = next(
            (s for s in _summaries(reports_dir, audience) if str(s.get("as_of")) == day), {}
        )
        method = summary.get("method") or methods.get(audience) or "-"
        lift = summary.get("lift_at_1pct")
        tiers = sorted(reach.get((audience, day), []))
        rows.append(
            [
                audience,
                day,
                str(method),
                f"{lift:.1f}x ({summary.get('headline') or 'held-out'})"
                if isinstance(lift, int | float)
                else "-",
                f"{sizes[(audience, day)]:,}",
                ", ".join(f"{t}%: {p:,}" for t, p in tiers) or "-",
                last_export.get(audience, "-"),
            ]
        )
    return Listing("Audiences", header, rows)


# -- dmp show: the --where language -------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?(?![\w.]))"
    r"|(?P<op><=|>=|!=|<>|=|<|>)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_OPS = {
    "=": pc.equal,
    "!=": pc.not_equal,
    "<>": pc.not_equal,
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise UserError(f"--where: cannot read {text[position:].strip()[:30]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def parse_where(text: str, schema: pa.Schema, table: str = "table") -> pc.Expression:
    """Turn ``col op literal [AND col op literal ...]`` into a pyarrow expression.

    Operators: ``= != <> < <= > >=``; literals: ``'text'`` (``''`` for a quote), numbers,
    ``true``/``false``; ``col IS NULL`` / ``col IS NOT NULL``. Literals are cast to the
    column's type (``as_of = '2026-01-06'`` compares dates). Nothing is evaluated.

    Raises:
        UserError: Bad syntax, an unknown column or a literal of the wrong type.
    """
    tokens = _tokens(text)
    if not tokens:
        raise UserError("--where is empty")
    expression: pc.Expression | None = None
    index = 0
    while True:
        clause, index = _clause(tokens, index, schema, table)
        expression = clause if expression is None else expression & clause
        if index == len(tokens):
            return expression
        kind, value = tokens[index]
        if kind != "word" or value.upper() != "AND":
            raise UserError(f"--where: expected AND, got {value!r}")
        index += 1


def _clause(
    tokens: list[tuple[str, str]], index: int, schema: pa.Schema, table: str
) -> tuple[pc.Expression, int]:
    if index >= len(tokens) or tokens[index][0] != "word":
        got = tokens[index][1] if index < len(tokens) else "the end"
        raise UserError(f"--where: expected a column name, got {got!r}")
    column = tokens[index][1]
    _check_column(table, column, schema.names)
    if column.lower() in SENSITIVE_COLUMNS:  # a filter would reveal the value row by row
        raise UserError(f"--where: {column} holds personal data and cannot be filtered on")
    field = pc.field(column)
    kind = schema.field(column).type
    rest = tokens[index + 1 :]
    if rest and rest[0][0] == "word" and rest[0][1].upper() == "IS":
        if len(rest) >= 3 and rest[1][1].upper() == "NOT" and rest[2][1].upper() == "NULL":
            return ~field.is_null(), index + 4
        if len(rest) >= 2 and rest[1][1].upper() == "NULL":
            return field.is_null(), index + 3
        raise UserError("--where: expected IS NULL or IS NOT NULL")
    if len(rest) < 2 or rest[0][0] != "op":
        raise UserError(f"--where: expected an operator (= != < <= > >=) after {column}")
    op = rest[0][1]
    literal_kind, literal = rest[1]
    value: Any
    if literal_kind == "string":
        value = literal[1:-1].replace("''", "'")
    elif literal_kind == "number":
        value = float(literal) if "." in literal else int(literal)
    elif literal_kind == "word" and literal.lower() in ("true", "false"):
        value = literal.lower() == "true"
    else:
        raise UserError(f"--where: expected a literal after {column} {op}, got {literal!r}")
    return _OPS[op](field, _scalar(value, kind, column)), index + 3


def _scalar(value: Any, kind: pa.DataType, column: str) -> pa.Scalar:
    try:
        if isinstance(value, str) and pa.types.is_date(kind):
            return pa.scalar(date.fromisoformat(value), kind)
        if isinstance(value, str) and pa.types.is_timestamp(kind):
            stamp = datetime.fromisoformat(value)
            if kind.tz is not None and stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=UTC)
            return pa.scalar(stamp, kind)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            if not isinstance(value, str):
                raise TypeError
            return pa.scalar(value, kind)
        return pa.scalar(value).cast(kind)
    except (TypeError, ValueError, pa.ArrowException) as error:
        raise UserError(f"--where: {value!r} is not a valid {kind} for column {column}") from error


# -- dmp show -----------------------------------------------------------------------------
def show(
    lake: Lake,
    name: str,
    *,
    version: int | None = None,
    as_of: date | None = None,
    where: str | None = None,
    columns: Sequence[str] | None = None,
    limit: int = 20,
) -> Listing:
    """A few rows of a table (at an older ``version``, one ``as_of`` partition, filtered).

    Reads at most ``limit`` rows through a pyarrow dataset, so it stays fast on large
    tables. Columns named like raw personal data are never printed in clear.
    """
    from deltalake import DeltaTable

    check_table(lake, name)
    current = lake.version(name)
    if version is not None and (version < 0 or (current is not None and version > current)):
        raise UserError(f"{name} has versions 0..{current}, not {version}")
    schema = lake.arrow_schema(name, version)
    names = schema.names
    chosen = list(columns) if columns else names
    for column in chosen:
        _check_column(name, column, names)
    filters: list[pc.Expression] = []
    if as_of is not None:
        if "as_of" not in names:
            raise UserError(f"{name} has no as_of column; use --version for an older state")
        filters.append(pc.field("as_of") == pa.scalar(as_of, schema.field("as_of").type))
    if where:
        filters.append(parse_where(where, schema, name))
    table = DeltaTable(str(lake.path(name)), version=version)
    dataset = table.to_pyarrow_dataset()
    expression = None
    for item in filters:
        expression = item if expression is None else expression & item
    try:
        data = dataset.head(limit, columns=chosen, filter=expression)
    except (pa.ArrowException, ValueError) as error:
        raise UserError(f"cannot filter {name}: {str(error).splitlines()[0]}") from error
    rows = [
        [_cell(c, v) for c, v in zip(chosen, row.values(), strict=True)] for row in data.to_pylist()
    ]
    at = f" @ version {version}" if version is not None else ""
    return Listing(f"{name}{at} ({len(rows)} rows shown)", chosen, rows)


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column.lower() in SENSITIVE_COLUMNS:
        return _HIDDEN
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and value and all(isinstance(i, tuple) for i in value):
        value = dict(value)  # an Arrow map column arrives as (key, value) pairs
    if isinstance(value, list | dict):
        text = json.dumps(value, default=str)
        return text if len(text) <= 80 else text[:77] + "..."
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- dmp history --------------------------------------------------------------------------
def history(lake: Lake, name: str, limit: int | None = None) -> Listing:
    """Commits of a table, newest first: version, time, operation and its metrics."""
    from deltalake import DeltaTable

    check_table(lake, name)
    rows = []
    for entry in DeltaTable(str(lake.path(name))).history(limit=limit):
        stamp = datetime.fromtimestamp(int(entry.get("timestamp", 0)) / 1000, tz=UTC)
        metrics = entry.get("operationMetrics") or {}
        shown = ", ".join(
            f"{k}={v}"
            for k, v in sorted(metrics.items())
            if k.startswith("num") and v not in (None, 0, "0")
        )
        job = entry.get("dmp.job") or entry.get("dmp.table") or ""
        rows.append(
            [
                str(entry.get("version", "-")),
                stamp.strftime("%Y-%m-%d %H:%M:%S"),
                str(entry.get("operation", "")),
                shown or "-",
                str(job),
            ]
        )
    return Listing(
        f"History of {name}", ["version", "committed", "operation", "metrics", "by"], rows
    )
