"""Segment maintenance: which segments to merge, and merging them.

Every commit adds at most a few segments, so without merging a collection would
accumulate thousands and every query would visit all of them. The policy is a
log-structured merge: a segment's *tier* is ``floor(log_F(live rows))`` with
``F = IndexOptions.merge_factor``; whenever ``F`` neighbouring segments share a
tier they are merged into one (which lands a tier up), so a collection of N
chunks keeps ``O(F * log_F N)`` segments and each chunk is rewritten
``O(log_F N)`` times over its life. A segment whose deleted fraction exceeds
``IndexOptions.max_deleted_fraction`` is rewritten without its deleted rows
(this is where HNSW deletions become physical), and a segment with no live row
is simply dropped. Only neighbours are merged, so segments stay in chunk-id order.

A merge reads the live rows of its inputs (vectors from the FAISS storage,
postings from the CSC arrays, ColBERT tokens from the memory map) and writes a
new segment; the dense index kind follows the merged size (see
:func:`dense_kind`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.store import dense as dense_mod
from rag.store import sparse as sparse_mod
from rag.store.model import IndexOptions, ModelInfo
from rag.store.segment import Segment, SegmentParts


@dataclass
class Entry:
    """A segment as the writer sees it while preparing a generation."""

    name: str
    segment: Segment
    deleted: np.ndarray  # sorted local rows deleted
    del_file: str | None  # deletion file currently recorded for it (None: no deletions file)
    new: bool = False  # written by this batch (not yet committed)
    deleted_changed: bool = False

    @property
    def rows(self) -> int:
        return self.segment.rows

    @property
    def live(self) -> int:
        return self.segment.rows - len(self.deleted)


def dense_kind(rows: int, info: ModelInfo, options: IndexOptions) -> str:
    """The collection's dense index kind for big segments, exact ``flat`` below ``approx_min_rows``."""
    return info.dense_index if rows >= options.approx_min_rows else "flat"


def _tier(live: int, factor: int) -> int:
    return int(math.log(max(live, 1), factor) + 1e-9)


def plan(entries: Sequence[Entry], options: IndexOptions, full: bool = False) -> list[list[int]]:
    """Groups of entry indexes that become one segment each, in order (singletons are kept as they are
    unless they need rewriting); entries with no live rows are left out."""
    keep = [i for i, e in enumerate(entries) if e.live > 0]
    if full:
        return [keep] if keep else []
    groups: list[list[int]] = [[i] for i in keep]
    sizes = [entries[i].live for i in keep]
    factor = options.merge_factor
    while True:
        tiers = [_tier(s, factor) for s in sizes]
        run = None
        j = len(groups)
        while j > 0:  # newest runs first: that is where small segments pile up
            i = j - 1
            while i > 0 and tiers[i - 1] == tiers[j - 1]:
                i -= 1
            if j - i >= factor:
                run = (j - factor, j)
                break
            j = i
        if run is None:
            return groups
        a, b = run
        groups[a:b] = [[x for g in groups[a:b] for x in g]]
        sizes[a:b] = [sum(sizes[a:b])]


def needs_rewrite(group: list[int], entries: Sequence[Entry], info: ModelInfo, options: IndexOptions) -> bool:
    if len(group) > 1:
        return True
    e = entries[group[0]]
    return bool(e.rows) and len(e.deleted) / e.rows > options.max_deleted_fraction


def merge(entries: Sequence[Entry], info: ModelInfo, options: IndexOptions, seed: int = 0) -> SegmentParts:
    """The live rows of ``entries`` (in order) as one new segment's parts."""
    live_local: list[np.ndarray] = []
    new_rows: list[np.ndarray] = []
    offset = 0
    for e in entries:
        mask = np.ones(e.rows, dtype=bool)
        mask[e.deleted] = False
        live = np.flatnonzero(mask)
        nr = np.full(e.rows, -1, dtype=np.int64)
        nr[live] = offset + np.arange(len(live))
        offset += len(live)
        live_local.append(live)
        new_rows.append(nr)
    n = offset
    segs = [e.segment for e in entries]
    ids = np.concatenate([np.asarray(s.ids)[lv] for s, lv in zip(segs, live_local)]) if segs else np.zeros(0, np.int64)
    doc_ids = np.concatenate([np.asarray(s.doc_ids)[lv] for s, lv in zip(segs, live_local)])
    lengths = np.concatenate([np.asarray(s.lengths)[lv] for s, lv in zip(segs, live_local)])
    terms, indptr, rows, vals = sparse_mod.merge_csc(
        [(s.terms, s.indptr, s.p_rows, s.p_vals, nr) for s, nr in zip(segs, new_rows)]
    )
    starts = np.concatenate([[0], np.cumsum([len(lv) for lv in live_local])])

    def fetch(global_rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(global_rows), info.dim), dtype=np.float32)
        which = np.searchsorted(starts, global_rows, "right") - 1
        for k in np.unique(which):
            sel = np.flatnonzero(which == k)
            out[sel] = segs[k].vectors(live_local[k][global_rows[sel] - starts[k]])
        return out

    kind = dense_kind(n, info, options)
    index = dense_mod.build_index(kind, info.dim, ids, fetch, options, seed=seed)
    colbert = offsets = None
    if info.colbert_dim:
        pieces = []
        counts = []
        for s, lv in zip(segs, live_local):
            assert s.colbert_offsets is not None and s.colbert_vecs is not None
            lens = np.diff(s.colbert_offsets)
            token_live = np.repeat(np.isin(np.arange(s.rows), lv), lens)
            pieces.append(np.asarray(s.colbert_vecs)[token_live])
            counts.append(lens[lv])
        colbert = np.concatenate(pieces) if pieces else np.zeros((0, info.colbert_dim), np.float16)
        counts_all = np.concatenate(counts) if counts else np.zeros(0, np.int64)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts_all, out=offsets[1:])
    return SegmentParts(
        ids=ids,
        doc_ids=doc_ids,
        lengths=lengths,
        terms=terms,
        indptr=indptr,
        rows=rows,
        vals=vals,
        index=index,
        kind=kind,
        dim=info.dim,
        colbert=colbert,
        colbert_offsets=offsets,
        colbert_dim=info.colbert_dim,
    )
