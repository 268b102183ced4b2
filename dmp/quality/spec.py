"""Gate specs: the batch rules (checks) and drift rules of one gate, loaded from YAML.

A gate file maps gate names (usually the table they guard, ``bronze/events``) to their
rules::

    silver/profiles:
      description: one row per person, sane money columns
      checks:
        - {type: not_null, column: person_id}
        - {type: unique, column: person_id}
        - {type: between, column: revenue_total, min: 0, mostly: 0.999}
      drift:
        - {type: volume, band: [0.8, 1.5], severity: error}
        - {type: distribution, column: lifecycle_stage, max_shift: 0.1}

Checks whose ``type`` GX can express run as one GX suite; the others (``schema``,
``share_at_most``) and every drift rule are plain Spark aggregates.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from dmp.errors import ConfigError
from dmp.spec import StrictModel, describe_validation_error, read_yaml

__all__ = [
    "Between",
    "Check",
    "ColumnsExist",
    "DistributionDrift",
    "DriftRule",
    "GateSpec",
    "InSet",
    "MatchesRegex",
    "NotNull",
    "RowCountBetween",
    "Schema",
    "Severity",
    "ShareAtMost",
    "Unique",
    "VolumeDrift",
    "load_gate_specs",
]

Severity = Literal["error", "warning"]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Bound = int | float | date | datetime
Scalar = str | int | float | bool

_SPARK_TYPE_ALIASES = {
    "long": "bigint",
    "integer": "int",
    "short": "smallint",
    "byte": "tinyint",
    "timestamp_ltz": "timestamp",
    "bool": "boolean",
    "real": "float",
}


class _CheckBase(StrictModel):
    """Fields every check has.

    Attributes:
        name: Label in the report; defaults to a description of the rule.
        severity: ``error`` fails the gate; ``warning`` is reported only.
    """

    name: str | None = None
    severity: Severity = "error"

    @property
    def label(self) -> str:
        """The name shown in reports: ``name`` or a description of the rule."""
        return self.name or self.describe()

    def describe(self) -> str:  # pragma: no cover - every variant overrides it
        """A short description of the rule, e.g. ``not_null(person_id)``."""
        raise NotImplementedError


def _mostly(mostly: float) -> str:
    return "" if mostly >= 1.0 else f", mostly {mostly:g}"


class NotNull(_CheckBase):
    """At least ``mostly`` of all rows have a value in ``column``."""

    type: Literal["not_null"]
    column: str
    mostly: Share = 1.0

    def describe(self) -> str:
        return f"not_null({self.column}{_mostly(self.mostly)})"


class Unique(_CheckBase):
    """Values of ``column`` (or the combination of ``columns``) occur once.

    Nulls are ignored. GX counts every row whose value occurs more than once as
    unexpected, so two copies of one value are two unexpected rows.
    """

    type: Literal["unique"]
    column: str | None = None
    columns: list[str] | None = Field(None, min_length=2)
    mostly: Share = 1.0

    @model_validator(mode="after")
    def _one_of(self) -> Unique:
        if (self.column is None) == (self.columns is None):
            raise ValueError("give exactly one of column or columns")
        return self

    @property
    def key(self) -> list[str]:
        """The column or columns whose values must be unique."""
        return [self.column] if self.column is not None else list(self.columns or [])

    def describe(self) -> str:
        return f"unique({', '.join(self.key)}{_mostly(self.mostly)})"


class Between(_CheckBase):
    """At least ``mostly`` of the non-null values lie in ``[min, max]``.

    Either bound may be left out; ``strict_min``/``strict_max`` exclude the bound itself.
    Bounds may be numbers, dates or timestamps.
    """

    type: Literal["between"]
    column: str
    min: Bound | None = None
    max: Bound | None = None
    strict_min: bool = False
    strict_max: bool = False
    mostly: Share = 1.0

    @model_validator(mode="after")
    def _some_bound(self) -> Between:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self

    def describe(self) -> str:
        low = "" if self.min is None else str(self.min)
        high = "" if self.max is None else str(self.max)
        return f"between({self.column}, {low}..{high}{_mostly(self.mostly)})"


class InSet(_CheckBase):
    """At least ``mostly`` of the non-null values of ``column`` are among ``values``."""

    type: Literal["in_set"]
    column: str
    values: list[Scalar] = Field(min_length=1)
    mostly: Share = 1.0

    def describe(self) -> str:
        shown = ", ".join(str(v) for v in self.values[:5]) + (", …" if len(self.values) > 5 else "")
        return f"in_set({self.column} in {{{shown}}}{_mostly(self.mostly)})"


class MatchesRegex(_CheckBase):
    """At least ``mostly`` of the non-null values of ``column`` match ``regex``.

    The regex is a Java regex applied with Spark's ``rlike`` (a *search*: anchor it with
    ``^...$`` to match whole values).
    """

    type: Literal["matches_regex"]
    column: str
    regex: str = Field(min_length=1)
    mostly: Share = 1.0

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str) -> str:
        try:
            re.compile(regex)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
        return regex

    def describe(self) -> str:
        return f"matches_regex({self.column} ~ /{self.regex}/{_mostly(self.mostly)})"


class ColumnsExist(_CheckBase):
    """Every one of ``columns`` exists (other columns may exist too)."""

    type: Literal["columns_exist"]
    columns: list[str] = Field(min_length=1)

    def describe(self) -> str:
        return f"columns_exist({', '.join(self.columns)})"


class Schema(_CheckBase):
    """The named columns exist with the given Spark SQL types.

    Types are Spark's simple strings (``string``, ``bigint``, ``double``, ``timestamp``,
    ``date``, ``array<string>``, ``decimal(12,2)``); ``long``/``integer`` are accepted
    for ``bigint``/``int``. With ``exact``, no other column may exist.
    """

    type: Literal["schema"]
    columns: dict[str, str] = Field(min_length=1)
    exact: bool = False

    @field_validator("columns")
    @classmethod
    def _normalise_types(cls, columns: dict[str, str]) -> dict[str, str]:
        return {name: normalise_spark_type(kind) for name, kind in columns.items()}

    def describe(self) -> str:
        return f"schema({len(self.columns)} columns{', exact' if self.exact else ''})"


class RowCountBetween(_CheckBase):
    """The batch has between ``min`` and ``max`` rows (inclusive)."""

    type: Literal["row_count_between"]
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> RowCountBetween:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self

    def describe(self) -> str:
        low = "" if self.min is None else str(self.min)
        high = "" if self.max is None else str(self.max)
        return f"row_count_between({low}..{high})"


class ShareAtMost(_CheckBase):
    """At most ``max_share`` of all rows meet a condition.

    The condition is one of:

    * ``expr``: a Spark SQL boolean expression (``"quantity < 0"``);
    * ``column`` with ``value``: the column equals the value (a placeholder id);
    * ``column`` alone: the most frequent non-null value of the column (no value may
      dominate; the value itself is never reported).
    """

    type: Literal["share_at_most"]
    max_share: Share
    column: str | None = None
    value: Scalar | None = None
    expr: str | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> ShareAtMost:
        if (self.column is None) == (self.expr is None):
            raise ValueError("give exactly one of column or expr")
        if self.value is not None and self.column is None:
            raise ValueError("value needs column")
        return self

    def describe(self) -> str:
        if self.expr is not None:
            condition = self.expr
        elif self.value is not None:
            condition = f"{self.column} = {self.value!r}"
        else:
            condition = f"top value of {self.column}"
        return f"share_at_most({condition} <= {self.max_share:g})"


Check = Annotated[
    NotNull
    | Unique
    | Between
    | InSet
    | MatchesRegex
    | ColumnsExist
    | Schema
    | RowCountBetween
    | ShareAtMost,
    Field(discriminator="type"),
]
"""One batch rule; the ``type`` field picks the variant."""

GX_CHECKS: tuple[type[_CheckBase], ...] = (
    NotNull,
    Unique,
    Between,
    InSet,
    MatchesRegex,
    ColumnsExist,
    RowCountBetween,
)
"""Check variants that run as GX expectations; the others are Spark aggregates."""


class _DriftBase(StrictModel):
    name: str | None = None
    severity: Severity = "warning"

    @property
    def label(self) -> str:
        """The name shown in reports: ``name`` or a description of the rule."""
        return self.name or self.describe()

    def describe(self) -> str:  # pragma: no cover - every variant overrides it
        """A short description of the rule."""
        raise NotImplementedError


class VolumeDrift(_DriftBase):
    """The row count is within ``band`` (ratios) of the previous version's row count."""

    type: Literal["volume"]
    band: tuple[Annotated[float, Field(ge=0.0)], Annotated[float, Field(ge=0.0)]]

    @field_validator("band")
    @classmethod
    def _ordered(cls, band: tuple[float, float]) -> tuple[float, float]:
        if band[0] > band[1]:
            raise ValueError("the low ratio is greater than the high ratio")
        return band

    def describe(self) -> str:
        return f"volume within {self.band[0]:g}x..{self.band[1]:g}x of previous"


