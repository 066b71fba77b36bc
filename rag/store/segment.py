"""Segments: immutable folders holding the dense, sparse and multi-vector parts of a batch of chunks.

A collection's chunks live in a list of segments ordered by chunk id (each new
segment only holds ids above all earlier ones, and merges only join neighbours,
so concatenating the segments' ``ids`` gives a sorted array). A segment folder::

    seg-00000042/
        meta.json                  rows, dense kind, dimensions, id range
        ids.npy doc_ids.npy        int64 chunk id and document id per row
        lengths.npy                float32 sum of sparse values per row (BM25 length)
        terms.npy indptr.npy       sparse postings, term-major (see rag.store.sparse)
        rows.npy vals.npy
        dense.faiss                IndexIDMap2 over the rows (see rag.store.dense)
        colbert.npy                float16 [tokens, colbert_dim], only with ColBERT
        colbert_offsets.npy        int64 [rows + 1]
        del-000000000057.npy       int32 deleted rows as of generation 57 (added later)

The folder is written under a temporary name, fsynced and renamed, so it exists
complete or not at all. Because all parts of a chunk are in the same folder and
written together, the parts cannot disagree about which chunks exist; deletions
are a per-generation file of deleted rows that applies to all parts at once.
Arrays are memory-mapped read-only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.store import dense as dense_mod
from rag.store.fsutil import fsync_path, load_npy, save_npy, tmp_name

SEGMENT_FORMAT = 1
SPARSE_FILES = ("terms.npy", "indptr.npy", "rows.npy", "vals.npy", "lengths.npy")
ROW_FILES = ("ids.npy", "doc_ids.npy", "meta.json")
COLBERT_FILES = ("colbert.npy", "colbert_offsets.npy")


def segment_name(number: int) -> str:
    return f"seg-{number:08d}"


def deletion_name(gen: int) -> str:
    return f"del-{gen:012d}.npy"


@dataclass
class SegmentParts:
    """Everything a new segment holds, in memory, before it is written."""

    ids: np.ndarray  # int64, ascending
    doc_ids: np.ndarray  # int64
    lengths: np.ndarray  # float32
    terms: np.ndarray  # int32 sorted unique
    indptr: np.ndarray  # int64
    rows: np.ndarray  # int32
    vals: np.ndarray  # float32
    index: Any  # faiss IndexIDMap2
    kind: str  # flat | hnsw | ivf
    dim: int
    colbert: np.ndarray | None = None  # float16 [tokens, colbert_dim]
    colbert_offsets: np.ndarray | None = None  # int64 [rows + 1]
    colbert_dim: int | None = None


def write_segment(parts_dir: Path, name: str, parts: SegmentParts, sync: bool = True) -> Path:
    """Write ``parts`` as ``parts_dir/name`` atomically (temporary folder, fsync, rename)."""
    final = parts_dir / name
    tmp = tmp_name(final)
    tmp.mkdir()
    n = len(parts.ids)
    if n and not (np.diff(parts.ids) > 0).all():
        raise ValueError(f"segment {name}: chunk ids must be strictly ascending")
    save_npy(tmp / "ids.npy", np.asarray(parts.ids, dtype=np.int64), sync)
    save_npy(tmp / "doc_ids.npy", np.asarray(parts.doc_ids, dtype=np.int64), sync)
    save_npy(tmp / "lengths.npy", np.asarray(parts.lengths, dtype=np.float32), sync)
    save_npy(tmp / "terms.npy", np.asarray(parts.terms, dtype=np.int32), sync)
    save_npy(tmp / "indptr.npy", np.asarray(parts.indptr, dtype=np.int64), sync)
    save_npy(tmp / "rows.npy", np.asarray(parts.rows, dtype=np.int32), sync)
    save_npy(tmp / "vals.npy", np.asarray(parts.vals, dtype=np.float32), sync)
    dense_mod.write_index(parts.index, tmp / "dense.faiss")
    fsync_path(tmp / "dense.faiss", sync)
    if parts.colbert is not None:
        save_npy(tmp / "colbert.npy", np.asarray(parts.colbert, dtype=np.float16), sync)
        save_npy(tmp / "colbert_offsets.npy", np.asarray(parts.colbert_offsets, dtype=np.int64), sync)
    meta = {
        "format": SEGMENT_FORMAT,
        "rows": n,
        "dense": parts.kind,
        "dim": parts.dim,
        "colbert_dim": parts.colbert_dim if parts.colbert is not None else None,
        "min_id": int(parts.ids[0]) if n else None,
        "max_id": int(parts.ids[-1]) if n else None,
    }
    with open(tmp / "meta.json", "w") as fh:
        json.dump(meta, fh)
        fh.flush()
        if sync:
            os.fsync(fh.fileno())
    fsync_path(tmp, sync)
    os.replace(tmp, final)
    fsync_path(parts_dir, sync)
    return final


class Segment:
    """A loaded segment (read-only, memory-mapped); shared by every view that lists it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        try:
            with open(path / "meta.json") as fh:
                meta = json.load(fh)
            self.rows: int = int(meta["rows"])
            self.kind: str = meta["dense"]
            self.dim: int = int(meta["dim"])
            self.colbert_dim: int | None = meta.get("colbert_dim")
            self.ids = load_npy(path / "ids.npy")
            self.doc_ids = load_npy(path / "doc_ids.npy")
            self.lengths = load_npy(path / "lengths.npy")
            self.terms = load_npy(path / "terms.npy")
            self.indptr = load_npy(path / "indptr.npy")
            self.p_rows = load_npy(path / "rows.npy")
            self.p_vals = load_npy(path / "vals.npy")
            self.index = dense_mod.read_index(path / "dense.faiss")
            if self.colbert_dim:
                self.colbert_vecs = load_npy(path / "colbert.npy")
                self.colbert_offsets = load_npy(path / "colbert_offsets.npy", mmap=False)
            else:
                self.colbert_vecs = None
                self.colbert_offsets = None
        except FileNotFoundError:
            raise
        except (OSError, KeyError, ValueError) as exc:
            raise OSError(f"segment {path} is unreadable: {exc}") from exc
        if len(self.ids) != self.rows or len(self.doc_ids) != self.rows or self.index.ntotal != self.rows:
            raise OSError(
                f"segment {path} is inconsistent: meta says {self.rows} rows, ids {len(self.ids)}, "
                f"dense {self.index.ntotal}"
            )
        self._check_postings()
        self._xb = self._storage_view()

    def _check_postings(self) -> None:
        """Sparse scoring writes scores through ``p_rows`` with a compiled kernel that does not check
        bounds (:func:`rag.store.sparse.scatter_add`), so a damaged file must fail here instead."""
        n = len(self.p_rows)
        ok = (self.p_rows.dtype == np.int32 and self.p_vals.dtype == np.float32 and len(self.p_vals) == n
              and len(self.indptr) == len(self.terms) + 1 and int(self.indptr[-1]) == n)
        if ok and n:
            ok = int(self.p_rows.min()) >= 0 and int(self.p_rows.max()) < self.rows
        if not ok:
            raise OSError(f"segment {self.path} is inconsistent: its postings do not fit its {self.rows} rows")

    def _storage_view(self) -> np.ndarray | None:
        """The index's own vector storage as a read-only array (flat and HNSW), else ``None``."""
        faiss = dense_mod.faiss_module()
        inner = faiss.downcast_index(self.index.index)
        if self.kind == "hnsw":
            inner = faiss.downcast_index(inner.storage)
        if not isinstance(inner, faiss.IndexFlat) or self.rows == 0:
            return None
        view = faiss.rev_swig_ptr(inner.get_xb(), self.rows * self.dim).reshape(self.rows, self.dim)
        view.flags.writeable = False
        return view

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """Stored (normalised) vectors of local ``rows``, float32 copies."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._xb is not None:
            return np.array(self._xb[rows], dtype=np.float32)
        faiss = dense_mod.faiss_module()
        inner = faiss.downcast_index(self.index.index)
        return inner.reconstruct_batch(rows)

    def colbert(self, rows: np.ndarray) -> list[np.ndarray]:
        assert self.colbert_vecs is not None and self.colbert_offsets is not None
        out = []
        for r in np.asarray(rows, dtype=np.int64):
            a, b = self.colbert_offsets[r], self.colbert_offsets[r + 1]
            out.append(np.array(self.colbert_vecs[a:b], dtype=np.float32))
        return out

    def bytes_by_part(self) -> dict[str, int]:
        out = {"dense": 0, "sparse": 0, "colbert": 0, "rows": 0}
        for p in self.path.iterdir():
            try:
                size = p.stat().st_size
            except FileNotFoundError:
                continue
            if p.name == "dense.faiss":
                out["dense"] += size
            elif p.name in SPARSE_FILES:
                out["sparse"] += size
            elif p.name in COLBERT_FILES:
                out["colbert"] += size
            else:
                out["rows"] += size
        return out


def write_deletions(segment_dir: Path, gen: int, deleted_rows: np.ndarray, sync: bool = True) -> str:
    """Write the segment's cumulative deleted rows as of ``gen``; returns the file's name."""
    name = deletion_name(gen)
    path = segment_dir / name
    tmp = tmp_name(path)
    save_npy(tmp, np.unique(np.asarray(deleted_rows, dtype=np.int32)), sync)
    os.replace(tmp, path)
    fsync_path(segment_dir, sync)
    return name


def read_deletions(path: Path) -> np.ndarray:
    return np.asarray(load_npy(path, mmap=False), dtype=np.int64)
