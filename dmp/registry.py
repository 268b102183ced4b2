"""The stage registry: every stage the command line, the pipeline, ``dmp demo``, ``jobs/``
and the notebooks run, by name.

Each stage declares itself (a :class:`~dmp.stages.Stage`: name, typed request, run function,
tables read and written) in its own package; this module lists where each declaration
lives, one line a stage, and loads a declaration only when it is asked for (so importing
the registry starts nothing). Run a stage with :func:`dmp.driver.run_stage`.

>>> from dmp.registry import stage
>>> stage("profiles").writes
('silver/profiles', 'gold/product_rules')
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from dmp.errors import UserError
from dmp.stages import Stage

__all__ = ["STAGE_NAMES", "all_stages", "stage"]

_DECLARED: dict[str, str] = {
    "generate": "dmp.generate.entry:GENERATE",
    "ingest": "dmp.ingest.entry:INGEST",
    "identity": "dmp.identity.entry:IDENTITY",
    "profiles": "dmp.profiles.entry:PROFILES",
    "segments": "dmp.segments.entry:SEGMENTS",
    "lists": "dmp.segments.entry:LISTS",
    "funnels": "dmp.funnels.entry:FUNNELS",
    "lookalike": "dmp.lookalike.entry:LOOKALIKE",
    "export": "dmp.export.entry:EXPORT",
    "lift": "dmp.lift.entry:LIFT",
    "erase": "dmp.erasure.entry:ERASE",
    "optimize": "dmp.maintenance:OPTIMIZE",
}

STAGE_NAMES: tuple[str, ...] = tuple(_DECLARED)
"""Every registered stage, in data-flow order."""


def stage(name: str) -> Stage[Any, Any]:
    """The declaration of the stage called ``name``.

    Raises:
        UserError: No stage has that name.
    """
    if name not in _DECLARED:
        raise UserError(f"unknown stage {name!r}: choose one of {', '.join(STAGE_NAMES)}")
    module, attribute = _DECLARED[name].split(":")
    declared = getattr(import_module(module), attribute)
    assert isinstance(declared, Stage) and declared.name == name, _DECLARED[name]
    return declared


def all_stages() -> tuple[Stage[Any, Any], ...]:
    """Every registered stage's declaration, in data-flow order (imports every stage)."""
    return tuple(stage(name) for name in STAGE_NAMES)
