"""The writer: one batch of additions and deletions, committed atomically, whichever store holds the vectors.

Lifecycle (``with collection.writer() as w: ...``):

1. take the write lock (``CollectionBusy`` or wait), let the vector store clean up after
   earlier writers, then ``BEGIN IMMEDIATE`` on the catalog: the batch's rows are inserted as
   they come, tagged with the generation being built, inside one open transaction that readers
   cannot see; chunk ids are allocated from ``meta.next_chunk_id``;
2. each document's vectors go to the store's batch (:mod:`rag.store.vectors`), which writes
   them as it sees fit (segment folders, Milvus rows) before the commit;
3. at commit the store's batch writes what is left and returns the new generation's manifest;
   the *same* catalog transaction records it and moves ``meta.generation`` forward, and its
   ``COMMIT`` is the commit point: the batch becomes visible at once;
4. after the commit, the store cleans up what no reader needs any more.

``kill -9`` at any point before the ``COMMIT`` returns leaves the previous generation current
and only things no catalog row refers to, which the next writer removes; after it, the new
generation is complete. An exception inside the ``with`` block rolls the batch back. Replacing a
document is deleting the old one and adding the new one in one batch: readers see both or neither.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.documents import Chunk, Clause, DefinedTerm, Document
from rag.store import image_rows
from rag.store.catalog import read_meta, timestamp
from rag.store.document_rows import record_document
from rag.store.errors import CollectionError
from rag.store.parts import CollectionParts


class Writer:
    """A batch of changes to one collection; see the module docstring. Not thread-safe: one thread writes."""

    def __init__(self, collection: CollectionParts, wait: bool = False, timeout: float | None = None) -> None:
        self._col = collection
        self._lock = collection.db.write_lock(collection.name)
        self._lock.acquire(wait=wait, timeout=timeout)
        self._conn = None
        self._batch: Any = None
        self._open = False
        try:
            self._conn = collection._writer_conn()
            collection.vectors.clean_up(self._conn)
            self._conn.execute("BEGIN IMMEDIATE")
            self._open = True
            self._images = False  # whether this batch stored image items (their table then exists)
            meta = read_meta(self._conn)
            self._base_gen = int(meta["generation"])
            self.generation = self._base_gen + 1  # the generation this batch will commit as
            self._next_chunk = int(meta["next_chunk_id"])
            conn = self._conn
            self._batch = collection.vectors.begin(conn, meta, lambda: collection._snapshot_at(self._base_gen, conn))
            self._dirty = False
        except BaseException:
            self._close()
            raise

    def __enter__(self) -> Writer:
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

    # ------------------------------------------------------------------ changes
    def add_document(
        self,
        document: Document,
        chunks: Sequence[Chunk],
        dense: np.ndarray,
        sparse: Sequence[dict[int, float]],
        colbert: Sequence[np.ndarray] | None = None,
        clauses: Sequence[Clause] = (),
        terms: Sequence[DefinedTerm] = (),
        *,
        content_hash: str,
        source: bytes | None = None,
    ) -> int:
        """Add a document and its chunks; returns the new document id (visible after commit)."""
        self._check_open()
        col = self._col
        checked, doc_id, ids = record_document(
            self._conn, col.name, col.info, col.db, self.generation, self._next_chunk,
            document, chunks, dense, sparse, colbert, clauses, terms, content_hash, source)
        self._next_chunk += len(chunks)
        self._dirty = True
        self._batch.add(doc_id, ids, checked)
        return doc_id

    def add_images(self, doc_id: int, items: Sequence[Any], vectors: np.ndarray,
                   text_vectors: np.ndarray | None, model: str) -> None:
        """Add the image items of a document added by this batch (issue 17; see
        :mod:`rag.store.image_rows`): visible with it, at the same commit."""
        self._check_open()
        row = self._conn.execute("SELECT added_gen, name FROM documents WHERE id = ?", (int(doc_id),)).fetchone()
        if row is None or row[0] != self.generation:
            raise CollectionError(f"collection {self._col.name!r}: image items go with a document added "
                                  f"in the same batch, and {doc_id} is not one")
        what = f"collection {self._col.name!r}, document {row[1]!r}"
        vectors, text_vectors = image_rows.check_items(what, items, vectors, text_vectors, self._col.info.dim)
        if not self._images:  # an old catalog gets the table with its first picture, in this transaction
            image_rows.create_table(self._conn)
            self._images = True
        image_rows.insert_items(self._conn, doc_id, items, vectors, text_vectors, model)
        self._dirty = True

    def delete_document(self, doc_id: int) -> None:
        """Delete a document with its chunks, vectors, clauses and terms (at commit)."""
        self._check_open()
        doc_id = int(doc_id)
        row = self._conn.execute(
            "SELECT added_gen, deleted_gen, chunks FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None or row[1] is not None:
            raise CollectionError(f"collection {self._col.name!r} has no document {doc_id}")
        added_here = row[0] == self.generation
        self._batch.delete(doc_id, int(row[2]), added_here)
        if added_here:  # added by this batch: forget it entirely
            for table, col in (("chunks", "doc_id"), ("clauses", "doc_id"), ("terms", "doc_id"), ("documents", "id")):
                self._conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (doc_id,))
            if self._images:
                image_rows.delete_document(self._conn, doc_id)
        else:
            self._conn.execute("UPDATE documents SET deleted_gen = ? WHERE id = ?", (self.generation, doc_id))
        self._dirty = True

    def replace_document(self, old_id: int, document: Document, *args: Any, **kwargs: Any) -> int:
        """Delete ``old_id`` and add ``document`` in this batch (same arguments as ``add_document``)."""
        self.delete_document(old_id)
        return self.add_document(document, *args, **kwargs)

    def compact(self) -> None:
        """Compact at commit: merge all segments (FAISS) or re-normalise and compact (Milvus)."""
        self._check_open()
        self._batch.compact()
        self._dirty = True

    # ------------------------------------------------------------------ commit / rollback
    def commit(self) -> int:
        """Make the batch visible; returns the collection's generation afterwards."""
        self._check_open()
        if not self._dirty:
            self._close()
            return self._base_gen
        c = self._conn
        try:
            manifest, meta = self._batch.prepare(self.generation, self._next_chunk)
            c.execute(
                "INSERT INTO generations(gen, committed_at, manifest) VALUES (?, ?, ?)",
                (self.generation, timestamp(), json.dumps(manifest)),
            )
            meta = {"generation": str(self.generation), "next_chunk_id": str(self._next_chunk), **meta}
            c.executemany("UPDATE meta SET value = ? WHERE key = ?", [(v, k) for k, v in meta.items()])
            c.execute("COMMIT")  # the commit point
            self._open = False
        except BaseException:
            self._rollback()
            raise
        self._col._forget_current()
        try:
            self._batch.committed()
            self._batch = None  # drop the batch's hold on the base generation so that clean-up can forget it
            self._col.vectors.clean_up(c)
        except Exception as exc:  # the batch is committed; the next writer retries the clean-up
            warnings.warn(f"collection {self._col.name!r}: clean-up after commit failed: {exc}", stacklevel=2)
        self._close()
        return self.generation

    def rollback(self) -> None:
        """Discard the batch (nothing of it becomes visible)."""
        if self._open:
            self._rollback()

    def _rollback(self) -> None:
        if self._conn is not None and self._open:
            with contextlib.suppress(Exception):  # no transaction left to roll back
                self._conn.execute("ROLLBACK")
        self._open = False
        if self._batch is not None:
            self._batch.rollback()
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            if self._open:
                with contextlib.suppress(Exception):
                    self._conn.execute("ROLLBACK")
                self._open = False
            self._conn = None  # the collection keeps the connection for its next writer
        self._batch = None
        self._lock.release()
