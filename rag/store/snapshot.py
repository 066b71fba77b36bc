"""A generation's loaded parts: the segments, their deletion masks, and the search code over them.

A :class:`Snapshot` is immutable and shared by every view of its generation in a
process (the collection caches it weakly). It holds a shared lease on its
generation (see :mod:`rag.store.locks`), released when the last view of it is
dropped, so no writer deletes the files or catalog rows it reads.

Rows: the segments' rows concatenated in segment order form the snapshot's
global row space; ``ids[row]`` is the chunk id (ascending) and ``doc_of_row[row]``
the document id (non-decreasing: documents and chunk ids are numbered in the same
order, so a document's chunks are one contiguous run of rows).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping

import numpy as np

from rag.store import dense as dense_mod
from rag.store import sparse as sparse_mod
from rag.store.errors import CollectionError
from rag.store.locks import release_lease
from rag.store.model import IndexOptions, ModelInfo
from rag.store.queries import EMPTY, check_k, dense_result, id_array, no_chunks, query_matrix, unique_ids
from rag.store.segment import Segment

#: a filtered dense search scores at most this many candidate rows of a segment exactly
#: (gathering their vectors) instead of asking FAISS to skip the others.
EXACT_FILTER_ROWS = 8192
#: BM25 per-posting values of postings at least this long are cached per generation, up to this many bytes.
TFC_CACHE_MIN = 4096
TFC_CACHE_BYTES = 64 << 20


class Snapshot:
    """Segments plus deletions of one generation, with dense/sparse/ColBERT search."""

    def __init__(
        self,
        collection: str,
        gen: int,
        manifest: dict,
        info: ModelInfo,
        options: IndexOptions,
        segments: list[Segment],
        deleted: list[np.ndarray],
        lease_fd: int | None,
    ) -> None:
        self.collection = collection
        self.gen = gen
        self.manifest = manifest
        self.info = info
        self.options = options
        self.segments = segments
        self.deleted = deleted  # per segment: sorted local rows deleted in this generation
        sizes = np.array([s.rows for s in segments], dtype=np.int64)
        self.offsets = np.zeros(len(segments) + 1, dtype=np.int64)
        np.cumsum(sizes, out=self.offsets[1:])
        self.n_rows = int(self.offsets[-1])
        if segments:
            self.ids = np.concatenate([np.asarray(s.ids, dtype=np.int64) for s in segments])
            self.doc_of_row = np.concatenate([np.asarray(s.doc_ids, dtype=np.int64) for s in segments])
        else:
            self.ids = np.zeros(0, dtype=np.int64)
            self.doc_of_row = np.zeros(0, dtype=np.int64)
        dead = [d + self.offsets[i] for i, d in enumerate(deleted) if len(d)]
        self.dead_rows = np.concatenate(dead) if dead else np.zeros(0, dtype=np.int64)
        self.live: np.ndarray | None = None
        if len(self.dead_rows):
            self.live = np.ones(self.n_rows, dtype=bool)
            self.live[self.dead_rows] = False
        self.seg_live = sizes - np.array([len(d) for d in deleted], dtype=np.int64)
        self.n_live = int(self.seg_live.sum())
        self.ids_sorted = bool(self.n_rows == 0 or (np.diff(self.ids) > 0).all())
        self.docs_sorted = bool(self.n_rows == 0 or (np.diff(self.doc_of_row) >= 0).all())
        self.max_id = int(self.ids[-1]) if self.n_rows else 0
        self._lock = threading.Lock()
        self._live_bitmap: np.ndarray | None = None
        self._bm25_norm: np.ndarray | None = None
        self._tfc: dict[tuple[int, int], np.ndarray] = {}
        self._tfc_bytes = 0
        if lease_fd is not None:
            self._finalizer = weakref.finalize(self, release_lease, lease_fd)

    # ----------------------------------------------------------------- rows and ids
    def live_ids(self) -> np.ndarray:
        return self.ids if self.live is None else self.ids[self.live]

    def chunk_ids(self, doc_ids: Iterable[int] | None = None) -> np.ndarray:
        """Live chunk ids (ascending), of the given documents when ``doc_ids`` is given."""
        if doc_ids is None:
            return np.array(self.live_ids(), dtype=np.int64)
        return self.ids[self.rows_of_docs(doc_ids)].astype(np.int64)

    def rows_of(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Global rows of live chunk ``ids``; ``CollectionError`` names ids that are not live here."""
        ids = id_array(ids)
        if not self.ids_sorted:
            raise CollectionError(f"collection {self.collection!r} generation {self.gen}: chunk ids out of order")
        rows = np.searchsorted(self.ids, ids)
        ok = rows < self.n_rows
        ok[ok] = self.ids[rows[ok]] == ids[ok]
        if self.live is not None:
            ok[ok] = self.live[rows[ok]]
        if not ok.all():
            raise no_chunks(self.collection, self.gen, ids[~ok])
        return rows

    def rows_of_docs(self, doc_ids: Iterable[int]) -> np.ndarray:
        """Sorted live global rows of the given documents."""
        docs = unique_ids(doc_ids)
        if len(docs) == 0 or self.n_rows == 0:
            return np.zeros(0, dtype=np.int64)
        if self.docs_sorted:
            lo = np.searchsorted(self.doc_of_row, docs, "left")
            hi = np.searchsorted(self.doc_of_row, docs, "right")
            keep = hi > lo
            lo, hi = lo[keep], hi[keep]
            if len(lo) == 0:
                return np.zeros(0, dtype=np.int64)
            lens = hi - lo
            rows = np.repeat(lo - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(lens.sum())
        else:
            rows = np.flatnonzero(np.isin(self.doc_of_row, docs))
        if self.live is not None:
            rows = rows[self.live[rows]]
        return rows

    def segment_of_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offsets, rows, "right") - 1

    # ----------------------------------------------------------------- dense
    def _live_selector_bitmap(self) -> np.ndarray:
        with self._lock:
            if self._live_bitmap is None:
                self._live_bitmap = dense_mod.id_bitmap(self.live_ids(), self.max_id + 1)
            return self._live_bitmap

    def dense_search(
        self, q: np.ndarray, k: int, doc_ids: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        Q, single = query_matrix(q, self.info.dim, self.collection)
        k = check_k(k)
        m = Q.shape[0]
        allowed = None if doc_ids is None else self.rows_of_docs(doc_ids)
        found_ids: list[np.ndarray] = []
        found_scores: list[np.ndarray] = []
        filter_bitmap = None
        for s, seg in enumerate(self.segments):
            lo, hi = int(self.offsets[s]), int(self.offsets[s + 1])
            if allowed is not None:
                a, b = np.searchsorted(allowed, [lo, hi])
                local = allowed[a:b] - lo
                if len(local) == 0:
                    continue
                if len(local) <= EXACT_FILTER_ROWS:
                    I, D = _exact(Q, seg.vectors(local), seg.ids[local], k)
                else:
                    if filter_bitmap is None:
                        filter_bitmap = dense_mod.id_bitmap(self.ids[allowed], self.max_id + 1)
                    I, D = _faiss_search(seg, Q, min(k, len(local)), filter_bitmap, self.options)
            else:
                if self.seg_live[s] == 0:
                    continue
                bitmap = self._live_selector_bitmap() if len(self.deleted[s]) else None
                I, D = _faiss_search(seg, Q, int(min(k, self.seg_live[s])), bitmap, self.options)
            found_ids.append(I)
            found_scores.append(D)
        if not found_ids:
            ids = np.full((m, 0), -1, dtype=np.int64)
            scores = np.zeros((m, 0), dtype=np.float32)
        else:
            ids, scores = _merge_topk(np.hstack(found_ids), np.hstack(found_scores), k)
        return dense_result(ids, scores, single)

    def dense_vectors(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        rows = self.rows_of(ids)
        out = np.zeros((len(rows), self.info.dim), dtype=np.float32)
        seg = self.segment_of_rows(rows)
        for s in np.unique(seg):
            sel = np.flatnonzero(seg == s)
            out[sel] = self.segments[s].vectors(rows[sel] - self.offsets[s])
        return out

    def colbert(self, ids: Iterable[int] | np.ndarray) -> list[np.ndarray] | None:
        if not self.info.colbert_dim:
            return None
        rows = self.rows_of(ids)
        out: list[np.ndarray | None] = [None] * len(rows)
        seg = self.segment_of_rows(rows)
        for s in np.unique(seg):
            sel = np.flatnonzero(seg == s)
            for i, arr in zip(sel, self.segments[s].colbert(rows[sel] - self.offsets[s])):
                out[i] = arr
        return out  # type: ignore[return-value]

    # ----------------------------------------------------------------- sparse
    def _norms(self) -> np.ndarray:
        """BM25 length normalisation ``k1 * (1 - b + b * dl / avgdl)`` per row (live statistics)."""
        with self._lock:
            if self._bm25_norm is None:
                if self.segments:
                    lengths = np.concatenate([np.asarray(s.lengths, dtype=np.float64) for s in self.segments])
                else:
                    lengths = np.zeros(0)
                live_len = lengths if self.live is None else lengths[self.live]
                avgdl = float(live_len.mean()) if len(live_len) else 1.0
                avgdl = avgdl if avgdl > 0 else 1.0
                k1, b = sparse_mod.BM25_K1, sparse_mod.BM25_B
                self._bm25_norm = (k1 * (1.0 - b + b * lengths / avgdl)).astype(np.float32)
            return self._bm25_norm

    def _postings(self, terms: np.ndarray) -> list[tuple[int, int, int, np.ndarray, np.ndarray]]:
        """``(segment, query term index, term position, rows, vals)`` for each query term each segment holds."""
        out = []
        terms = terms.astype(np.int32)  # the segments' dtype: a mismatch would copy ``seg.terms`` per query
        for s, seg in enumerate(self.segments):
            st = seg.terms
            if len(st) == 0:
                continue
            pos = np.searchsorted(st, terms)
            hit = pos < len(st)
            hit[hit] = st[pos[hit]] == terms[hit]
            for j in np.flatnonzero(hit).tolist():
                p = int(pos[j])
                a, b = int(seg.indptr[p]), int(seg.indptr[p + 1])
                out.append((s, j, p, seg.p_rows[a:b], seg.p_vals[a:b]))
        return out

    def _term_factors(self, weights: np.ndarray, postings: list) -> np.ndarray:
        """Per query term: the weight (lexical) or weight * idf over live chunks (BM25)."""
        if self.info.sparse != "bm25":
            return weights
        df = np.zeros(len(weights), dtype=np.int64)
        for s, j, _, rows, _ in postings:
            if len(self.deleted[s]) and self.live is not None:
                lo = int(self.offsets[s])
                df[j] += int(np.count_nonzero(self.live[lo:][rows]))
            else:
                df[j] += len(rows)
        return weights * sparse_mod.bm25_idf(self.n_live, df)

    def _term_scores(self, s: int, p: int, rows: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Per-posting score before the query factor: the weight (lexical) or ``tf / (tf + norm)`` (BM25).

        BM25 values of long postings are cached per generation (they depend on its
        statistics), so frequent terms cost the same as in the lexical mode.
        """
        if self.info.sparse != "bm25":
            return vals
        key = (s, p)
        cached = self._tfc.get(key)
        if cached is not None:
            return cached
        norm = self._norms()[int(self.offsets[s]) :][rows]
        out = vals / (vals + norm)
        if len(out) >= TFC_CACHE_MIN:
            with self._lock:
                if self._tfc_bytes + out.nbytes <= TFC_CACHE_BYTES:
                    self._tfc[key] = out
                    self._tfc_bytes += out.nbytes
        return out

    def sparse_search(
        self, q: Mapping[int, float], k: int, doc_ids: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        k = check_k(k)
        terms, weights = sparse_mod.query_arrays(q)
        empty = EMPTY
        if len(terms) == 0 or self.n_live == 0:
            return empty
        postings = self._postings(terms)
        if not postings:
            return empty
        factors = self._term_factors(weights, postings).astype(np.float32)
        scores = np.zeros(self.n_rows, dtype=np.float32)
        for s, j, p, rows, vals in postings:
            seg_scores = scores[int(self.offsets[s]) : int(self.offsets[s + 1])]
            sparse_mod.scatter_add(seg_scores, rows, self._term_scores(s, p, rows, vals), float(factors[j]))
        if doc_ids is not None:
            allowed = self.rows_of_docs(doc_ids)
            cand = allowed[scores[allowed] > 0]
        else:
            if len(self.dead_rows):
                scores[self.dead_rows] = 0.0
            cand = sparse_mod.candidates(scores, k)
        if len(cand) == 0:
            return empty
        return sparse_mod.top_k(scores, cand, self.ids, k)

    def sparse_scores(self, q: Mapping[int, float], ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Scores of the given live chunks (0 where no query term matches), in ``ids`` order."""
        rows = self.rows_of(ids)
        out = np.zeros(len(rows), dtype=np.float32)
        terms, weights = sparse_mod.query_arrays(q)
        if len(terms) == 0 or len(rows) == 0:
            return out
        postings = self._postings(terms)
        factors = self._term_factors(weights, postings).astype(np.float32)
        seg = self.segment_of_rows(rows)
        order = np.argsort(rows, kind="stable")
        for s, j, _, p_rows, vals in postings:
            mine = order[seg[order] == s]  # positions in ``rows`` of this segment, ascending by row
            if len(mine) == 0:
                continue
            local = rows[mine] - self.offsets[s]
            pos = np.searchsorted(p_rows, local)
            hit = pos < len(p_rows)
            hit[hit] = p_rows[pos[hit]] == local[hit]
            if hit.any():
                r, v = p_rows[pos[hit]], vals[pos[hit]]
                if self.info.sparse == "bm25":
                    v = v / (v + self._norms()[int(self.offsets[s]) :][r])
                out[mine[hit]] += v * factors[j]
        return out


def _faiss_search(
    seg: Segment, Q: np.ndarray, k: int, bitmap: np.ndarray | None, options: IndexOptions
) -> tuple[np.ndarray, np.ndarray]:
    sel = None if bitmap is None else dense_mod.bitmap_selector(bitmap)
    params = dense_mod.search_params(seg.kind, options, k, sel)
    D, I = seg.index.search(Q, k, params=params)
    return I, D


def _exact(Q: np.ndarray, vecs: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = Q @ vecs.T
    kk = min(k, vecs.shape[0])
    if kk < vecs.shape[0]:
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    else:
        part = np.broadcast_to(np.arange(vecs.shape[0]), (Q.shape[0], vecs.shape[0]))
    return np.asarray(ids, dtype=np.int64)[part], np.take_along_axis(scores, part, axis=1)


def _merge_topk(I: np.ndarray, D: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per query row, the ``k`` best (score desc, id asc) of candidates; pads with -1 / -inf."""
    m = I.shape[0]
    out_i = np.full((m, k), -1, dtype=np.int64)
    out_d = np.full((m, k), -np.inf, dtype=np.float32)
    for r in range(m):
        valid = I[r] >= 0
        ids, sc = I[r][valid], D[r][valid].astype(np.float32)
        order = np.lexsort((ids, -sc))[:k]
        out_i[r, : len(order)] = ids[order]
        out_d[r, : len(order)] = sc[order]
    return out_i, out_d
