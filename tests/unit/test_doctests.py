"""Every example in a dmp docstring runs and prints what it says (``>>>`` lines)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import dmp


def _modules_with_examples() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(dmp.__path__, "dmp."):
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith(".py") and ">>>" in Path(origin).read_text("utf-8"):
            found.append(info.name)
    return sorted(found)


MODULES = _modules_with_examples()


def test_the_examples_are_found() -> None:
    assert "dmp.lookalike.models" in MODULES and "dmp.lookalike.timesplit" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.failed == 0, f"{outcome.failed} of {outcome.attempted} examples failed"
