"""Names users give to audiences and segments: checked before they become paths or models.

An audience name becomes a folder (``exports/<name>/``, ``reports/lift/<name>/``), a file
name and an MLflow registered-model name. A name is therefore 1 to 64 ASCII letters,
digits, ``_`` and ``-``: no ``/``, ``.``, spaces or an absolute path can leave the data root,
and every valid name maps to a distinct model (``lookalike_<name>``, the name kept as it is,
so ``lal-vip`` and ``lal_vip`` stay two models).
"""

from __future__ import annotations

import re
from typing import Final

from dmp.errors import UserError

__all__ = ["MAX_NAME_LENGTH", "check_name", "name_problem"]

MAX_NAME_LENGTH: Final = 64
_NAME: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_NAME_LENGTH}}}")


def name_problem(value: str) -> str | None:
    """Why ``value`` is not a valid name, or ``None`` if it is one."""
    if _NAME.fullmatch(value):
        return None
    if not value:
        return "is empty"
    if len(value) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    return "may hold only letters, digits, '_' and '-'"


def check_name(value: str, what: str) -> str:
    """Return ``value`` if it is a valid name, else raise a one-line :class:`UserError`.

    Args:
        value: The name as the user gave it.
        what: What it names, as the user wrote it (``--name``, ``--audience``).

    Raises:
        UserError: The name is empty, too long, or holds another character. The message
            quotes at most the first 64 characters, with ``!r`` so control characters show.
    """
    problem = name_problem(value)
    if problem is None:
        return value
    shown = value if len(value) <= MAX_NAME_LENGTH else value[:MAX_NAME_LENGTH] + "..."
    raise UserError(f"{what} {shown!r} {problem} (e.g. lal_vip or spring-sale)")
