"""Segments built from other segments and uploaded lists: union, intersection, exclusion.

```yaml
combined:
  - name: vips_to_win_back
    include: [sleeping_vips, lapsing_buyers]     # union
    intersect: [email_reachable]                 # and in every one of these
    exclude: [recent_buyers, list:do_not_contact]  # minus anyone in these
```

A reference is a segment of the same file (plain or combined) or ``list:NAME`` (see
:mod:`dmp.segments.lists`). Unknown references and cycles are refused before any Spark
work; combined segments are then computed in dependency order from the snapshot's plain
segments, with joins only (nothing per person reaches the driver).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import Field, field_validator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dmp.errors import UserError
from dmp.expressions import check_name
from dmp.spec import StrictModel

__all__ = ["LIST_PREFIX", "CombinedSegment", "combine", "evaluation_order"]

LIST_PREFIX = "list:"


class CombinedSegment(StrictModel):
    """People in any ``include``, in every ``intersect``, and in no ``exclude``."""

    name: str
    description: str = ""
    include: list[str] = Field(min_length=1)
    intersect: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str) -> str:
        return check_name(value, "segment")

    def references(self) -> list[str]:
        """Every segment or ``list:NAME`` this one reads, in file order."""
        return [*self.include, *self.intersect, *self.exclude]

    def formula(self) -> str:
        """A one-line description for ``gold/segment_sizes.where``."""
        text = " OR ".join(self.include)
        text = f"({text})" if len(self.include) > 1 else text
        for name in self.intersect:
            text += f" AND {name}"
        for name in self.exclude:
            text += f" AND NOT {name}"
        return text


def evaluation_order(
    plain: Iterable[str], combined: Iterable[CombinedSegment], lists: Iterable[str]
) -> list[CombinedSegment]:
    """Combined segments in an order where each comes after everything it references.

    Args:
        plain: Names of the plain (``where``) segments.
        combined: The combined segments.
        lists: Names of the uploaded lists that exist.

    Raises:
        UserError: A reference names no segment or list, or segments reference each other
            in a cycle.
    """
    known = set(plain)
    by_name = {c.name: c for c in combined}
    available = set(lists)
    for segment in by_name.values():
        for ref in segment.references():
            if ref.startswith(LIST_PREFIX):
                if ref[len(LIST_PREFIX) :] not in available:
                    shown = ", ".join(sorted(available)) or "none"
                    raise UserError(
                        f"segment {segment.name}: unknown list {ref!r} (lists: {shown}); "
                        "upload it with `dmp lists add`"
                    )
            elif ref not in known and ref not in by_name:
                raise UserError(f"segment {segment.name}: unknown segment {ref!r}")
    order: list[CombinedSegment] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            cycle = [*path[path.index(name) :], name]
            raise UserError(f"segments reference each other in a cycle: {' -> '.join(cycle)}")
        state[name] = "open"
        for ref in by_name[name].references():
            if ref in by_name:
                visit(ref, [*path, name])
        state[name] = "done"
        order.append(by_name[name])

    for name in by_name:
        visit(name, [])
    return order


def combine(
    plain_members: DataFrame,
    order: list[CombinedSegment],
    lists: Mapping[str, DataFrame],
) -> DataFrame:
    """``segment, person_id`` of every combined segment.

    Args:
        plain_members: ``segment, person_id`` of the plain segments.
        order: Combined segments from :func:`evaluation_order`.
        lists: ``person_id`` of each referenced list, by list name.
    """
    frames: dict[str, DataFrame] = {}

    def people(ref: str) -> DataFrame:
        if ref.startswith(LIST_PREFIX):
            return lists[ref[len(LIST_PREFIX) :]].select("person_id")
        if ref in frames:
            return frames[ref]
        return plain_members.filter(F.col("segment") == ref).select("person_id")

    for segment in order:
        chosen = people(segment.include[0])
        for ref in segment.include[1:]:
            chosen = chosen.unionByName(people(ref))
        chosen = chosen.distinct()
        for ref in segment.intersect:
            chosen = chosen.join(people(ref), "person_id", "left_semi")
        for ref in segment.exclude:
            chosen = chosen.join(people(ref), "person_id", "left_anti")
        frames[segment.name] = chosen
    result = None
    for segment in order:
        frame = frames[segment.name].select(F.lit(segment.name).alias("segment"), "person_id")
        result = frame if result is None else result.unionByName(frame)
    if result is None:
        return plain_members.limit(0).select("segment", "person_id")
    return result
