"""Document scoping: when a question names a document, search inside that document.

Users write "in the Acme/Beta NDA, what is the notice period?" and contracts in one collection
are often near-identical (NDAs), so finding the document is half the problem. Each document gets
two lexical fields, its name (file stem, URL-decoded, camelCase and separators split) and its head
(the first characters of its text: title and parties). A question is scored against both with
BM25; a document is chosen only when it stands clearly above the rest, so a question that names
no document keeps searching everything.

The index is built once per collection generation (from the catalog), never per query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote

import numpy as np
from scipy import sparse as sp

from rag.lexical import term_counts

HEAD_CHARS = 1500
_TOKEN = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def name_text(name: str) -> str:
    """The words of a document name: ``NDA_ResConnect.txt`` -> ``NDA ResConnect Res Connect``."""
    stem = PurePosixPath(unquote(name).replace("\\", "/")).name
    stem = re.sub(r"\.(pdf|txt|md|markdown|text)$", "", stem, flags=re.I)
    spaced = re.sub(r"[_\-.+,()%]+", " ", stem)
    split = _CAMEL.sub(" ", spaced)
    return spaced if split == spaced else f"{spaced} {split}"


def naming_words(question: str) -> str:
    """The words of a question that can name a document: capitalised words, numbers, CJK.

    Names of documents and parties are proper nouns ("the Acme/Beta NDA", "HNBA's agreement");
    lower-case words ("confidential information") describe what is asked, not where.
    """
    return " ".join(w for w in _TOKEN.findall(question) if not w.islower())


@dataclass(frozen=True)
class ScopingConfig:
    head_weight: float = 0.5  # the head field counts half as much as the name
    min_score: float = 2.0  # a document must score at least this (about one rare shared term)
    margin: float = 1.5  # and at least this many times the best document outside the scope
    max_documents: int = 3


class _Field:
    """A BM25 (k1 = 1.2, b = 0.75) index over one short text field of every document."""

    def __init__(self, texts: list[str]) -> None:
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        self.vocab: dict[int, int] = {}
        lengths = np.zeros(len(texts))
        for i, text in enumerate(texts):
            counts = term_counts(text)
            lengths[i] = sum(counts.values())
            for tid, c in counts.items():
                rows.append(i)
                cols.append(self.vocab.setdefault(tid, len(self.vocab)))
                vals.append(c)
        n = len(texts)
        tf = sp.csc_matrix((vals, (rows, cols)), shape=(n, max(len(self.vocab), 1)))
        df = np.diff(tf.indptr)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        norm = 1.2 * (0.25 + 0.75 * lengths / avg)
        tf = tf.tocoo()
        weights = tf.data * 2.2 / (tf.data + norm[tf.row])
        self.matrix = sp.csc_matrix((weights, (tf.row, tf.col)), shape=tf.shape)

    def score(self, query_terms: dict[int, float]) -> np.ndarray:
        cols = [self.vocab[t] for t in query_terms if t in self.vocab]
        if not cols:
            return np.zeros(self.matrix.shape[0])
        sub = self.matrix[:, cols]
        return np.asarray(sub @ self.idf[cols]).ravel()


class DocumentScorer:
    """Scores a collection's documents against a question by name and head text."""

    def __init__(self, doc_ids: list[int], names: list[str], heads: list[str],
                 config: ScopingConfig = ScopingConfig()) -> None:
        self.doc_ids = np.asarray(doc_ids, dtype=np.int64)
        self.names = names
        self.config = config
        self._name = _Field([name_text(n) for n in names])
        self._head = _Field(heads)

    def scores(self, question: str) -> np.ndarray:
        q = term_counts(naming_words(question))
        return self._name.score(q) + self.config.head_weight * self._head.score(q)

    def name_terms(self, doc_id: int) -> set[int]:
        """Term ids of a document's name (they carry no signal inside that document)."""
        i = int(np.flatnonzero(self.doc_ids == doc_id)[0])
        return set(term_counts(name_text(self.names[i])))

    def select(self, question: str) -> list[int]:
        """Ids of the documents the question names, best first; empty when it names none."""
        if len(self.doc_ids) < 2:
            return []
        s = self.scores(question)
        order = np.argsort(-s, kind="stable")
        best = s[order[0]]
        if best < self.config.min_score:
            return []
        # the scope is the leading group of documents that stands clearly above the rest
        for size in range(1, min(self.config.max_documents, len(order) - 1) + 1):
            outside = s[order[size]]
            if best >= self.config.margin * max(outside, 1e-9) and s[order[size - 1]] * self.config.margin >= best:
                return [int(self.doc_ids[i]) for i in order[:size]]
        return []


def head_text(text: str) -> str:
    """The part of a document that names it: its first characters."""
    return text[:HEAD_CHARS]

