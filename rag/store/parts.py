"""What a view and a writer need from their collection, as a protocol (so neither imports the collection)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from rag.store.catalog_db import CatalogDB
from rag.store.model import IndexOptions, ModelInfo
from rag.store.vectors import VectorStore


class CollectionParts(Protocol):
    """The parts of a :class:`~rag.store.collection.Collection` its views and writers use."""

    name: str
    path: Path | None
    info: ModelInfo
    options: IndexOptions
    db: CatalogDB
    vectors: VectorStore

    def _conn(self) -> Any:
        """This thread's read-only catalog connection."""

    def _writer_conn(self) -> Any:
        """The catalog connection of the writer holding the write lock."""

    def _snapshot_at(self, gen: int, conn: Any) -> Any:
        """The loaded (leased) vector snapshot of generation ``gen``."""

    def _forget_current(self) -> None:
        """Drop the kept current snapshot (after a commit)."""
