"""The writer: one batch of additions and deletions, committed atomically.

Lifecycle (``with collection.writer() as w: ...``):

1. take ``write.lock`` (``CollectionBusy`` or wait), collect garbage, then
   ``BEGIN IMMEDIATE`` on the catalog: the batch's rows are inserted as they
   come, tagged with the generation being built, inside one open transaction
   that readers cannot see;
2. buffer each document's chunks; every ``flush_rows`` buffered chunks (and at
   commit) they are written as a new segment folder (see
   :mod:`rag.store.segment`); deletions become per-segment deleted rows;
3. at commit: merge segments as :mod:`rag.store.merge` plans, write the new
   deletion files, then in the *same* SQLite transaction insert the new
   generation's manifest, record the new files, retire replaced ones and move
   ``meta.generation`` forward; ``COMMIT`` makes the batch visible at once;
4. after the commit, garbage-collect what no reader needs any more.

``kill -9`` at any point before the ``COMMIT`` returns leaves the previous
generation current and only orphan files, which the next writer deletes; after
it, the new generation is complete on disk (all files were fsynced and renamed
before). An exception inside the ``with`` block rolls the batch back.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag.documents import Chunk, Clause, DefinedTerm, Document
from rag.store import dense as dense_mod
from rag.store import sparse as sparse_mod
from rag.store.batch import BatchWriter
from rag.store.catalog import read_meta, timestamp
from rag.store.cleanup import collect_garbage
from rag.store.document_rows import record_document
from rag.store.errors import CollectionError
from rag.store.fsutil import remove_path
from rag.store.locks import WriteLock
from rag.store.merge import Entry, dense_kind, merge, needs_rewrite, plan
from rag.store.segment import Segment, SegmentParts, segment_name, write_deletions, write_segment

if TYPE_CHECKING:
    from rag.store.collection import Collection

@dataclass
class _Pending:
    doc_id: int
    ids: np.ndarray
    lengths: np.ndarray
    rows: np.ndarray
    terms: np.ndarray
    vals: np.ndarray
    dense: np.ndarray
    colbert: list[np.ndarray] | None


class Writer(BatchWriter):
    """A batch of changes to one collection; see the module docstring. Not thread-safe: one thread writes."""

    def __init__(self, collection: Collection, wait: bool = False, timeout: float | None = None) -> None:
        self._col = collection
        self._lock = WriteLock(collection.path / "write.lock", collection.name)
        self._lock.acquire(wait=wait, timeout=timeout)
        self._conn = None
        self._open = False
        try:
            self._conn = collection._writer_conn()
            self._sync = collection.options.durable
            collect_garbage(self._conn, collection.path)
            self._conn.execute("BEGIN IMMEDIATE")
            self._open = True
            meta = read_meta(self._conn)
            self._base_gen = int(meta["generation"])
            self.generation = self._base_gen + 1  # the generation this batch will commit as
            self._next_chunk = int(meta["next_chunk_id"])
            self._next_segment = int(meta["next_segment"])
            self._base = collection._snapshot_at(self._base_gen, self._conn)
            self._base_entries = [
                Entry(seg.name, seg, np.asarray(deleted, dtype=np.int64), del_file)
                for seg, deleted, del_file in zip(self._base.segments, self._base.deleted, self._base_del_files())
            ]
            self._new_entries: list[Entry] = []
            self._pending: list[_Pending] = []
            self._pending_rows = 0
            self._flushed: dict[int, tuple[Entry, int, int]] = {}  # doc id -> (new entry, first row, end row)
            self._dirty = False
            self._compact = False
        except BaseException:
            self._close()
            raise

    def _base_del_files(self) -> list[str | None]:
        return [s.get("del") for s in self._base.manifest["segments"]]

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
        self._pending.append(_Pending(doc_id, ids, v.lengths, v.rows, v.terms, v.vals, v.dense, v.colbert))
        self._pending_rows += n
        self._dirty = True
        if self._pending_rows >= self._col.options.flush_rows:
            self._flush()
        return doc_id

    def delete_document(self, doc_id: int) -> None:
        """Delete a document with its chunks, vectors, postings, clauses and terms."""
        self._check_open()
        doc_id = int(doc_id)
        row = self._conn.execute(
            "SELECT added_gen, deleted_gen, chunks FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None or row[1] is not None:
            raise CollectionError(f"collection {self._col.name!r} has no document {doc_id}")
        added_gen, _, n_chunks = row
        if added_gen == self.generation:  # added by this batch: forget it entirely
            for table, col in (("chunks", "doc_id"), ("clauses", "doc_id"), ("terms", "doc_id"), ("documents", "id")):
                self._conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (doc_id,))
            before = len(self._pending)
            self._pending = [p for p in self._pending if p.doc_id != doc_id]
            if len(self._pending) != before:
                self._pending_rows -= n_chunks
            elif doc_id in self._flushed:
                entry, a, b = self._flushed.pop(doc_id)
                entry.deleted = np.union1d(entry.deleted, np.arange(a, b))
                entry.deleted_changed = True
        else:
            self._conn.execute("UPDATE documents SET deleted_gen = ? WHERE id = ?", (self.generation, doc_id))
            rows = self._base.rows_of_docs([doc_id])
            if len(rows) != n_chunks:
                raise CollectionError(
                    f"collection {self._col.name!r} is inconsistent: document {doc_id} has {n_chunks} chunks "
                    f"in the catalog but {len(rows)} in the index"
                )
            seg = self._base.segment_of_rows(rows)
            for s in np.unique(seg):
                e = self._base_entries[s]
                e.deleted = np.union1d(e.deleted, rows[seg == s] - self._base.offsets[s])
                e.deleted_changed = True
        self._dirty = True

    def compact(self) -> None:
        """Merge all segments into one at commit (dropping deleted rows)."""
        self._check_open()
        self._compact = True
        self._dirty = True

    # ------------------------------------------------------------------ segments
    def _flush(self) -> None:
        if not self._pending:
            return
        info, options = self._col.info, self._col.options
        pend = self._pending
        counts = [len(p.ids) for p in pend]
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        n = int(starts[-1])
        ids = np.concatenate([p.ids for p in pend])
        doc_ids = np.repeat(np.array([p.doc_id for p in pend], dtype=np.int64), counts)
        lengths = np.concatenate([p.lengths for p in pend])
        rows = np.concatenate([p.rows + starts[i] for i, p in enumerate(pend)])
        terms = np.concatenate([p.terms for p in pend])
        vals = np.concatenate([p.vals for p in pend])
        c_terms, c_indptr, c_rows, c_vals = sparse_mod.csc_from_coo(rows, terms, vals)
        vectors = np.concatenate([p.dense for p in pend]) if n else np.zeros((0, info.dim), np.float32)
        kind = dense_kind(n, info, options)
        index = dense_mod.build_index(kind, info.dim, ids, lambda r: vectors[r], options, seed=self._next_segment)
        colbert = offsets = None
        if info.colbert_dim:
            toks = [a for p in pend for a in (p.colbert or [])]
            colbert = np.concatenate(toks) if toks else np.zeros((0, info.colbert_dim), np.float16)
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum([len(a) for a in toks], out=offsets[1:])
        parts = SegmentParts(ids, doc_ids, lengths, c_terms, c_indptr, c_rows, c_vals, index, kind, info.dim,
                             colbert, offsets, info.colbert_dim)
        entry = self._write(parts)
        for i, p in enumerate(pend):
            self._flushed[p.doc_id] = (entry, int(starts[i]), int(starts[i + 1]))
        self._new_entries.append(entry)
        self._pending = []
        self._pending_rows = 0

    def _write(self, parts: SegmentParts) -> Entry:
        name = segment_name(self._next_segment)
        self._next_segment += 1
        path = write_segment(self._col.parts_dir, name, parts, self._sync)
        return Entry(name, Segment(path), np.zeros(0, dtype=np.int64), None, new=True)

    # ------------------------------------------------------------------ commit / rollback
    def commit(self) -> int:
        """Make the batch visible; returns the collection's generation afterwards."""
        self._check_open()
        if not self._dirty:
            self._close()
            return self._base_gen
        written: list[str] = []
        try:
            self._flush()
            entries = self._base_entries + self._new_entries
            written += [e.name for e in self._new_entries]
            final: list[Entry] = []
            for group in plan(entries, self._col.options, full=self._compact):
                rewrite = needs_rewrite(group, entries, self._col.info, self._col.options)
                if self._compact and not rewrite:
                    e = entries[group[0]]
                    rewrite = len(e.deleted) > 0 or e.segment.kind != dense_kind(e.live, self._col.info, self._col.options)
                if rewrite:
                    parts = merge([entries[i] for i in group], self._col.info, self._col.options, seed=self._next_segment)
                    entry = self._write(parts)
                    written.append(entry.name)
                    final.append(entry)
                else:
                    final.append(entries[group[0]])
            new_files: list[str] = []
            retired: list[str] = []
            for e in final:
                if e.new:
                    new_files.append(e.name)
                if e.deleted_changed:
                    if not e.new and e.del_file:
                        retired.append(f"{e.name}/{e.del_file}")
                    e.del_file = write_deletions(self._col.parts_dir / e.name, self.generation, e.deleted, self._sync)
                    new_files.append(f"{e.name}/{e.del_file}")
            final_names = {e.name for e in final}
            retired += [e.name for e in self._base_entries if e.name not in final_names]
            manifest = {
                "segments": [
                    {"name": e.name, "rows": e.rows, "live": e.live, "kind": e.segment.kind, "del": e.del_file}
                    for e in final
                ]
            }
            c = self._conn
            c.execute(
                "INSERT INTO generations(gen, committed_at, manifest) VALUES (?, ?, ?)",
                (self.generation, timestamp(), json.dumps(manifest)),
            )
            c.executemany("INSERT INTO files(path, created_gen) VALUES (?, ?)", [(p, self.generation) for p in new_files])
            c.executemany("UPDATE files SET retired_gen = ? WHERE path = ?", [(self.generation, p) for p in retired])
            c.executemany(
                "UPDATE meta SET value = ? WHERE key = ?",
                [(str(self.generation), "generation"), (str(self._next_chunk), "next_chunk_id"),
                 (str(self._next_segment), "next_segment")],
            )
            c.execute("COMMIT")
            self._open = False
        except BaseException:
            self._rollback_files(written)
            self._close()
            raise
        for name in written:  # segments of this batch that a merge replaced before they were ever committed
            if name not in final_names:
                remove_path(self._col.parts_dir / name)
        # drop this writer's hold on the base generation so that clean-up can forget it
        self._base = None  # type: ignore[assignment]
        self._base_entries, self._new_entries = [], []
        try:
            collect_garbage(self._conn, self._col.path)
        except (OSError, sqlite3.Error) as exc:  # the batch is committed; the next writer retries the clean-up
            warnings.warn(f"collection {self._col.name!r}: garbage collection after commit failed: {exc}", stacklevel=2)
        self._close()
        return self.generation

    def rollback(self) -> None:
        """Discard the batch (nothing of it becomes visible)."""
        if not self._open:
            return
        self._rollback_files([e.name for e in self._new_entries])
        self._close()

    def _rollback_files(self, names: list[str]) -> None:
        if self._conn is not None and self._open:
            with contextlib.suppress(sqlite3.Error):  # no transaction left to roll back
                self._conn.execute("ROLLBACK")
        self._open = False
        for name in names:
            remove_path(self._col.parts_dir / name)
        # deletion files written for committed segments carry this batch's generation, which was never
        # committed: the next writer's garbage collection removes them (they are in no catalog row).

    def _close(self) -> None:
        if self._conn is not None:
            if self._open:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                self._open = False
            self._conn = None  # the collection keeps the connection for its next writer
        self._base = None  # type: ignore[assignment]
        self._base_entries = []
        self._lock.release()
