"""What a catalog says about its collection, read once when the collection is opened.

(Connections, locks and leases come from the catalog database, :mod:`rag.store.catalog_db`.)
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from rag.store.catalog import FORMAT_VERSION, read_meta
from rag.store.errors import CollectionError
from rag.store.model import IndexOptions, ModelInfo


@dataclass(frozen=True)
class CatalogHeader:
    """What a catalog says about its collection: name, model, index settings, and all of ``meta``."""

    name: str
    info: ModelInfo
    options: IndexOptions
    meta: dict[str, str]


def read_catalog_meta(catalog_path: Path) -> dict[str, str]:
    """A catalog's ``meta`` table, read without writing anything; ``CollectionError`` naming the file."""
    try:
        conn = sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True, timeout=60.0)
        try:
            return read_meta(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise CollectionError(f"cannot read catalog {catalog_path}: {exc}") from exc


def read_header(catalog_path: Path) -> CatalogHeader:
    """Read a catalog file's settings; ``CollectionError`` naming the file if it is unreadable or foreign."""
    return header_of(read_catalog_meta(catalog_path), catalog_path)


def header_of(meta: dict[str, str], catalog_path: Path | str) -> CatalogHeader:
    """A catalog's settings from its ``meta``; ``CollectionError`` naming the catalog if they are malformed."""
    try:
        fmt = int(meta["format"])
        header = CatalogHeader(meta["name"], ModelInfo.from_json(meta["model"]),
                               IndexOptions.from_json(meta["options"]), meta)
    except (KeyError, ValueError, TypeError) as exc:
        raise CollectionError(f"catalog {catalog_path} is malformed: {exc}") from exc
    if fmt != FORMAT_VERSION:
        raise CollectionError(f"catalog {catalog_path} has format {fmt}; this code reads {FORMAT_VERSION}")
    return header
