"""Deterministic, realistic e-commerce world generator: landing files plus the planted truth.

``generate_world(WorldSpec(...), home)`` writes Segment-spec first-party JSON lines and two
partner CSV layouts under ``home/landing``, and the facts later stages are measured against
(persons, identifiers, events, bad records, orders, campaign buyers, ...) under ``home/truth``.
"""

from dmp.generate.spec import WorldSpec, WorldSummary
from dmp.generate.world import generate_world

__all__ = ["WorldSpec", "WorldSummary", "generate_world"]
