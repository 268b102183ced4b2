"""Segments: rule-based, combined and list segments, scores and persona clusters.

``build_segments`` evaluates ``conf/segments.yaml`` on a profile snapshot into
``gold/segments`` (sizes, overlaps, scores, persona clusters beside it);
``preview_segments`` counts without writing; lists hold uploaded identifiers, hashed.

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.segments.clusters import cluster_features, cluster_traits, fit_clusters
    from dmp.segments.gate import segment_gate
    from dmp.segments.lists import (
        ListChange,
        add_to_list,
        list_members,
        list_names,
        remove_from_list,
    )
    from dmp.segments.settings import SegmentSettings
    from dmp.segments.spec import SegmentFile, SegmentSpec, load_segment_file
    from dmp.segments.stage import SegmentPreview, SegmentResult, build_segments, preview_segments

__all__ = [
    "ListChange",
    "SegmentFile",
    "SegmentPreview",
    "SegmentResult",
    "SegmentSettings",
    "SegmentSpec",
    "add_to_list",
    "build_segments",
    "cluster_features",
    "cluster_traits",
    "fit_clusters",
    "list_members",
    "list_names",
    "load_segment_file",
    "preview_segments",
    "remove_from_list",
    "segment_gate",
]
_LAZY = {
    "cluster_features": "dmp.segments.clusters",
    "cluster_traits": "dmp.segments.clusters",
    "fit_clusters": "dmp.segments.clusters",
    "segment_gate": "dmp.segments.gate",
    "ListChange": "dmp.segments.lists",
    "add_to_list": "dmp.segments.lists",
    "list_members": "dmp.segments.lists",
    "list_names": "dmp.segments.lists",
    "remove_from_list": "dmp.segments.lists",
    "SegmentSettings": "dmp.segments.settings",
    "SegmentFile": "dmp.segments.spec",
    "SegmentSpec": "dmp.segments.spec",
    "load_segment_file": "dmp.segments.spec",
    "SegmentPreview": "dmp.segments.stage",
    "SegmentResult": "dmp.segments.stage",
    "build_segments": "dmp.segments.stage",
    "preview_segments": "dmp.segments.stage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.segments' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
