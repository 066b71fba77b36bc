"""The writer of a Milvus-backed collection: one batch of additions and deletions.

Order of a batch (``with collection.writer() as w: ...``), and what a crash at each step leaves:

1. take ``write.lock``, clean up after earlier writers (below), ``BEGIN IMMEDIATE`` on the
   catalog; chunk ids are allocated from ``meta.next_chunk_id``;
2. ``add_document`` inserts the catalog rows inside the open transaction (invisible to readers)
   and buffers the vectors; every ``flush_rows`` chunks, and at commit, the buffered rows are
   inserted into Milvus keyed by chunk id. Before the first Milvus write, ``inflight.json`` is
   written beside the catalog. ``delete_document`` only marks the catalog row (``deleted_gen``)
   and adds a ``milvus_trash`` row: Milvus is not touched;
3. ``commit``: the catalog transaction records the generation (whose manifest holds the new
   ``next_chunk_id``), the BM25 statistics and ``meta``; its ``COMMIT`` is the commit point.

A crash before the ``COMMIT`` returns leaves the previous generation current. Vectors already
inserted have ids ``>= next_chunk_id``: no view can see them (every search carries
``id < next_chunk_id`` of its generation), and the next writer, finding ``inflight.json``,
deletes them before it writes anything. Re-running the ingest then adds the same files again
(they are not in the catalog, so they are not duplicates). A crash after the ``COMMIT`` leaves
the batch complete. Deleted documents keep their Milvus rows, hidden from every view that
cannot see them, until no reader leases a generation that can; then the catalog purges them
and the next writer deletes their rows from Milvus (``milvus_trash``).

What Milvus itself promises about an acknowledged insert is the limit: a Milvus server has
written it to its WAL; Milvus Lite has written it to the operating system (it survives the
process being killed, not a power cut, unless ``IndexOptions.durable`` makes the writer flush
Milvus Lite before the catalog commit). ``view.verify()`` reports chunks whose vectors are
missing; deleting those documents and ingesting them again repairs the collection.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.documents import Chunk, Clause, DefinedTerm, Document
from rag.store import milvus_bm25 as bm25
from rag.store import milvus_catalog as mcat
from rag.store.batch import BatchWriter
from rag.store.catalog import read_meta, timestamp
from rag.store.document_rows import record_document
from rag.store.errors import CollectionError
from rag.store.locks import WriteLock
from rag.store.milvus_engine import sparse_row

if TYPE_CHECKING:
    from rag.store.milvus import MilvusCollection

INFLIGHT = "inflight.json"


@dataclass
class _Pending:
    doc_id: int
    ids: np.ndarray
    dense: np.ndarray
    rows: np.ndarray
    terms: np.ndarray
    vals: np.ndarray
    lengths: np.ndarray


class MilvusWriter(BatchWriter):
    """A batch of changes to one Milvus-backed collection; see the module docstring. One thread writes."""

    def __init__(self, collection: MilvusCollection, wait: bool = False, timeout: float | None = None) -> None:
        self._col = collection
        self._lock = WriteLock(collection.path / "write.lock", collection.name)
        self._lock.acquire(wait=wait, timeout=timeout)
        self._conn = None
        self._open = False
        try:
            self._conn = collection._writer_conn()
            self._sync = collection.options.durable
            collection._clean_up(self._conn)
            self._conn.execute("BEGIN IMMEDIATE")
            self._open = True
            meta = read_meta(self._conn)
            self._base_gen = int(meta["generation"])
            self.generation = self._base_gen + 1  # the generation this batch will commit as
            self._first_chunk = self._next_chunk = int(meta["next_chunk_id"])
            self._bm25 = collection.info.sparse == "bm25"
            self._pending: list[_Pending] = []
            self._pending_rows = 0
            self._written: dict[int, tuple[int, int]] = {}  # doc id -> chunk id range already in Milvus
            self._in_milvus = False
            self._df_terms: list[np.ndarray] = []
            self._df_deltas: list[np.ndarray] = []
            # live length statistics as of the end of this batch (BM25 reference length)
            self._len_sum = mcat.live_length_sum(self._conn, self._base_gen) if self._bm25 else 0.0
            self._len_n = self._live_chunks(self._base_gen) if self._bm25 else 0
            self._dirty = False
            self._compact = False
        except BaseException:
            self._close()
            raise

    def _live_chunks(self, gen: int) -> int:
        row = self._conn.execute(
            "SELECT COALESCE(SUM(d.chunks), 0) FROM documents d "
            "WHERE d.added_gen <= ? AND (d.deleted_gen IS NULL OR d.deleted_gen > ?)", (gen, gen)
        ).fetchone()
        return int(row[0])

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
        v, doc_id, ids = record_document(self._col, self._conn, self.generation, self._next_chunk, document, chunks,
                                         dense, sparse, colbert, clauses, terms, content_hash, source)
        n = len(chunks)
        self._next_chunk += n
        if v.colbert is not None:
            self._conn.executemany(
                "INSERT INTO milvus_colbert(chunk_id, vecs) VALUES (?, ?)",
                [(int(cid), a.tobytes()) for cid, a in zip(ids, v.colbert)],
            )
        if self._bm25:
            uniq, counts = np.unique(v.terms, return_counts=True)
            mcat.put_doc_stats(self._conn, doc_id, float(v.lengths.sum()), uniq, counts)
            self._df_terms.append(uniq)
            self._df_deltas.append(counts)
            self._len_sum += float(v.lengths.sum())
            self._len_n += n
        self._pending.append(_Pending(doc_id, ids, v.dense, v.rows, v.terms, v.vals, v.lengths))
        self._pending_rows += n
        self._dirty = True
        if self._pending_rows >= self._col.options.flush_rows:
            self._flush()
        return doc_id

    def delete_document(self, doc_id: int) -> None:
        """Delete a document with its chunks, vectors, clauses and terms (at commit)."""
        self._check_open()
        doc_id = int(doc_id)
        row = self._conn.execute(
            "SELECT added_gen, deleted_gen, chunks FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None or row[1] is not None:
            raise CollectionError(f"collection {self._col.name!r} has no document {doc_id}")
        added_gen, _, n_chunks = row
        first, end = self._conn.execute(
            "SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id) + 1, 0) FROM chunks WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        stats = mcat.doc_stats(self._conn, doc_id) if self._bm25 else None
        if stats is not None:
            dl_sum, t, c = stats
            self._df_terms.append(t)
            self._df_deltas.append(-c)
            self._len_sum -= dl_sum
            self._len_n -= int(n_chunks)
        if added_gen == self.generation:  # added by this batch: forget it entirely
            for table, col in (("chunks", "doc_id"), ("clauses", "doc_id"), ("terms", "doc_id"),
                               ("milvus_doc_stats", "doc_id"), ("documents", "id")):
                self._conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (doc_id,))
            self._conn.execute("DELETE FROM milvus_colbert WHERE chunk_id >= ? AND chunk_id < ?", (first, end))
            before = len(self._pending)
            self._pending = [p for p in self._pending if p.doc_id != doc_id]
            if len(self._pending) != before:
                self._pending_rows -= int(n_chunks)
            elif doc_id in self._written:
                a, b = self._written.pop(doc_id)
                self._col.table.delete_range(a, b)  # ids above next_chunk_id: no reader ever saw them
        else:
            self._conn.execute("UPDATE documents SET deleted_gen = ? WHERE id = ?", (self.generation, doc_id))
            self._conn.execute(
                "INSERT INTO milvus_trash(doc_id, deleted_gen, first_chunk, end_chunk) VALUES (?, ?, ?, ?)",
                (doc_id, self.generation, int(first), int(end)),
            )
        self._dirty = True

    def compact(self) -> None:
        """After commit: re-normalise BM25 weights to the current average length and let Milvus compact."""
        self._check_open()
        self._compact = True
        self._dirty = True

    # ------------------------------------------------------------------ Milvus writes
    def _reference_avgdl(self) -> float:
        return self._len_sum / self._len_n if self._len_n > 0 and self._len_sum > 0 else 1.0

    def _flush(self) -> None:
        if not self._pending:
            return
        if not self._in_milvus:
            self._col._mark_inflight(self._first_chunk, self._sync)
            self._in_milvus = True
        avgdl = self._reference_avgdl()
        out: list[dict[str, Any]] = []
        for p in self._pending:
            bounds = np.searchsorted(p.rows, np.arange(len(p.ids) + 1))
            nref = bm25.length_norm(p.lengths, avgdl) if self._bm25 else None
            for i, cid in enumerate(p.ids.tolist()):
                a, b = int(bounds[i]), int(bounds[i + 1])
                vals = p.vals[a:b]
                if self._bm25:
                    vals = bm25.saturate(vals, float(nref[i]))
                row = {"id": cid, "doc_id": p.doc_id, "dense": p.dense[i], "sparse": sparse_row(p.terms[a:b], vals)}
                if self._bm25:
                    row["dl"] = float(p.lengths[i])
                    row["nref"] = float(nref[i])
                out.append(row)
        self._col.table.insert(out)
        for p in self._pending:
            if len(p.ids):
                self._written[p.doc_id] = (int(p.ids[0]), int(p.ids[-1]) + 1)
        self._pending = []
        self._pending_rows = 0

    # ------------------------------------------------------------------ commit / rollback
    def commit(self) -> int:
        """Make the batch visible; returns the collection's generation afterwards."""
        self._check_open()
        if not self._dirty:
            self._close()
            return self._base_gen
        try:
            self._flush()
            if self._in_milvus and self._sync and self._col.backend.kind == "milvus-lite":
                self._col.table.flush()  # Milvus Lite's WAL is not fsynced otherwise
            c = self._conn
            if self._df_terms:
                t = np.concatenate(self._df_terms)
                d = np.concatenate(self._df_deltas)
                uniq, inv = np.unique(t, return_inverse=True)
                mcat.apply_df(c, uniq, np.bincount(inv, weights=d, minlength=len(uniq)).astype(np.int64))
            c.execute(
                "INSERT INTO generations(gen, committed_at, manifest) VALUES (?, ?, ?)",
                (self.generation, timestamp(), mcat.manifest(self._next_chunk, self._col.table.name)),
            )
            c.executemany(
                "UPDATE meta SET value = ? WHERE key = ?",
                [(str(self.generation), "generation"), (str(self._next_chunk), "next_chunk_id")],
            )
            c.execute("COMMIT")
            self._open = False
        except BaseException:
            self._undo()
            raise
        self._col._clear_inflight()
        self._col._drop_cached_views()
        try:
            if self._compact:
                self._col._renormalise(self.generation)
            self._col._clean_up(self._conn)
        except Exception as exc:  # the batch is committed; clean-up is retried by the next writer
            warnings.warn(f"collection {self._col.name!r}: clean-up after commit failed: {exc}", stacklevel=2)
        self._close()
        return self.generation

    def rollback(self) -> None:
        """Discard the batch (nothing of it becomes visible)."""
        if self._open:
            self._undo()

    def _undo(self) -> None:
        if self._conn is not None and self._open:
            try:
                self._conn.execute("ROLLBACK")
            except Exception:
                pass
        self._open = False
        if self._in_milvus:
            try:
                self._col.table.delete_from(self._first_chunk)
                self._col._clear_inflight()
            except Exception as exc:  # inflight.json stays: the next writer deletes these rows
                warnings.warn(f"collection {self._col.name!r}: could not delete the rolled-back batch's "
                              f"vectors now ({exc}); the next writer will", stacklevel=3)
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            if self._open:
                try:
                    self._conn.execute("ROLLBACK")
                except Exception:
                    pass
                self._open = False
            self._conn = None  # the collection keeps the connection for its next writer
        self._pending = []
        self._lock.release()


def read_inflight(path: os.PathLike[str]) -> int | None:
    """The first chunk id of a batch that wrote to Milvus and may not have finished, if any."""
    try:
        with open(path, encoding="utf-8") as fh:
            return int(json.load(fh)["first_chunk"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return 0  # unreadable (torn by a crash): sweep everything above the committed ids
