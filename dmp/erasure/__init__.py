"""Erasure: forget people everywhere the data root holds them.

``erase`` resolves a request (e-mails, phones, user ids) to persons and identifiers, records
them in a journal (``ops/erasure_journal``) and runs each step once: suppression, exports to
reissue, models to flag, bronze, every table the catalogue lists as holding people, vacuum.
A killed erasure is completed by running it again (``dmp erase --resume``).

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.erasure.journal import ErasureJournal
    from dmp.erasure.stage import ErasureRequest, ErasureResult, erase

__all__ = [
    "ErasureJournal",
    "ErasureRequest",
    "ErasureResult",
    "erase",
]
_LAZY = {
    "ErasureJournal": "dmp.erasure.journal",
    "ErasureRequest": "dmp.erasure.stage",
    "ErasureResult": "dmp.erasure.stage",
    "erase": "dmp.erasure.stage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.erasure' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
