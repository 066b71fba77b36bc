"""What a view and a writer need from their collection, as a protocol (so neither imports the collection)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Protocol

from rag.store.model import IndexOptions, ModelInfo
from rag.store.vectors import VectorStore


class CollectionParts(Protocol):
    """The parts of a :class:`~rag.store.collection.Collection` its views and writers use."""

    name: str
    path: Path
    info: ModelInfo
    options: IndexOptions
    catalog_path: Path
    sources_dir: Path
    vectors: VectorStore

    def _conn(self) -> sqlite3.Connection:
        """This thread's read-only catalog connection."""

    def _writer_conn(self) -> sqlite3.Connection:
        """The catalog connection of the writer holding ``write.lock``."""

    def _snapshot_at(self, gen: int, conn: sqlite3.Connection) -> Any:
        """The loaded (leased) vector snapshot of generation ``gen``."""

    def _forget_current(self) -> None:
        """Drop the kept current snapshot (after a commit)."""
