"""The dense index of a segment: FAISS over L2-normalised vectors, inner product.

Every segment's index is an ``IndexIDMap2`` (external ids are chunk ids) around

* ``IndexFlatIP``: exact; the default, and used for any segment smaller than
  ``IndexOptions.approx_min_rows`` whatever the collection's choice;
* ``IndexHNSWFlat`` (inner product): approximate, no training; FAISS cannot
  remove from an HNSW graph, so deleted rows are masked at search time with an
  ``IDSelector`` and dropped when the segment is rewritten by a merge;
* ``IndexIVFFlat`` (inner product, trained on a sample of the segment, with an
  array direct map so vectors can be read back): approximate.

Segments are immutable once written, so deletions are handled the same way for
all three kinds: a per-generation deletion mask passed to FAISS as an
``IDSelectorBitmap`` over chunk ids, and physical removal when a merge rewrites
the segment (see :mod:`rag.store.merge`). Files are read with
``IO_FLAG_MMAP_IFC``: vectors stay in the page cache, shared by every view and
process, instead of being copied into each process's heap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rag.store.model import IndexOptions

ADD_BLOCK = 65_536
#: k-means for IVF: training points per list and iterations (FAISS needs >= 39 points per list;
#: list quality barely improves past ~50 points and 15 iterations, training time grows linearly).
IVF_TRAIN_PER_LIST = 50
IVF_TRAIN_ITERATIONS = 15


def faiss_module() -> Any:
    import faiss  # heavy: imported on first use only

    return faiss


def normalise(x: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation in float32; zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def ivf_nlist(n: int, options: IndexOptions) -> int:
    nlist = options.ivf_nlist or max(16, int(2 * math.sqrt(n)))
    return max(1, min(nlist, n // 39))  # FAISS wants >= 39 training points per list


def build_index(
    kind: str,
    dim: int,
    ids: np.ndarray,
    fetch: Callable[[np.ndarray], np.ndarray],
    options: IndexOptions,
    seed: int = 0,
) -> Any:
    """Build an ``IndexIDMap2`` of ``kind`` over ``len(ids)`` vectors read in blocks with ``fetch(rows)``."""
    faiss = faiss_module()
    n = len(ids)
    if kind == "flat":
        inner = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, options.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = options.hnsw_ef_construction
    elif kind == "ivf":
        nlist = ivf_nlist(n, options)
        quantizer = faiss.IndexFlatIP(dim)
        inner = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample_n = min(n, nlist * IVF_TRAIN_PER_LIST)
        sample = np.sort(rng.choice(n, size=sample_n, replace=False)) if sample_n < n else np.arange(n)
        inner.cp.seed = seed
        inner.cp.niter = IVF_TRAIN_ITERATIONS
        inner.train(np.ascontiguousarray(fetch(sample), dtype=np.float32))
        inner.set_direct_map_type(faiss.DirectMap.Array)
    else:
        raise ValueError(f"unknown dense index kind {kind!r}")
    index = faiss.IndexIDMap2(inner)  # the Python wrapper keeps ``inner`` (and its quantizer) alive
    for start in range(0, n, ADD_BLOCK):
        rows = np.arange(start, min(n, start + ADD_BLOCK))
        block = np.ascontiguousarray(fetch(rows), dtype=np.float32)
        index.add_with_ids(block, np.ascontiguousarray(ids[rows], dtype=np.int64))
    return index


def write_index(index: Any, path: Path) -> None:
    faiss_module().write_index(index, str(path))


def read_index(path: Path) -> Any:
    faiss = faiss_module()
    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
    except RuntimeError as exc:
        raise OSError(f"cannot read dense index {path}: {exc}") from exc


def search_params(kind: str, options: IndexOptions, k: int, sel: Any) -> Any:
    faiss = faiss_module()
    if kind == "hnsw":
        return faiss.SearchParametersHNSW(efSearch=max(options.hnsw_ef_search, k), sel=sel)
    if kind == "ivf":
        return faiss.SearchParametersIVF(nprobe=options.ivf_nprobe, sel=sel)
    return None if sel is None else faiss.SearchParameters(sel=sel)


def id_bitmap(ids: np.ndarray, size_bits: int) -> np.ndarray:
    """A little-endian bitmap with the bits of ``ids`` set (the layout of ``faiss.IDSelectorBitmap``)."""
    bits = np.zeros(max(size_bits, 8), dtype=bool)
    bits[ids] = True
    return np.packbits(bits, bitorder="little")


def bitmap_selector(bitmap: np.ndarray) -> Any:
    return faiss_module().IDSelectorBitmap(bitmap)
