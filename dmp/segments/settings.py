"""Settings of the segments stage (the ``segments:`` section of the config)."""

from __future__ import annotations

from pydantic import Field

from dmp.spec import StrictModel


class ClusterSettings(StrictModel):
    """Persona clustering options (``segments.clusters`` in the config)."""

    k: int = Field(8, ge=2, le=100)
    seed: int = 7
    max_iterations: int = Field(40, ge=1)
    traits_per_cluster: int = Field(5, ge=1)
    min_trait_share: float = Field(0.2, ge=0, le=1)


class SegmentSettings(StrictModel):
    """Segments options; the segment definitions live in ``conf/segments.yaml``.

    Attributes:
        clusters: Behavioural clusters (personas).
        exclude_risky_from_exports: Leave people flagged as bots or coupon abusers out of
            every export (segments and audiences); the manifest counts them.
    """

    clusters: ClusterSettings = ClusterSettings()
    exclude_risky_from_exports: bool = True
