"""Stored copies of the original files, for display: content-addressed, written once, never changed.

In a SQLite-catalog collection they are files (``sources/<sha256>.bin``) written before the
batch commits; a crash leaves at most a copy no document refers to, which the next writer's
clean-up removes. (A PostgreSQL catalog keeps them in a table, inside the batch's transaction:
:mod:`rag.store.pg_catalog`.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rag.store.fsutil import remove_path, write_bytes_atomic


def source_name(data: bytes) -> str:
    """The name a copy of ``data`` is kept under."""
    return hashlib.sha256(data).hexdigest() + ".bin"


class FileSources:
    """The ``sources/`` folder of a collection."""

    def __init__(self, folder: Path, durable: bool) -> None:
        self.folder = folder
        self.durable = durable

    def put(self, data: bytes) -> str:
        name = source_name(data)
        path = self.folder / name
        if not path.exists():
            write_bytes_atomic(path, bytes(data), self.durable)
        return name

    def get(self, name: str) -> bytes | None:
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None

    def size(self, names: list[str]) -> int:
        total = 0
        for name in names:
            p = self.folder / name
            total += p.stat().st_size if p.exists() else 0
        return total

    def keep_only(self, referenced: set[str]) -> int:
        """Remove the copies no document refers to; how many."""
        removed = 0
        if self.folder.is_dir():
            for f in self.folder.iterdir():
                if f.name not in referenced:
                    remove_path(f)
                    removed += 1
        return removed
