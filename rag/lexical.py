"""Lexical terms for the BM25 fallback channel and for document scoping.

Encoders without a sparse head (BGE v1, sentence-transformers models) still get a lexical
channel: each chunk becomes ``{term_id: count}`` at ingest time and the collection's sparse
map scores it with BM25. Terms are lower-cased words, English stop words removed, Snowball-
stemmed (PyStemmer, as bm25s does); CJK text becomes character unigrams and bigrams, since it
has no spaces. Term ids are a stable 31-bit hash of the term (the id space of sparse
postings), so no vocabulary has to be kept in sync between ingest runs; at a million distinct
terms a few hundred pairs collide, which moves BM25 scores negligibly.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    # English only: Chinese stop-word lists are made for segmented words, and as character
    # n-grams they would drop meaningful pieces ("不可" of "不可抗力"); BM25's idf handles the rest.
    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1 << 20)
def term_id(term: str) -> int:
    """Stable id of a term in ``[0, 2**31)`` (blake2b)."""
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little") >> 1


def terms(text: str) -> list[str]:
    """The lexical terms of ``text`` in order (with repeats)."""
    text = text.lower()
    out: list[str] = []
    words: list[str] = []
    stop = _stopwords()
    for match in _WORD.finditer(text):
        token = match.group()
        if _CJK.search(token):
            if words:
                out.extend(_stemmer().stemWords(words))
                words = []
            for run in _CJK_RUN.findall(token):
                out.extend(run)
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
            rest = _CJK_RUN.sub(" ", token).split()
            words.extend(w for w in rest if w not in stop)
        elif token not in stop:
            words.append(token)
    if words:
        out.extend(_stemmer().stemWords(words))
    return out


def term_counts(text: str) -> dict[int, float]:
    """``{term_id: count}`` of ``text``: what the BM25 channel stores per chunk and per query."""
    return {term_id(t): float(c) for t, c in Counter(terms(text)).items()}


def language_of(text: str) -> str:
    """``"zh"`` when CJK characters make up at least a third of the letters, else ``"en"``.

    A script count is enough to tell the languages this product serves apart, and it decides
    whether lexical overlap between a question and a document means anything.
    """
    sample = text[:20000]
    cjk = len(_CJK.findall(sample))
    letters = sum(1 for ch in sample if ch.isalpha())
    return "zh" if letters and cjk * 3 >= letters else "en"
