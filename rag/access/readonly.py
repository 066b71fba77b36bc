"""A collection as a reader gets it from the Engine: everything that reads, nothing that writes."""

from __future__ import annotations

from typing import Any

from rag.access.policy import AccessDenied


class ReadOnlyCollection:
    """Delegates to a store collection; ``writer`` and ``compact`` need the editor role."""

    _WRITES = frozenset({"writer", "compact"})

    def __init__(self, collection: Any, who: str) -> None:
        self._collection = collection
        self._who = who

    def __getattr__(self, attr: str) -> Any:
        if attr in self._WRITES:
            raise AccessDenied(f"{self._who} is a reader of {self._collection.name!r}: changing it needs the "
                               "editor role")
        return getattr(self._collection, attr)

    def __repr__(self) -> str:
        return f"ReadOnlyCollection({self._collection!r})"
