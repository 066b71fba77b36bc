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

import bisect
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote

import numpy as np
from scipy import sparse as sp

from ingest.identity import HEAD_CHARS, HEAD_SCAN, PARTIES_CHARS, head_text  # noqa: F401 - re-exported: scoping reads the head
from rag.lexical import term_counts

_TOKEN = re.compile(r"[^\W_]+")
#: where a part of a question ends (:meth:`DocumentScorer.asked_part`)
_PART_END = re.compile(r"[;:\n]+|[.?!](?=\s)")
_PART_END_COMMA = re.compile(r"[;:\n]+|[,.?!](?=\s)")
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
    #: a question word is dropped as naming a document (``DocumentScorer.residual``) only when at
    #: most this share of the collection's documents carry it in their name or head: a party name,
    #: not a word every contract's head or table of contents has ("Liability", "Agreement").
    #: Measured worse on the dev halves (bench/span_tuning.py, R@2,000 chars): 0.2 gave 46.6 /
    #: 68.2 / 70.6 against no cap's 52.8 / 67.8 / 72.9 (cuad_dev_parties / cuad_dev /
    #: contractnli), so no cap; the title's common words are part of what named the document
    naming_max_df: float = 1.0


class _Field:
    """A BM25 (k1 = 1.2, b = 0.75) index over one short text field of every document.

    ``idf`` may be given: fields of one document set share it, so a word that many documents
    carry in *any* field (a contract type: "Non-Disclosure Agreement") weighs little even where
    it is rare in this field (few file names spell it out).
    """

    def __init__(self, counts: list[dict[int, float]], idf: dict[int, float]) -> None:
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        self.vocab: dict[int, int] = {}
        lengths = np.zeros(len(counts))
        for i, c in enumerate(counts):
            lengths[i] = sum(c.values())
            for tid, n in c.items():
                rows.append(i)
                cols.append(self.vocab.setdefault(tid, len(self.vocab)))
                vals.append(n)
        n = len(counts)
        tf = sp.coo_matrix((vals, (rows, cols)), shape=(n, max(len(self.vocab), 1)))
        self.idf = np.zeros(max(len(self.vocab), 1))
        for tid, col in self.vocab.items():
            self.idf[col] = idf[tid]
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        norm = 1.2 * (0.25 + 0.75 * lengths / avg)
        weights = tf.data * 2.2 / (tf.data + norm[tf.row])
        self.matrix = sp.csc_matrix((weights, (tf.row, tf.col)), shape=tf.shape)

    def score(self, query_terms: dict[int, float]) -> np.ndarray:
        cols = [self.vocab[t] for t in query_terms if t in self.vocab]
        if not cols:
            return np.zeros(self.matrix.shape[0])
        sub = self.matrix[:, cols]
        return np.asarray(sub @ self.idf[cols]).ravel()


def _shared_idf(fields: list[list[dict[int, float]]]) -> dict[int, float]:
    """BM25 idf of each term over documents, a document counting once if any field has it."""
    n = len(fields[0]) if fields else 0
    df: dict[int, int] = {}
    for i in range(n):
        for tid in set().union(*(f[i] for f in fields)):
            df[tid] = df.get(tid, 0) + 1
    return {t: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for t, d in df.items()}


GLUE_MIN = 6  # characters: shorter glued words match too much by chance
_GLUE_WORDS = 4


class _GluedNames:
    """Name words that glue several words together: EDGAR's ``MEETGROUP,INC``, an upload
    called ``ACMECORP-NDA.pdf``. A run of 2-4 consecutive question words, glued, matches a
    name word it begins ("Meet Group" -> ``meetgroupinc``), scored by BM25's idf of the run,
    but never above the idf of its rarest word: a glued contract type ("NonDisclosure") is as
    common as its words.
    """

    def __init__(self, names: list[str], idf: dict[int, float]) -> None:
        self.idf = idf
        pairs = sorted({(w, i) for i, n in enumerate(names) for w in _TOKEN.findall(unquote(n).lower())
                        if len(w) >= GLUE_MIN})
        self.words = [w for w, _ in pairs]
        self.docs = [i for _, i in pairs]
        self.n = len(names)

    def score(self, question_words: list[str]) -> np.ndarray:
        out = np.zeros(self.n)
        words = [w.lower() for w in question_words]
        for start in range(len(words) - 1):
            for size in range(min(_GLUE_WORDS, len(words) - start), 1, -1):  # longest first
                glued = "".join(words[start:start + size])
                if len(glued) < GLUE_MIN:
                    continue
                lo = bisect.bisect_left(self.words, glued)
                hi = bisect.bisect_left(self.words, glued + "\U0010ffff")
                docs = sorted({self.docs[j] for j in range(lo, hi)})
                if docs:
                    df = len(docs)
                    weight = np.log(1 + (self.n - df + 0.5) / (df + 0.5))
                    cap = max((self.idf.get(t, weight) for w in words[start:start + size] for t in term_counts(w)),
                              default=weight)
                    out[docs] += min(weight, cap)
                    break
        return out


