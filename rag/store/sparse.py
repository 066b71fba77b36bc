"""The sparse inverted map: term-major postings, one compressed column per term.

Each segment stores its postings in CSC layout restricted to the terms it holds:
``terms`` (sorted unique token ids), ``indptr`` (``len(terms) + 1`` offsets),
``rows`` (row numbers inside the segment, ascending within a term) and ``vals``
(lexical weight or term frequency). A query looks its terms up with one
``searchsorted`` and touches only those terms' postings; their contributions are
scattered into a score array (:func:`scatter_add`) and the top k selected from a
sampled threshold (see :func:`candidates`), so nothing is rebuilt per query and
nothing scales with the vocabulary size.

Scoring (``ModelInfo.sparse``):

* ``"lexical"``: ``sum_t q_t * w_t`` (BGE-M3 lexical matching).
* ``"bm25"``: Lucene BM25 from stored term frequencies,
  ``sum_t q_t * idf_t * tf / (tf + k1 * (1 - b + b * dl / avgdl))`` with
  ``idf_t = log(1 + (N - df_t + 0.5) / (df_t + 0.5))``, ``k1 = 1.5``, ``b = 0.75``;
  ``N``, ``df_t`` and ``avgdl`` are taken over the live chunks of the generation
  queried, so deletions change the statistics at once (this is also the formula
  of ``bm25s`` with ``method="lucene"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain

import numpy as np

try:  # scipy's C++ kernel behind csc_matrix @ x: y += A x, two to three times faster than np.add.at
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
except ImportError:  # a private module: if scipy moves it, scatter_add falls back to numpy
    _csc_matvec = None

BM25_K1 = 1.5
BM25_B = 0.75
MAX_TERM = 2**31 - 1
SAMPLE_STRIDE = 16


def chunk_postings(sparse: Sequence[Mapping[int, float]], what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten per-chunk ``{term: value}`` dicts into COO arrays ``(rows, terms, vals)``.

    Zero values are dropped; negative, non-finite or out-of-range entries raise
    ``ValueError`` naming ``what`` and the chunk.
    """
    counts = np.fromiter((len(d) for d in sparse), dtype=np.int64, count=len(sparse))
    keys = list(chain.from_iterable(d.keys() for d in sparse))
    values = list(chain.from_iterable(d.values() for d in sparse))
    terms = _term_array(keys, what)
    try:
        vals = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: sparse values must be numbers: {exc}") from None
    rows = np.repeat(np.arange(len(sparse), dtype=np.int64), counts)
    bad = (terms < 0) | (terms > MAX_TERM) | ~np.isfinite(vals) | (vals < 0)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{what}: chunk {int(rows[j])} has sparse entry {int(terms[j])} -> {vals[j]!r}; "
            f"terms must be in [0, 2**31) and values finite and >= 0"
        )
    keep = vals > 0
    if not keep.all():
        rows, terms, vals = rows[keep], terms[keep], vals[keep]
    return rows, terms, vals


