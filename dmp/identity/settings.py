"""Settings of identity resolution (the ``identity:`` section of the config)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from dmp.spec import StrictModel

ID_TYPES: tuple[str, ...] = (
    "user_id",
    "email_sha256",
    "phone_sha256",
    "advertising_id",
    "device_id",
    "anonymous_id",
    "partner_uid",
)


class IdentitySettings(StrictModel):
    """Rules that decide which identifiers may join into one person.

    Attributes:
        blocked_values: Identifier values that never link anything (compared
            case-insensitively after trimming): placeholders SDKs send when they have no id.
        blocked_patterns: Regular expressions; a value matching any of them is blocked.
        shared_threshold: An identifier seen on events with more than this many user ids is
            shared (a public computer, a family tablet of a big household): it joins no one.
        dominance: A cluster of identifiers never seen with a login, but linked to
            identifiers of several people, joins the person holding at least this share of
            the (priority-weighted) link evidence; otherwise it stays a person of its own.
        priority: Identifier types from strongest to weakest. When links disagree, evidence
            through a stronger identifier type counts more (each rank doubles the weight).
        max_component_size: The gate fails when a person holds more identifiers (a sign of a
            bad link).
        max_rounds: Iteration limit of the connected-components algorithm.
    """

    blocked_values: list[str] = Field(
        default_factory=lambda: [
            "",
            "0",
            "-1",
            "null",
            "none",
            "nil",
            "nan",
            "undefined",
            "anonymous",
            "unknown",
            "00000000-0000-0000-0000-000000000000",
        ]
    )
    blocked_patterns: list[str] = Field(
        default_factory=lambda: [r"^0+$", r"^[0-]+$", r"^(?i:test|guest|n/?a)$"]
    )
    shared_threshold: int = Field(5, ge=1)
    dominance: float = Field(0.8, gt=0.5, le=1.0)
    priority: list[str] = Field(default_factory=lambda: list(ID_TYPES))
    max_component_size: int = Field(500, ge=2)
    max_rounds: int = Field(60, ge=2)

    @field_validator("blocked_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None
        return patterns

    @field_validator("priority")
    @classmethod
    def _all_types(cls, priority: list[str]) -> list[str]:
        if sorted(priority) != sorted(ID_TYPES):
            raise ValueError(f"priority must order exactly these types: {', '.join(ID_TYPES)}")
        if priority[0] != "user_id":
            raise ValueError("user_id must come first: a person holds at most one user id")
        return priority

    def weight(self, id_type: str) -> int:
        """Evidence weight of a link through an identifier of ``id_type``."""
        return 2 ** (len(self.priority) - 1 - self.priority.index(id_type))
