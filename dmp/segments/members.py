"""Where a segment's members live: ``gold/segments``, or ``gold/funnel_segments`` for drop-offs.

Funnel drop-off audiences (``funnel_<funnel>_dropoff_<step>``, written by ``dmp funnels``)
are segments like any other for exports and lookalike seeds; this module is the one place
that knows which table holds a segment name.
"""

from __future__ import annotations

import re

__all__ = ["is_funnel_segment", "segment_table"]

_FUNNEL_SEGMENT = re.compile(r"^funnel_[a-z][a-z0-9_]*_dropoff_[0-9]+$")


def is_funnel_segment(name: str) -> bool:
    """True for the name of a funnel drop-off segment (``funnel_<f>_dropoff_<k>``)."""
    return bool(_FUNNEL_SEGMENT.match(name))


def segment_table(name: str) -> str:
    """The table holding segment ``name``'s ``segment, person_id, as_of`` rows."""
    if is_funnel_segment(name):
        from dmp.tables import FUNNEL_SEGMENTS_TABLE

        return FUNNEL_SEGMENTS_TABLE
    from dmp.tables import SEGMENTS_TABLE

    return SEGMENTS_TABLE
