"""Named Spark SQL boolean expressions over a table's columns (tags, segments, scoring).

Specs are validated against the table's schema before any data is read: an unknown column
or a syntax error is a one-line :class:`UserError` naming the spec and the expression.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from pyspark.sql import SparkSession
from pyspark.sql.types import BooleanType, StructType

from dmp.errors import UserError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNRESOLVED = re.compile(r"`?([A-Za-z_][A-Za-z0-9_.]*)`? cannot be resolved")
# String literals ('it''s', "x", with backslash escapes) and identifiers (plain or `quoted`).
_LITERAL = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\"")
_IDENTIFIER = re.compile(r"`([^`]+)`|\b([A-Za-z_][A-Za-z0-9_]*)\b")
# bought('P1'): a single-quoted product id (backslash escapes, as in Spark SQL), not
# preceded by a name character so that e.g. ``rebought(`` is left alone.
_BOUGHT = re.compile(r"(?<![A-Za-z0-9_.])bought\s*\(\s*('(?:[^'\\]|\\.)*+')\s*\)", re.IGNORECASE)


def expand_shorthands(expression: str) -> str:
    """Rewrite dmp's shorthands into Spark SQL.

    ``bought('P1')`` is true when product ``P1`` is among the person's
    ``purchased_products``, so a cross-sell segment reads
    ``bought('P1') AND NOT bought('P2')``.
    """
    return _BOUGHT.sub(r"array_contains(purchased_products, \1)", expression)


def check_name(name: str, kind: str) -> str:
    """Names of tags, segments and plans are lower-case snake_case."""
    if not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} must be lower-case snake_case")
    return name


def referenced_columns(expression: str, columns: Iterable[str]) -> set[str]:
    """The ``columns`` an expression mentions (string literals are not mentions).

    >>> sorted(referenced_columns("vip_level >= 4 AND lifecycle_stage = 'vip_level'",
    ...                           ["vip_level", "lifecycle_stage", "aov"]))
    ['lifecycle_stage', 'vip_level']
    """
    known = {c.lower(): c for c in columns}
    text = _LITERAL.sub(" ", expression)
    found: set[str] = set()
    for match in _IDENTIFIER.finditer(text):
        name = (match.group(1) or match.group(2)).lower()
        if name in known:
            found.add(known[name])
    return found


def validate_expressions(
    spark: SparkSession, schema: StructType, expressions: Iterable[tuple[str, str]], kind: str
) -> None:
    """Check every ``(name, expression)`` is a boolean expression over ``schema``'s columns.

    Uses Spark's analyser on an empty DataFrame: nothing is read and no job runs.

    Raises:
        UserError: Unknown column (with the closest column names), syntax error, or an
            expression that is not boolean.
    """
    from pyspark.errors import AnalysisException, ParseException

    empty = spark.createDataFrame([], schema)
    columns = [f.name for f in schema.fields]
    for name, expression in expressions:
        try:
            analysed = empty.selectExpr(f"({expression}) AS __check").schema
        except ParseException as error:
            message = str(error).splitlines()[0]
            raise UserError(f"{kind} {name!r}: cannot parse {expression!r}: {message}") from None
        except AnalysisException as error:
            text = str(error)
            missing = _UNRESOLVED.search(text)
            if missing:
                column = missing.group(1)
                close = difflib.get_close_matches(column, columns, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise UserError(
                    f"{kind} {name!r}: unknown column {column!r} in {expression!r}{hint}"
                ) from None
            first = text.splitlines()[0]
            raise UserError(
                f"{kind} {name!r}: invalid expression {expression!r}: {first}"
            ) from None
        if not isinstance(analysed["__check"].dataType, BooleanType):
            raise UserError(
                f"{kind} {name!r}: {expression!r} is {analysed['__check'].dataType.simpleString()},"
                " not a boolean condition"
            )