class DistributionDrift(_DriftBase):
    """The category shares of ``column`` moved by at most ``max_shift``.

    The shift is the total-variation distance between the previous and current shares
    of the previous version's ``top_k`` values, with all other values pooled into one
    bucket (so a new dominant value shows up as growth of that bucket) and nulls counted
    as a category. Meant for low-cardinality categorical columns: the category values
    appear in the report.
    """

    type: Literal["distribution"]
    column: str
    max_shift: Annotated[float, Field(gt=0.0, le=1.0)]
    top_k: Annotated[int, Field(ge=1, le=200)] = 20

    def describe(self) -> str:
        return f"distribution({self.column}) shift <= {self.max_shift:g}"


DriftRule = Annotated[VolumeDrift | DistributionDrift, Field(discriminator="type")]
"""One comparison with the previous published version."""


class GateSpec(StrictModel):
    """The rules of one gate.

    Attributes:
        name: Gate name, usually the table it guards (``silver/profiles``).
        description: What the gate is for, shown in the report.
        checks: Batch rules on the DataFrame about to be published.
        drift: Comparisons with the previous published version.
    """

    name: str = Field(min_length=1)
    description: str = ""
    checks: list[Check] = Field(default_factory=list)
    drift: list[DriftRule] = Field(default_factory=list)