def _term_array(keys: list, what: str) -> np.ndarray:
    """Token ids as int64; ints or digit strings (FlagEmbedding's lexical weights use strings)."""
    if not keys:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(keys)
    try:
        if arr.dtype.kind in "US":
            arr = arr.astype(np.int64)
    except ValueError as exc:
        raise ValueError(f"{what}: sparse keys must be token ids: {exc}") from None
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise ValueError(f"{what}: sparse keys must be integer token ids, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def csc_from_coo(
    rows: np.ndarray, terms: np.ndarray, vals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Term-major layout ``(terms, indptr, rows, vals)`` from COO entries with ascending ``rows``."""
    order = np.argsort(terms, kind="stable")  # stable: rows stay ascending within a term
    t_sorted = terms[order]
    uniq, counts = np.unique(t_sorted, return_counts=True)
    indptr = np.zeros(len(uniq) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return (
        uniq.astype(np.int32),
        indptr,
        rows[order].astype(np.int32),
        vals[order].astype(np.float32),
    )


def merge_csc(
    parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge segments' postings without sorting.

    Each part is ``(terms, indptr, rows, vals, new_row)`` where ``new_row[r]`` is the
    merged row of the part's row ``r`` or ``-1`` when that row is dropped (deleted).
    New rows must increase with the part order and with ``r``; the result keeps
    rows ascending within each term.
    """
    if not parts:
        return (np.zeros(0, np.int32), np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    union = np.unique(np.concatenate([p[0] for p in parts]))
    per_part = []
    total = np.zeros(len(union), dtype=np.int64)
    for terms, indptr, rows, _vals, new_row in parts:
        where = np.searchsorted(union, terms)
        keep = new_row[rows] >= 0
        kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept_before[1:])
        counts = kept_before[indptr[1:]] - kept_before[indptr[:-1]]
        total[where] += counts
        per_part.append((where, kept_before, keep, counts))
    out_indptr = np.zeros(len(union) + 1, dtype=np.int64)
    np.cumsum(total, out=out_indptr[1:])
    out_rows = np.empty(int(out_indptr[-1]), dtype=np.int32)
    out_vals = np.empty(int(out_indptr[-1]), dtype=np.float32)
    filled = out_indptr[:-1].copy()  # next free slot per union term
    for (terms, indptr, rows, vals, new_row), (where, kept_before, keep, counts) in zip(parts, per_part):
        term_of_posting = np.repeat(np.arange(len(terms)), np.diff(indptr))
        idx = np.flatnonzero(keep)
        t = term_of_posting[idx]
        rank = kept_before[idx] - kept_before[indptr[t]]
        dest = filled[where[t]] + rank
        out_rows[dest] = new_row[rows[idx]]
        out_vals[dest] = vals[idx]
        filled[where] += counts
    # drop terms left without postings (all their rows deleted)
    nonempty = np.diff(out_indptr) > 0
    if not nonempty.all():
        union = union[nonempty]
        out_indptr = np.concatenate([[0], out_indptr[1:][nonempty]]).astype(np.int64)
    return union.astype(np.int32), out_indptr, out_rows, out_vals


def scatter_add(out: np.ndarray, rows: np.ndarray, vals: np.ndarray, factor: float) -> None:
    """``out[rows] += vals * factor`` in place, for one posting list (``rows`` unique).

    With float32 ``out``/``vals`` and int32 ``rows`` (the segments' layout) this is one call of
    scipy's compiled CSC mat-vec on a one-column matrix, which neither copies the postings nor
    makes a temporary product; otherwise ``np.add.at``.
    """
    if (_csc_matvec is not None and out.dtype == np.float32 and vals.dtype == np.float32
            and rows.dtype == np.int32 and out.flags.c_contiguous and out.flags.writeable
            and rows.flags.c_contiguous and vals.flags.c_contiguous and len(rows) == len(vals)):
        n = len(rows)
        _csc_matvec(len(out), 1, np.array([0, n], dtype=np.int32), rows, vals,
                    np.array([factor], dtype=np.float32), out)
        return
    np.add.at(out, rows, vals * np.asarray(factor, dtype=out.dtype))


def query_arrays(q: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """A query's ``(terms, weights)``, with zero weights dropped."""
    if not q:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    terms = _term_array(list(q.keys()), "sparse query")
    try:
        weights = np.asarray(list(q.values()), dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sparse query values must be numbers: {exc}") from None
    if not np.isfinite(weights).all():
        raise ValueError("sparse query has non-finite weights")
    keep = (weights != 0) & (terms >= 0) & (terms <= MAX_TERM)
    return terms[keep], weights[keep]


def bm25_idf(n_docs: int, df: np.ndarray) -> np.ndarray:
    df = df.astype(np.float64)
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


def candidates(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows that can be in the top ``k`` of ``scores``: a superset of the positive rows scoring at least the k-th best.

    A full ``argpartition`` costs ~8 ns per row. Instead a threshold is guessed from a
    strided sample (its ``2k / stride``-th best) and the rows at or above it are
    taken in one pass; if fewer than ``k`` rows pass, the guess was too high and the
    positive rows are selected exactly. Either way no row of the top k is missed.
    """
    n = len(scores)
    if n > 4 * SAMPLE_STRIDE * k:
        sample = scores[::SAMPLE_STRIDE]
        r = 2 * k // SAMPLE_STRIDE + 1
        guess = np.partition(sample, len(sample) - r)[len(sample) - r]
        if guess > 0:
            cand = np.flatnonzero(scores >= guess)
            if len(cand) >= k:
                return cand
    cand = np.flatnonzero(scores > 0)
    if len(cand) <= k:
        return cand
    sub = scores[cand]
    kth = np.partition(sub, len(sub) - k)[len(sub) - k]
    return cand[sub >= kth]


def top_k(scores: np.ndarray, candidates: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``candidates`` (global rows), ordered by score then id."""
    if len(candidates) > k:
        part = np.argpartition(-scores[candidates], k - 1)[:k]
        kth = scores[candidates[part]].min()
        candidates = candidates[scores[candidates] >= kth]  # keep ties, so the id order decides them
    s = scores[candidates]
    cid = ids[candidates]
    order = np.lexsort((cid, -s))[:k]
    return cid[order], s[order].astype(np.float32)
