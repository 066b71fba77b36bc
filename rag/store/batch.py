"""What every writer's batch shares, whichever backend it writes to.

A batch is a context manager: leaving the ``with`` block commits it, an exception rolls it
back, and once closed it refuses more changes. Replacing a document is deleting the old one
and adding the new one in the same batch, so readers see either both or neither.
"""

from __future__ import annotations

from typing import Any

from rag.documents import Document
from rag.store.errors import CollectionError


class BatchWriter:
    """Base of :class:`~rag.store.writer.Writer` and :class:`~rag.store.milvus_writer.MilvusWriter`.

    Subclasses set ``_col`` (the collection) and ``_open`` and implement ``add_document``,
    ``delete_document``, ``commit`` and ``rollback``.
    """

    _col: Any
    _open: bool

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._open:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def _check_open(self) -> None:
        if not self._open:
            raise CollectionError(f"writer of collection {self._col.name!r} is closed")

    def replace_document(self, old_id: int, document: Document, *args: Any, **kwargs: Any) -> int:
        """Delete ``old_id`` and add ``document`` in this batch (same arguments as ``add_document``)."""
        self.delete_document(old_id)
        return self.add_document(document, *args, **kwargs)

    def add_document(self, document: Document, *args: Any, **kwargs: Any) -> int:
        raise NotImplementedError

    def delete_document(self, doc_id: int) -> None:
        raise NotImplementedError

    def commit(self) -> int:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError
