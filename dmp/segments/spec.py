"""Segment and scoring-plan specs (``conf/segments.yaml`` or ``dmp segments --file``).

```yaml
segments:
  - name: sleeping_vips
    description: Valuable customers who stopped buying
    where: lifecycle_stage = 'sleeping' AND vip_level >= 4
  - name: cross_sell_case
    description: Bought the phone, not the case (see gold/product_rules)
    where: bought('P00042') AND NOT bought('P00107')
scoring:
  - name: value_score
    description: Lead-scoring style value of a person
    rules:
      - {when: "vip_level >= 4", points: 30}
      - {when: "lifecycle_stage = 'active'", points: 20}
```
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from dmp.errors import ConfigError
from dmp.expressions import check_name, expand_shorthands
from dmp.segments.combined import CombinedSegment
from dmp.spec import StrictModel, load_yaml_spec


class SegmentSpec(StrictModel):
    """A named set of people: those whose profile satisfies ``where``."""

    name: str
    description: str = ""
    where: str = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str) -> str:
        return check_name(value, "segment")

    @field_validator("where")
    @classmethod
    def _shorthands(cls, value: str) -> str:
        return expand_shorthands(value)


class ScoringRule(StrictModel):
    """``points`` for every person satisfying ``when``."""

    when: str = Field(min_length=1)
    points: float


class ScoringPlan(StrictModel):
    """A lead-scoring style plan: a person's score is the sum of the rules it satisfies."""

    name: str
    description: str = ""
    rules: list[ScoringRule] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str) -> str:
        return check_name(value, "scoring plan")


class SegmentFile(StrictModel):
    """The contents of a segments file."""

    segments: list[SegmentSpec] = Field(default_factory=list)
    scoring: list[ScoringPlan] = Field(default_factory=list)
    combined: list[CombinedSegment] = Field(default_factory=list)
    """Segments made of other segments and uploaded lists (:mod:`dmp.segments.combined`)."""

    @model_validator(mode="after")
    def _unique_names(self) -> SegmentFile:
        for kind, names in (
            ("segments", [s.name for s in self.segments] + [c.name for c in self.combined]),
            ("scoring", [p.name for p in self.scoring]),
        ):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{kind}: duplicate names {duplicates}")
        return self


def load_segment_file(path: Path) -> SegmentFile:
    """Load and validate a segments file (the expressions are checked later, on the schema)."""
    if not path.exists():
        raise ConfigError(f"segments file {path} does not exist")
    return load_yaml_spec(path, SegmentFile)
