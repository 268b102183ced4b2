"""Identity resolution: bronze identifiers -> one ``person_id`` per person.

Cookies, devices, logins, hashed e-mails and phones and partner ids become a graph;
connected components (with blocking of shared or junk ids) are people, and person ids stay
stable across runs (merges and splits recorded in ``silver/identity_changes``).

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.identity.components import Components, connected_components
    from dmp.identity.gate import identity_gate
    from dmp.identity.settings import IdentitySettings
    from dmp.identity.stage import IdentityResult, resolve_identities

__all__ = [
    "Components",
    "IdentityResult",
    "IdentitySettings",
    "connected_components",
    "identity_gate",
    "resolve_identities",
]
_LAZY = {
    "Components": "dmp.identity.components",
    "connected_components": "dmp.identity.components",
    "identity_gate": "dmp.identity.gate",
    "IdentitySettings": "dmp.identity.settings",
    "IdentityResult": "dmp.identity.stage",
    "resolve_identities": "dmp.identity.stage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.identity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
