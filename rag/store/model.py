"""What a collection was built with: the embedding model and the index settings.

Both are written to the catalog when the collection is created and never change
afterwards: mixing vectors of two models (or two dimensions) in one index would
make every score meaningless, so writers and callers check against them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from rag.store.errors import CollectionError, ModelMismatch

SPARSE_KINDS = ("lexical", "bm25")
DENSE_INDEXES = ("flat", "hnsw", "ivf")


@dataclass(frozen=True)
class ModelInfo:
    """The embedding model a collection holds vectors of.

    ``sparse="lexical"`` stores BGE-M3 lexical weights (score = sum of q_t * w_t);
    ``sparse="bm25"`` stores term frequencies and scores Lucene BM25 at query time.
    ``dense_index`` is an index choice, not a model property: ``check_model`` ignores it.
    """

    name: str
    dim: int
    sparse: str = "lexical"
    colbert_dim: int | None = None
    dense_index: str = "flat"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("ModelInfo.name must be a non-empty string")
        if not isinstance(self.dim, int) or self.dim <= 0:
            raise ValueError(f"ModelInfo.dim must be a positive int, not {self.dim!r}")
        if self.sparse not in SPARSE_KINDS:
            raise ValueError(f"ModelInfo.sparse must be one of {SPARSE_KINDS}, not {self.sparse!r}")
        if self.colbert_dim is not None and (not isinstance(self.colbert_dim, int) or self.colbert_dim <= 0):
            raise ValueError(f"ModelInfo.colbert_dim must be None or a positive int, not {self.colbert_dim!r}")
        if self.dense_index not in DENSE_INDEXES:
            raise ValueError(f"ModelInfo.dense_index must be one of {DENSE_INDEXES}, not {self.dense_index!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelInfo:
        return cls(**json.loads(text))

    def describe(self) -> str:
        extra = f", colbert dim {self.colbert_dim}" if self.colbert_dim else ""
        return f"{self.name} (dim {self.dim}, sparse {self.sparse}{extra})"


def check_model(collection: str, built: ModelInfo, given: ModelInfo) -> None:
    """Raise :class:`ModelMismatch` unless ``given`` embeds like ``built`` (same model, dims, sparse kind)."""
    same = (
        built.name == given.name
        and built.dim == given.dim
        and built.sparse == given.sparse
        and built.colbert_dim == given.colbert_dim
    )
    if not same:
        raise ModelMismatch(
            f"collection {collection!r} was built with {built.describe()}; "
            f"refusing embeddings of {given.describe()}"
        )


@dataclass(frozen=True)
class IndexOptions:
    """Index and maintenance settings, fixed when the collection is created.

    Approximate dense indexes (HNSW, IVF) are only built for segments of at least
    ``approx_min_rows`` chunks: below that an exact flat scan is as fast and needs
    no training. ``merge_factor`` same-sized segments are merged into one
    (a log-structured merge), and a segment whose deleted fraction exceeds
    ``max_deleted_fraction`` is rewritten without its deleted rows.
    """

    approx_min_rows: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 128
    ivf_nlist: int | None = None  # None: 2 * sqrt(rows), at least 16
    ivf_nprobe: int = 32
    merge_factor: int = 8
    max_deleted_fraction: float = 0.25
    flush_rows: int = 100_000  # a writer writes a segment file every this many buffered chunks
    #: fsync files and the catalog at commit. Without it a commit survives ``kill -9`` of the
    #: writer but not power loss or a kernel crash (which may lose the last commits).
    durable: bool = True

    def __post_init__(self) -> None:
        for name in ("approx_min_rows", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search", "ivf_nprobe", "flush_rows"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"IndexOptions.{name} must be >= 1")
        if self.merge_factor < 2:
            raise ValueError("IndexOptions.merge_factor must be >= 2")
        if not 0.0 < self.max_deleted_fraction <= 1.0:
            raise ValueError("IndexOptions.max_deleted_fraction must be in (0, 1]")
        if self.ivf_nlist is not None and self.ivf_nlist < 1:
            raise ValueError("IndexOptions.ivf_nlist must be None or >= 1")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> IndexOptions:
        data = json.loads(text)
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise CollectionError(f"unknown index options {sorted(unknown)} in catalog")
        return cls(**data)
