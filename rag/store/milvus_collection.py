"""One Milvus-backed collection object: the common Collection with a Milvus vector store.

Its catalog is ``milvus-catalog.sqlite`` in a catalog folder, or a PostgreSQL schema
(:mod:`rag.store.pg_collections`); :mod:`rag.store.milvus_collections` creates, lists, renames
and deletes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.store.collection import Collection
from rag.store.errors import CollectionError
from rag.store.milvus_engine import MilvusTable
from rag.store.milvus_uri import Backend
from rag.store.milvus_vectors import MilvusVectors

CATALOG = "milvus-catalog.sqlite"


class MilvusCollection(Collection):
    """A :class:`~rag.store.collection.Collection` whose vectors are on Milvus."""

    def __init__(self, backend: Backend, path: Path | None, *, db: Any = None, header: Any = None) -> None:
        """``path``: the catalog folder; or ``None`` with the catalog database ``db`` and its ``header``
        (a PostgreSQL catalog, :mod:`rag.store.pg_collections`)."""
        if path is not None:
            path = Path(path).resolve()
            if not (path / CATALOG).is_file():
                raise CollectionError(f"{path} is not a Milvus-backed collection (no {CATALOG})")
        self.backend = backend

        def store(header: Any, col: Collection) -> MilvusVectors:
            return MilvusVectors(backend, header, col)

        super().__init__(path, CATALOG, store, header=header, db=db)
        self.table: MilvusTable = self.vectors.table
        self.catalog_id: str = self.vectors.catalog_id

    def __repr__(self) -> str:
        return f"MilvusCollection({self.name!r}, {self.info.describe()}, backend={self.backend.uri!r})"
