"""One batch's changes to a Milvus-backed collection's vectors.

What a batch does, step by step, and what a crash at each step leaves:

1. ``add`` buffers the vectors (the writer has inserted the catalog rows inside its open
   transaction, invisible to readers); every ``flush_rows`` chunks, and at commit, the buffered
   rows are inserted into Milvus keyed by chunk id. Before the first Milvus write,
   ``inflight.json`` is written beside the catalog. ``delete`` of a committed document only adds
   a ``milvus_trash`` row: Milvus is not touched;
2. ``prepare`` writes the rest and the BM25 statistics; the writer's catalog ``COMMIT``
   (recording the manifest, whose ``next_chunk_id`` bounds what the generation sees) is the
   commit point.

A crash before the ``COMMIT`` returns leaves the previous generation current. Vectors already
inserted have ids ``>= next_chunk_id``: no view can see them (every search carries
``id < next_chunk_id`` of its generation), and the next writer, finding ``inflight.json``,
deletes them before it writes anything. Deleted documents keep their Milvus rows, hidden from
every view that cannot see them, until no reader leases a generation that can; then the catalog
purges them and the next writer deletes their rows from Milvus (``milvus_trash``).

What Milvus itself promises about an acknowledged insert is the limit: a Milvus server has
written it to its WAL; Milvus Lite has written it to the operating system (it survives the
process being killed, not a power cut, unless ``IndexOptions.durable`` makes the batch flush
Milvus Lite before the catalog commit). ``view.verify()`` reports chunks whose vectors are
missing; deleting those documents and ingesting them again repairs the collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rag.store import milvus_bm25 as bm25
from rag.store import milvus_catalog as mcat
from rag.store.document_rows import CheckedVectors
from rag.store.milvus_engine import MilvusTable, sparse_row
from rag.store.milvus_uri import Backend
from rag.store.model import IndexOptions, ModelInfo


class MilvusSide(Protocol):
    """What a batch uses of its :class:`~rag.store.milvus_vectors.MilvusVectors`."""

    backend: Backend
    table: MilvusTable
    info: ModelInfo
    options: IndexOptions

    def mark_inflight(self, first_chunk: int) -> None: ...

    def clear_inflight(self) -> None: ...

    def forget_uncommitted(self, first_chunk: int) -> None: ...

    def renormalise(self, conn: Any, gen: int) -> None: ...


@dataclass
class _Pending:
    doc_id: int
    ids: np.ndarray
    vectors: CheckedVectors


class MilvusBatch:
    """The Milvus side of one writer's batch (see the module docstring)."""

    def __init__(self, store: MilvusSide, conn: Any, meta: dict[str, str]) -> None:
        self._store = store
        self._table = store.table
        self._conn = conn
        self._options = store.options
        self._base_gen = int(meta["generation"])
        self._first_chunk = int(meta["next_chunk_id"])
        self._bm25 = store.info.sparse == "bm25"
        self._pending: list[_Pending] = []
        self._pending_rows = 0
        self._written: dict[int, tuple[int, int]] = {}  # doc id -> chunk id range already in Milvus
        self._in_milvus = False
        self._df_terms: list[np.ndarray] = []
        self._df_deltas: list[np.ndarray] = []
        # live length statistics as of the end of this batch (BM25 reference length)
        self._len_sum = mcat.live_length_sum(conn, self._base_gen) if self._bm25 else 0.0
        self._len_n = mcat.live_chunk_count(conn, self._base_gen) if self._bm25 else 0
        self._compact = False

    # ------------------------------------------------------------------ changes
    def add(self, doc_id: int, ids: np.ndarray, vectors: CheckedVectors) -> None:
        if vectors.colbert is not None:
            self._conn.executemany(
                "INSERT INTO milvus_colbert(chunk_id, vecs) VALUES (?, ?)",
                [(int(cid), a.tobytes()) for cid, a in zip(ids, vectors.colbert)],
            )
        if self._bm25:
            uniq, counts = np.unique(vectors.terms, return_counts=True)
            mcat.put_doc_stats(self._conn, doc_id, float(vectors.lengths.sum()), uniq, counts)
            self._df_terms.append(uniq)
            self._df_deltas.append(counts)
            self._len_sum += float(vectors.lengths.sum())
            self._len_n += len(ids)
        self._pending.append(_Pending(doc_id, ids, vectors))
        self._pending_rows += len(ids)
        if self._pending_rows >= self._options.flush_rows:
            self._flush()

    def delete(self, doc_id: int, n_chunks: int, added_here: bool) -> None:
        first, end = self._conn.execute(
            "SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id) + 1, 0) FROM chunks WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        stats = mcat.doc_stats(self._conn, doc_id) if self._bm25 else None
        if stats is not None:
            dl_sum, t, c = stats
            self._df_terms.append(t)
            self._df_deltas.append(-c)
            self._len_sum -= dl_sum
            self._len_n -= n_chunks
        if not added_here:
            self._conn.execute(
                "INSERT INTO milvus_trash(doc_id, deleted_gen, first_chunk, end_chunk) VALUES (?, ?, ?, ?)",
                (doc_id, self._base_gen + 1, int(first), int(end)),
            )
            return
        self._conn.execute("DELETE FROM milvus_doc_stats WHERE doc_id = ?", (doc_id,))
        self._conn.execute("DELETE FROM milvus_colbert WHERE chunk_id >= ? AND chunk_id < ?", (first, end))
        before = len(self._pending)
        self._pending = [p for p in self._pending if p.doc_id != doc_id]
        if len(self._pending) != before:
            self._pending_rows -= n_chunks
        elif doc_id in self._written:
            a, b = self._written.pop(doc_id)
            self._table.delete_range(a, b)  # ids above next_chunk_id: no reader ever saw them

    def compact(self) -> None:
        """After commit: re-normalise BM25 weights to the current average length and let Milvus compact."""
        self._compact = True

    # ------------------------------------------------------------------ Milvus writes
    def _reference_avgdl(self) -> float:
        return self._len_sum / self._len_n if self._len_n > 0 and self._len_sum > 0 else 1.0

    def _flush(self) -> None:
        if not self._pending:
            return
        if not self._in_milvus:
            self._store.mark_inflight(self._first_chunk)
            self._in_milvus = True
        avgdl = self._reference_avgdl()
        out: list[dict[str, Any]] = []
        for p in self._pending:
            v = p.vectors
            bounds = np.searchsorted(v.rows, np.arange(len(p.ids) + 1))
            nref = bm25.length_norm(v.lengths, avgdl) if self._bm25 else None
            for i, cid in enumerate(p.ids.tolist()):
                a, b = int(bounds[i]), int(bounds[i + 1])
                vals = v.vals[a:b]
                if self._bm25:
                    vals = bm25.saturate(vals, float(nref[i]))
                row = {"id": cid, "doc_id": p.doc_id, "dense": v.dense[i], "sparse": sparse_row(v.terms[a:b], vals)}
                if self._bm25:
                    row["dl"] = float(v.lengths[i])
                    row["nref"] = float(nref[i])
                out.append(row)
        self._table.insert(out)
        for p in self._pending:
            if len(p.ids):
                self._written[p.doc_id] = (int(p.ids[0]), int(p.ids[-1]) + 1)
        self._pending = []
        self._pending_rows = 0

    # ------------------------------------------------------------------ commit
    def prepare(self, generation: int, next_chunk: int) -> tuple[dict[str, Any], dict[str, str]]:
        """Insert what is buffered and record the BM25 statistics in the open catalog transaction."""
        self._flush()
        if self._in_milvus and self._options.durable and self._store.backend.kind == "milvus-lite":
            self._table.flush()  # Milvus Lite's WAL is not fsynced otherwise
        if self._df_terms:
            t = np.concatenate(self._df_terms)
            d = np.concatenate(self._df_deltas)
            uniq, inv = np.unique(t, return_inverse=True)
            mcat.apply_df(self._conn, uniq, np.bincount(inv, weights=d, minlength=len(uniq)).astype(np.int64))
        return {"milvus": self._table.name, "next_chunk_id": int(next_chunk)}, {}

    def committed(self) -> None:
        self._store.clear_inflight()
        if self._compact:
            self._store.renormalise(self._conn, self._base_gen + 1)
        self._pending = []

    def rollback(self) -> None:
        self._pending = []
        if self._in_milvus:
            self._store.forget_uncommitted(self._first_chunk)