class DocumentScorer:
    """Scores a collection's documents against a question by name and head text."""

    def __init__(self, doc_ids: list[int], names: list[str], heads: list[str],
                 config: ScopingConfig = ScopingConfig()) -> None:
        self.doc_ids = np.asarray(doc_ids, dtype=np.int64)
        self.names = names
        self.config = config
        name_counts = [term_counts(name_text(n)) for n in names]
        head_counts = [term_counts(h) for h in heads]
        idf = _shared_idf([name_counts, head_counts])
        self._df = {t: sum(1 for c, h in zip(name_counts, head_counts) if t in c or t in h) for t in idf}
        self._name = _Field(name_counts, idf)
        self._head = _Field(head_counts, idf)
        self._heads = [set(c) for c in head_counts]
        self._glued = _GluedNames(names, idf)

    def scores(self, question: str) -> np.ndarray:
        words = naming_words(question)
        q = term_counts(words)
        return (self._name.score(q) + self._glued.score(words.split())
                + self.config.head_weight * self._head.score(q))

    def naming_terms(self, doc_ids: list[int]) -> set[int]:
        """Term ids that name these documents: their name words and the words of their head
        (title and parties clause)."""
        out: set[int] = set()
        for d in doc_ids:
            i = int(np.flatnonzero(self.doc_ids == d)[0])
            out |= set(term_counts(name_text(self.names[i])))
            out |= self._heads[i]
        return out

    def residual(self, question: str, doc_ids: list[int], max_df: float | None = None) -> str:
        """The question without the words that named ``doc_ids`` ("Consider the Supply Agreement
        between Acme Inc and Beta LLC; what is the notice period?" -> "Consider the between and
        ; what is the notice period?"): inside those documents, their own name and parties
        occur everywhere and only pull the ranking towards the title page and the signatures.
        Only capitalised words are candidates (naming words, as for scoping); the question is
        returned as it is when nothing would be left."""
        named = self._named(doc_ids, max_df)
        kept, pos, dropped = [], 0, False
        for m in _TOKEN.finditer(question):
            w = m.group()
            if not w.islower() and (terms := term_counts(w)) and set(terms) <= named:
                kept.append(question[pos:m.start()])
                pos, dropped = m.end(), True
        kept.append(question[pos:])
        out = " ".join("".join(kept).split())
        return out if dropped and term_counts(out) else question

    def asked_part(self, question: str, doc_ids: list[int]) -> str:
        """The question less its parts that name ``doc_ids`` ("Consider the Supply Agreement
        between Acme, Inc and Beta LLC; what is the notice period?" -> "what is the notice
        period?"; "In the Acme NDA, who may disclose?" -> "who may disclose?").

        A part names the documents when it alone would score them as high as scoping asks of a
        question (``min_score``). Parts are cut at ``; :``, line and sentence ends, and only
        where that leaves nothing, at commas too (party names hold commas). Inside the named
        documents such a part says nothing about where the answer is, yet it weighs as much as
        the question in a sentence embedding. The question is returned as it is when no part
        names them or fewer than two terms would be left."""
        rows = [int(np.flatnonzero(self.doc_ids == d)[0]) for d in doc_ids]
        for cuts in (_PART_END, _PART_END_COMMA):
            kept, dropped, pos = [], False, 0
            for m in cuts.finditer(question + "\n"):
                part, pos = question[pos:m.end()], m.end()
                if naming_words(part) and self.scores(part)[rows].max() >= self.config.min_score:
                    dropped = True
                else:
                    kept.append(part)
            out = " ".join("".join(kept).split()).strip(" ;:,")
            if dropped and len(term_counts(out)) >= 2:
                return out
        return question

    def _named(self, doc_ids: list[int], max_df: float | None) -> set[int]:
        share = self.config.naming_max_df if max_df is None else max_df
        limit = max(1, int(share * len(self.doc_ids)))
        return {t for t in self.naming_terms(doc_ids) if self._df.get(t, 0) <= limit}

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
