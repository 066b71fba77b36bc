"""One batch's changes to the FAISS + inverted-map segments of a collection folder.

Each added document's vectors are buffered; every ``flush_rows`` buffered chunks (and at
commit) they are written as a new segment folder (:mod:`rag.store.segment`); deletions become
per-segment deleted rows. At commit (``prepare``) segments are merged as :mod:`rag.store.merge`
plans and the new deletion files written; the new files are recorded, replaced ones retired,
in the writer's open catalog transaction, and the manifest lists the generation's segments.
Files written before the catalog commit and not referenced by it are orphans that the next
writer's clean-up deletes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.store import dense as dense_mod
from rag.store import sparse as sparse_mod
from rag.store.document_rows import CheckedVectors
from rag.store.errors import CollectionError
from rag.store.fsutil import remove_path
from rag.store.merge import Entry, dense_kind, merge, needs_rewrite, plan
from rag.store.model import IndexOptions, ModelInfo
from rag.store.segment import Segment, SegmentParts, segment_name, write_deletions, write_segment
from rag.store.snapshot import Snapshot


@dataclass
class _Pending:
    doc_id: int
    ids: np.ndarray
    vectors: CheckedVectors


class FaissBatch:
    """The segment side of one writer's batch (see the module docstring)."""

    def __init__(self, name: str, parts_dir: Path, info: ModelInfo, options: IndexOptions,
                 conn: sqlite3.Connection, meta: dict[str, str], base: Callable[[], Snapshot]) -> None:
        self._name, self._parts_dir, self._info, self._options = name, parts_dir, info, options
        self._conn = conn
        self._sync = options.durable
        self._next_segment = int(meta["next_segment"])
        self._base: Snapshot | None = base()
        self._base_entries = [
            Entry(seg.name, seg, np.asarray(deleted, dtype=np.int64), entry.get("del"))
            for seg, deleted, entry in zip(self._base.segments, self._base.deleted, self._base.manifest["segments"])
        ]
        self._new_entries: list[Entry] = []
        self._pending: list[_Pending] = []
        self._pending_rows = 0
        self._flushed: dict[int, tuple[Entry, int, int]] = {}  # doc id -> (new entry, first row, end row)
        self._written: list[str] = []
        self._final_names: set[str] = set()
        self._compact = False

    # ------------------------------------------------------------------ changes
    def add(self, doc_id: int, ids: np.ndarray, vectors: CheckedVectors) -> None:
        self._pending.append(_Pending(doc_id, ids, vectors))
        self._pending_rows += len(ids)
        if self._pending_rows >= self._options.flush_rows:
            self._flush()

    def delete(self, doc_id: int, n_chunks: int, added_here: bool) -> None:
        if added_here:
            before = len(self._pending)
            self._pending = [p for p in self._pending if p.doc_id != doc_id]
            if len(self._pending) != before:
                self._pending_rows -= n_chunks
            elif doc_id in self._flushed:
                entry, a, b = self._flushed.pop(doc_id)
                entry.deleted = np.union1d(entry.deleted, np.arange(a, b))
                entry.deleted_changed = True
            return
        base = self._base
        assert base is not None
        rows = base.rows_of_docs([doc_id])
        if len(rows) != n_chunks:
            raise CollectionError(
                f"collection {self._name!r} is inconsistent: document {doc_id} has {n_chunks} chunks "
                f"in the catalog but {len(rows)} in the index"
            )
        seg = base.segment_of_rows(rows)
        for s in np.unique(seg):
            e = self._base_entries[s]
            e.deleted = np.union1d(e.deleted, rows[seg == s] - base.offsets[s])
            e.deleted_changed = True

    def compact(self) -> None:
        """Merge all segments into one at commit (dropping deleted rows)."""
        self._compact = True

    # ------------------------------------------------------------------ segments
    def _flush(self) -> None:
        if not self._pending:
            return
        info = self._info
        pend = self._pending
        vs = [p.vectors for p in pend]
        counts = [len(p.ids) for p in pend]
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        n = int(starts[-1])
        ids = np.concatenate([p.ids for p in pend])
        doc_ids = np.repeat(np.array([p.doc_id for p in pend], dtype=np.int64), counts)
        lengths = np.concatenate([v.lengths for v in vs])
        rows = np.concatenate([v.rows + starts[i] for i, v in enumerate(vs)])
        c_terms, c_indptr, c_rows, c_vals = sparse_mod.csc_from_coo(
            rows, np.concatenate([v.terms for v in vs]), np.concatenate([v.vals for v in vs]))
        vectors = np.concatenate([v.dense for v in vs]) if n else np.zeros((0, info.dim), np.float32)
        kind = dense_kind(n, info, self._options)
        index = dense_mod.build_index(kind, info.dim, ids, lambda r: vectors[r], self._options, seed=self._next_segment)
        colbert = offsets = None
        if info.colbert_dim:
            toks = [a for v in vs for a in (v.colbert or [])]
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
        path = write_segment(self._parts_dir, name, parts, self._sync)
        self._written.append(name)
        return Entry(name, Segment(path), np.zeros(0, dtype=np.int64), None, new=True)

    # ------------------------------------------------------------------ commit
    def prepare(self, generation: int, next_chunk: int) -> tuple[dict[str, Any], dict[str, str]]:
        """Flush, merge, write deletion files and record the files in the open catalog transaction."""
        self._flush()
        info, options = self._info, self._options
        entries = self._base_entries + self._new_entries
        final: list[Entry] = []
        for group in plan(entries, options, full=self._compact):
            rewrite = needs_rewrite(group, entries, info, options)
            if self._compact and not rewrite:
                e = entries[group[0]]
                rewrite = len(e.deleted) > 0 or e.segment.kind != dense_kind(e.live, info, options)
            if rewrite:
                final.append(self._write(merge([entries[i] for i in group], info, options, seed=self._next_segment)))
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
                e.del_file = write_deletions(self._parts_dir / e.name, generation, e.deleted, self._sync)
                new_files.append(f"{e.name}/{e.del_file}")
        self._final_names = {e.name for e in final}
        retired += [e.name for e in self._base_entries if e.name not in self._final_names]
        c = self._conn
        c.executemany("INSERT INTO files(path, created_gen) VALUES (?, ?)", [(p, generation) for p in new_files])
        c.executemany("UPDATE files SET retired_gen = ? WHERE path = ?", [(generation, p) for p in retired])
        manifest = {
            "segments": [
                {"name": e.name, "rows": e.rows, "live": e.live, "kind": e.segment.kind, "del": e.del_file}
                for e in final
            ]
        }
        return manifest, {"next_segment": str(self._next_segment)}

    def committed(self) -> None:
        for name in self._written:  # segments of this batch that a merge replaced before they were ever committed
            if name not in self._final_names:
                remove_path(self._parts_dir / name)
        self._release()

    def rollback(self) -> None:
        for name in self._written:
            remove_path(self._parts_dir / name)
        # deletion files written for committed segments carry this batch's generation, which was never
        # committed: the next writer's clean-up removes them (they are in no catalog row).
        self._release()

    def _release(self) -> None:
        self._base = None
        self._base_entries, self._new_entries, self._pending = [], [], []
