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
from functools import lru_cache
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

    texts: tuple[str, ...]
    contracts: tuple[str, ...]
    keys: tuple[str, ...]

    def of(self, key: str) -> np.ndarray:
        """Indices of the examples of column ``key``."""
        return _index(self)[1].get(key, np.zeros(0, dtype=np.int64))


@lru_cache(maxsize=4)
def _index(ex: Examples) -> tuple[list[str], dict[str, np.ndarray]]:
    """Normalised example heads (for spotting the same contract) and example indices per key."""
    by_key: dict[str, list[int]] = {}
    for i, k in enumerate(ex.keys):
        by_key.setdefault(k, []).append(i)
    return ([normalise(t)[:200] for t in ex.texts],
            {k: np.array(v, dtype=np.int64) for k, v in by_key.items()})


@lru_cache(maxsize=1)
def examples() -> Examples:
    texts, contracts, keys = [], [], []
    for t in _cuad_data()["types"]:
        for ex in t["examples"]:
            texts.append(ex["text"])
            contracts.append(ex["contract"])
            keys.append(f"cuad:{slug(t['name'])}")
    return Examples(tuple(texts), tuple(contracts), tuple(keys))  # type: ignore[arg-type]


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
    heads = _index(ex)[0]
    return np.array([_stem(c) == stem or h in body for h, c in zip(heads, ex.contracts)], dtype=bool)


def vectors(encoder: Any, keys: list[str], load: Callable[[str], np.ndarray | None] | None = None,
            save: Callable[[str, np.ndarray], None] | None = None) -> dict[str, np.ndarray]:
    """Dense vectors of the examples of each column key, for ``encoder``.

    Encoded once per (model, file version, key): from memory, else ``load``, else the encoder
    (then ``save``d), so a review of eight columns embeds only those columns' examples.
    """
    ex = examples()
    model, version = f"{encoder.name}|{encoder.dim}", file_version()
    out: dict[str, np.ndarray] = {}
    with _lock:
        todo = []
        for key in dict.fromkeys(keys):
            idx = ex.of(key)
            if not len(idx):
                continue
            tag = f"{model}|{version}|{key}"
            vecs = _memory.get((model, tag))
            if vecs is None and load is not None:
                vecs = load(tag)
                if vecs is not None and vecs.shape != (len(idx), encoder.dim):
                    vecs = None
            if vecs is None:
                todo.append((key, tag, idx))
            else:
                _memory[(model, tag)] = out[key] = vecs
        if todo:
            texts = [ex.texts[i] for _, _, idx in todo for i in idx]
            enc = np.asarray(encoder.encode(texts, dense=True, sparse=False).dense, dtype=np.float32)
            at = 0
            for key, tag, idx in todo:
                vecs = enc[at: at + len(idx)]
                at += len(idx)
                _memory[(model, tag)] = out[key] = vecs
                if save is not None:
                    save(tag, vecs)
    return out


def for_column_key(key: str, vecs: dict[str, np.ndarray], ex: Examples, excluded: np.ndarray) -> np.ndarray | None:
    """The example vectors of column ``key`` for one document, without its own (``None``: none)."""
    if key not in vecs:
        return None
    keep = ~excluded[ex.of(key)]
    return vecs[key][keep] if keep.any() else None


def for_column(column: Column, vecs: dict[str, np.ndarray], ex: Examples, excluded: np.ndarray) -> np.ndarray | None:
    """:func:`for_column_key` for a column (custom columns have no examples)."""
    return for_column_key(column.key, vecs, ex, excluded) if column.kind == "cuad" else None
