"""The FAISS + inverted-map vector store: immutable segment folders under ``<collection>/parts/``.

Each generation's manifest lists its segments and their deletion files; loading a generation
maps its segments (shared, weakly cached, by every generation that lists them) into a
:class:`~rag.store.snapshot.Snapshot`. Batches are :class:`~rag.store.faiss_batch.FaissBatch`;
clean-up is :func:`~rag.store.cleanup.collect_garbage`.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rag.store.catalog_db import CatalogDB
from rag.store.cleanup import collect_garbage
from rag.store.errors import CollectionError
from rag.store.faiss_batch import FaissBatch
from rag.store.model import IndexOptions, ModelInfo
from rag.store.segment import Segment, read_deletions
from rag.store.snapshot import Snapshot


class FaissVectors:
    """Segments of one collection folder (see the module docstring)."""

    keeps_current = False  # loading a generation is cheap: memory maps shared with older ones

    def __init__(self, root: Path, name: str, info: ModelInfo, options: IndexOptions, db: CatalogDB) -> None:
        self.root = root
        self.db = db
        self.parts_dir = root / "parts"
        self._name, self._info, self._options = name, info, options
        self._lock = threading.Lock()
        self._segments: weakref.WeakValueDictionary[str, Segment] = weakref.WeakValueDictionary()

    def load(self, conn: sqlite3.Connection, gen: int, manifest: dict[str, Any], lease_fd: int) -> Snapshot:
        segments, deleted = [], []
        try:
            for entry in manifest["segments"]:
                seg = self._segment(entry["name"])
                segments.append(seg)
                if entry.get("del"):
                    deleted.append(read_deletions(seg.path / entry["del"]))
                else:
                    deleted.append(np.zeros(0, dtype=np.int64))
        except FileNotFoundError as exc:
            raise CollectionError(f"collection {self._name!r} generation {gen} is missing a file: {exc}") from exc
        return Snapshot(self._name, gen, manifest, self._info, self._options, segments, deleted, lease_fd)

    def _segment(self, name: str) -> Segment:
        with self._lock:
            seg = self._segments.get(name)
        if seg is None:
            seg = Segment(self.parts_dir / name)
            with self._lock:
                seg = self._segments.setdefault(name, seg)
        return seg

    def begin(self, conn: sqlite3.Connection, meta: dict[str, str], base: Callable[[], Any]) -> FaissBatch:
        return FaissBatch(self._name, self.parts_dir, self._info, self._options, conn, meta, base)

    def clean_up(self, conn: sqlite3.Connection) -> None:
        collect_garbage(conn, self.db, self.parts_dir)

    # ------------------------------------------------------------------ accounting
    def stats(self, snap: Snapshot) -> tuple[dict[str, Any], dict[str, int]]:
        parts = {"dense": 0, "sparse": 0, "colbert": 0, "rows": 0}
        for seg, entry in zip(snap.segments, snap.manifest["segments"]):
            for key, size in seg.bytes_by_part().items():
                parts[key] += size
            if entry.get("del"):
                p = seg.path / entry["del"]
                parts["rows"] += p.stat().st_size if p.exists() else 0
        counts = {"segments": len(snap.segments), "deleted_rows": len(snap.dead_rows),
                  "dense_kinds": sorted({s.kind for s in snap.segments})}
        return counts, parts

    def problems(self, snap: Snapshot) -> list[str]:
        problems: list[str] = []
        if not snap.ids_sorted:
            problems.append("segment chunk ids are not ascending")
        for s, seg in enumerate(snap.segments):
            faiss_ids = _faiss_ids(seg.index)
            if not np.array_equal(np.sort(faiss_ids), np.asarray(seg.ids)):
                problems.append(f"segment {seg.name}: dense ids differ from row ids")
            if len(seg.p_rows) and (int(np.max(seg.p_rows)) >= seg.rows or int(np.min(seg.p_rows)) < 0):
                problems.append(f"segment {seg.name}: sparse postings point outside its rows")
            if len(seg.indptr) != len(seg.terms) + 1 or int(seg.indptr[-1]) != len(seg.p_rows):
                problems.append(f"segment {seg.name}: sparse index pointers are malformed")
            if len(seg.lengths) != seg.rows:
                problems.append(f"segment {seg.name}: {len(seg.lengths)} lengths for {seg.rows} rows")
            if self._info.colbert_dim:
                offs = seg.colbert_offsets
                if offs is None or len(offs) != seg.rows + 1 or int(offs[-1]) != len(seg.colbert_vecs):
                    problems.append(f"segment {seg.name}: ColBERT offsets do not match its rows")
            if len(snap.deleted[s]) and int(snap.deleted[s].max()) >= seg.rows:
                problems.append(f"segment {seg.name}: deletion mask points outside its rows")
        return problems


def _faiss_ids(index: Any) -> np.ndarray:
    from rag.store.dense import faiss_module

    return faiss_module().vector_to_array(index.id_map).astype(np.int64)
