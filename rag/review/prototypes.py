"""Few-shot prototypes: example clauses of each CUAD type, embedded once per model.

A document is never scored against examples taken from itself (leave-one-contract-out): an
example is dropped for a document when it came from a contract of the same name, or when its
text occurs in the document (the same contract uploaded under another name).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Callable

import numpy as np

from rag.review.columns import PROTOTYPES_FILE, Column, _cuad_data, slug

_WS = re.compile(r"\s+")
_lock = threading.Lock()
_memory: dict[tuple[str, str], np.ndarray] = {}


@dataclass(frozen=True)
class Examples:
    """All shipped examples: text, source contract and the column key each belongs to."""

    texts: list[str]
    contracts: list[str]
    keys: list[str]

    def of(self, key: str) -> np.ndarray:
        """Indices of the examples of column ``key``."""
        return np.array([i for i, k in enumerate(self.keys) if k == key], dtype=np.int64)


def examples() -> Examples:
    texts, contracts, keys = [], [], []
    for t in _cuad_data()["types"]:
        for ex in t["examples"]:
            texts.append(ex["text"])
            contracts.append(ex["contract"])
            keys.append(f"cuad:{slug(t['name'])}")
    return Examples(texts, contracts, keys)


def file_version() -> str:
    """A digest of the shipped file: cached vectors and stored cells follow it."""
    return hashlib.sha256(PROTOTYPES_FILE.read_bytes()).hexdigest()[:12]


def _stem(name: str) -> str:
    return re.sub(r"\.(pdf|txt|md|markdown)$", "", PurePosixPath(name.replace("\\", "/")).name, flags=re.I).lower()


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def same_document_mask(ex: Examples, doc_name: str, doc_text: str) -> np.ndarray:
    """``True`` for the examples that came from this document (they must not be used for it)."""
    stem = _stem(doc_name)
    body = normalise(doc_text)
    return np.array([_stem(c) == stem or normalise(t)[:200] in body for t, c in zip(ex.texts, ex.contracts)],
                    dtype=bool)


def vectors(encoder: Any, load: Callable[[str], np.ndarray | None] | None = None,
            save: Callable[[str, np.ndarray], None] | None = None) -> np.ndarray:
    """Dense vectors of every example for ``encoder`` (memory, then ``load``, else encoded and saved)."""
    key = (f"{encoder.name}|{encoder.dim}", file_version())
    with _lock:
        if key in _memory:
            return _memory[key]
        tag = f"{key[0]}|{key[1]}"
        vecs = load(tag) if load else None
        ex = examples()
        if vecs is None or vecs.shape != (len(ex.texts), encoder.dim):
            vecs = np.asarray(encoder.encode(ex.texts, dense=True, sparse=False).dense, dtype=np.float32)
            if save:
                save(tag, vecs)
        _memory[key] = vecs
        return vecs


def for_column(column: Column, ex: Examples, vecs: np.ndarray, excluded: np.ndarray) -> np.ndarray | None:
    """The example vectors a column is scored against for one document (``None``: none)."""
    if column.kind != "cuad":
        return None
    idx = ex.of(column.key)
    idx = idx[~excluded[idx]] if len(idx) else idx
    return vecs[idx] if len(idx) else None
