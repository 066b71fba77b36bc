"""The audit log as CSV: one row per entry, for owners to keep or hand to whoever asks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from rag.access.store import AuditEntry

COLUMNS = ("id", "at", "actor", "action", "collection", "detail")


def _cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ would be run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(entries: Iterable[AuditEntry]) -> str:
    """The entries as CSV text with a header row (formula-like cells defused)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow([_cell(getattr(e, c)) for c in COLUMNS])
    return out.getvalue()
