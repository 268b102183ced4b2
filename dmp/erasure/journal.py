"""The erasure journal (``ops/erasure_journal``): each request and each step it completed.

An erasure touches many tables in many commits; a process killed half-way must not leave a
person half-forgotten with nothing to say so. The request is written first (the persons and
the identifiers as the lake holds them: pseudonymous ids and SHA-256 hashes, never clear-text
e-mails or phones), then one row per finished step. A request without a ``finished`` row is
pending, and the next ``dmp erase`` completes it before anything else.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from dmp.runlog import Run
from dmp.tables import JOURNAL_TABLE

RESOLVED, FINISHED = "resolved", "finished"
_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("step", pa.string()),
        ("at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
        ("persons", pa.list_(pa.string())),
        (
            "identifiers",
            pa.list_(pa.struct([("id_type", pa.string()), ("id_value", pa.string())])),
        ),
        ("detail", pa.string()),
    ]
)


@dataclass
class JournaledRequest:
    """A resolved erasure request and the steps it has done so far.

    Attributes:
        request_id: Id of the request.
        persons: ``person_id`` of everyone to forget (may be empty for people only in bronze).
        identifiers: ``(id_type, id_value)`` as the lake stores them (hashed or pseudonymous).
        detail: What resolution found (mask tokens, landing files).
        done: Finished steps and their details (counts, lists).
    """

    request_id: str
    persons: list[str]
    identifiers: list[tuple[str, str]]
    detail: dict[str, Any] = field(default_factory=dict)
    done: dict[str, dict[str, Any]] = field(default_factory=dict)


class ErasureJournal:
    """Append-only journal of erasure requests, read and written on the driver (it is tiny)."""

    def __init__(self, run: Run) -> None:
        """Journal in the lake of ``run``; every row records ``run.run_id``."""
        self._run = run

    def pending(self) -> list[JournaledRequest]:
        """Requests without a ``finished`` step, oldest first, with their finished steps."""
        lake = self._run.lake
        if not lake.exists(JOURNAL_TABLE):
            return []
        rows = sorted(lake.read_arrow(JOURNAL_TABLE).to_pylist(), key=lambda r: r["at"])
        requests: dict[str, JournaledRequest] = {}
        finished: set[str] = set()
        for row in rows:
            detail = json.loads(row["detail"] or "{}")
            if row["step"] == RESOLVED:
                requests[row["request_id"]] = JournaledRequest(
                    request_id=row["request_id"],
                    persons=list(row["persons"] or []),
                    identifiers=[(i["id_type"], i["id_value"]) for i in row["identifiers"] or []],
                    detail=detail,
                )
            elif row["step"] == FINISHED:
                finished.add(row["request_id"])
            elif row["request_id"] in requests:
                requests[row["request_id"]].done[row["step"]] = detail
        return [r for key, r in requests.items() if key not in finished]

    def open(
        self,
        persons: Sequence[str],
        identifiers: Iterable[tuple[str, str]],
        detail: dict[str, Any],
    ) -> JournaledRequest:
        """Record a new resolved request before any data is touched."""
        request = JournaledRequest(
            request_id=uuid.uuid4().hex[:16],
            persons=sorted(persons),
            identifiers=sorted(set(identifiers)),
            detail=detail,
        )
        self._append(request, RESOLVED, detail, with_keys=True)
        return request

    def mark(self, request: JournaledRequest, step: str, detail: dict[str, Any]) -> None:
        """Record that ``step`` of ``request`` is done (and what it did)."""
        self._append(request, step, detail)
        request.done[step] = detail

    def _append(
        self,
        request: JournaledRequest,
        step: str,
        detail: dict[str, Any],
        *,
        with_keys: bool = False,
    ) -> None:
        row = {
            "request_id": request.request_id,
            "step": step,
            "at": datetime.now(UTC),
            "run_id": self._run.run_id,
            "persons": request.persons if with_keys else [],
            "identifiers": (
                [{"id_type": t, "id_value": v} for t, v in request.identifiers] if with_keys else []
            ),
            "detail": json.dumps(detail, sort_keys=True, default=str),
        }
        self._run.write_arrow(pa.Table.from_pylist([row], schema=_SCHEMA), JOURNAL_TABLE)