def normalise_spark_type(kind: str) -> str:
    """Spark SQL type text as ``DataType.simpleString()`` writes it (``long`` -> ``bigint``)."""
    compact = re.sub(r"\s+", "", kind.strip().lower())
    return re.sub(r"[a-z_]+", lambda m: _SPARK_TYPE_ALIASES.get(m.group(0), m.group(0)), compact)


_GATE_FILE = TypeAdapter(dict[str, GateSpec])


def load_gate_specs(path: Path) -> dict[str, GateSpec]:
    """Load and validate every gate of a YAML gate file.

    Args:
        path: The gate file (``conf/gates.yaml``), a mapping of gate name to its rules.

    Returns:
        The gates keyed by name.

    Raises:
        ConfigError: The file is missing, not YAML, or a gate is invalid; the message
            names the file and the dotted key (``bronze/events.checks.0.not_null.mostly``).
    """
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must map gate names to their rules")
    named: dict[str, Any] = {}
    for key, body in data.items():
        if isinstance(body, dict):
            if "name" in body and body["name"] != key:
                raise ConfigError(
                    f"{path}: {key}.name: differs from the gate's key ({body['name']!r}); "
                    "leave it out"
                )
            body = {**body, "name": str(key)}
        elif body is None:
            body = {"name": str(key)}
        named[str(key)] = body
    try:
        return _GATE_FILE.validate_python(named)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, default_source=str(path))) from None
