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

__all__ = [
    "StrictModel",
    "describe_validation_error",
    "load_yaml_spec",
    "parse_yaml",
    "read_yaml",
]

M = TypeVar("M", bound=BaseModel)

MAX_YAML_NODES = 100_000
"""Most nodes a YAML document may hold once its aliases are expanded. Aliases let a few
hundred bytes stand for billions of nodes ("billion laughs"); real config files hold a few
thousand at most."""


class _YamlTooLarge(Exception):
    """Raised inside the loader; turned into a ConfigError naming the source."""


class _GuardedLoader(yaml.SafeLoader):
    """A safe loader that refuses documents whose aliases expand past MAX_YAML_NODES."""

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None:
            _check_expanded_size(node)
        return node


def _check_expanded_size(root: yaml.Node) -> None:
    # Aliases share nodes, so the composed graph stays small; its expanded size is counted
    # once per distinct node (memoised), which takes time linear in the graph.
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise _YamlTooLarge("an alias refers to a node that contains it")
        open_nodes.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_YAML_NODES:
                raise _YamlTooLarge(
                    f"more than {MAX_YAML_NODES:,} values once aliases (*name) are expanded"
                )
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely: no Python objects, no alias explosion, no deep recursion.

    Args:
        text: The YAML document.
        source: What the text is (a file path, an environment variable), for errors.

    Returns:
        The parsed value (``None`` for an empty document).

    Raises:
        ConfigError: One line naming ``source`` if the text is not valid YAML, is nested too
            deeply, or expands past :data:`MAX_YAML_NODES` values through aliases.
    """
    try:
        return yaml.load(text, Loader=_GuardedLoader)
    except _YamlTooLarge as error:
        raise ConfigError(f"{source}: refused: {error}") from None
    except RecursionError:
        raise ConfigError(f"{source}: refused: nested too deeply") from None
    except yaml.YAMLError as error:
        problem = " ".join(str(error).split())
        raise ConfigError(f"{source}: not valid YAML: {problem}") from None


def read_text_file(path: Path, what: str = "file") -> str:
    """Read a UTF-8 text file (a leading byte-order mark is accepted and dropped).

    Raises:
        ConfigError: One line if the file is missing or not UTF-8 text.
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: {what} is not UTF-8 text (byte {error.start}); save it as UTF-8"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a {what}") from None


class StrictModel(BaseModel):
    """Base for every settings and spec model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, turning syntax errors into a :class:`ConfigError` naming it."""
    return parse_yaml(read_text_file(path, "YAML file"), str(path))


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
