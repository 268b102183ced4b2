"""Strict spec models and loading them from YAML with errors that name the file and key.

Settings, partner mappings, segments, tags and channels are all ``StrictModel``s: unknown
keys are errors and values are frozen once validated, before any Spark work starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from dmp.errors import ConfigError

__all__ = ["StrictModel", "describe_validation_error", "load_yaml_spec", "read_yaml"]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every settings and spec model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, turning syntax errors into a :class:`ConfigError` naming it."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None


def load_yaml_spec(path: Path, model: type[M]) -> M:
    """Load one YAML file into ``model``; errors read ``file: key.path: problem``."""
    data = read_yaml(path)
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, default_source=str(path))) from None


def describe_validation_error(
    error: ValidationError,
    provenance: Mapping[tuple[str, ...], str] | None = None,
    *,
    default_source: str = "defaults",
) -> str:
    """One line per problem: ``source: dotted.key: message (got value)``.

    Args:
        error: The pydantic error.
        provenance: Where each key came from (deepest matching prefix wins).
        default_source: Source named when no provenance entry matches.
    """
    problems = []
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        source = default_source
        for cut in range(len(loc), 0, -1):
            if provenance and loc[:cut] in provenance:
                source = provenance[loc[:cut]]
                break
        unknown = item["type"] == "extra_forbidden"
        message = "unknown key" if unknown else item["msg"]
        shown = "" if unknown or "input" not in item else f" (got {item['input']!r})"
        problems.append(f"{source}: {'.'.join(loc) or '<top level>'}: {message}{shown}")
    return "; ".join(problems)
