"""Funnel definitions (the ``funnels:`` section of the config).

```yaml
funnels:
  lookback_days: 30
  definitions:
    - name: purchase
      window_hours: 72
      steps:
        - {event: Product Viewed}
        - {event: Product Added, name: added_to_cart}
        - {event: Checkout Started}
        - {event: Order Completed}
```
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from dmp.spec import StrictModel

_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # as dmp.expressions, which imports pyspark
PropertyValue = str | int | float | bool


class FunnelStep(StrictModel):
    """One step: an event name, optionally narrowed by property values (all must match).

    A property that is a column of ``bronze/events`` (``category``, ``brand``, ``coupon``,
    ``channel``, ...) is compared with that column; any other name is looked up in the
    event's remaining properties (``properties_json``) and compared as text.
    """

    event: str = Field(min_length=1)
    name: str | None = None
    properties: dict[str, PropertyValue] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, "funnel step")

    @field_validator("properties")
    @classmethod
    def _keys(cls, value: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
        for key in value:
            if not _PROPERTY.match(key):
                raise ValueError(f"property name {key!r} must be a plain identifier")
        return value

    @property
    def label(self) -> str:
        """How the step is shown: its name, else its event."""
        return self.name or self.event


class FunnelSpec(StrictModel):
    """An ordered funnel: people reach step k+1 only after step k, within the window."""

    name: str
    description: str = ""
    steps: list[FunnelStep] = Field(min_length=2, max_length=20)
    window_hours: float = Field(72.0, gt=0)
    """Every step must happen within this many hours of the person's step-1 event."""
    dropoff_segments: bool = True
    """Write ``funnel_<name>_dropoff_<k>`` segments (reached step k, not k+1)."""

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str) -> str:
        return _check_name(value, "funnel")

    def segment_name(self, step: int) -> str:
        """The drop-off segment of people who reached step ``step`` (1-based) but not the next."""
        return f"funnel_{self.name}_dropoff_{step}"


class FunnelSettings(StrictModel):
    """Funnels computed by ``dmp funnels`` (and the daily pipeline)."""

    lookback_days: int = Field(30, ge=1, le=3660)
    """Funnels start with step-1 events of the last ``lookback_days`` days up to ``as_of``."""
    definitions: list[FunnelSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> FunnelSettings:
        names = [f.name for f in self.definitions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate funnel names {duplicates}")
        return self

    def get(self, name: str) -> FunnelSpec | None:
        """The funnel called ``name``, if defined."""
        return next((f for f in self.definitions if f.name == name), None)


def _check_name(name: str, kind: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} must be lower-case snake_case")
    return name
