"""Scoring one document against the columns: which units answer each question, and how surely.

For a column and a document, every unit (sentence, see :mod:`rag.review.units`) gets

* ``query``: the cosine of the unit and the column's question (zero-shot, any column), and
* ``proto``: the mean cosine of the unit and its ``k`` nearest example clauses of the column's
  CUAD type (few-shot; only examples from other contracts),

combined as ``proto + query_weight * query`` (``query`` alone without examples). The cell's raw
score is the best unit's; the retriever's hybrid (dense + lexical, reranked when a reranker is
loaded) hits for the question inside the document add ``hybrid_weight`` to the units they hold,
so the lexical channel counts too. Units that resemble every type's examples alike (boilerplate) are
discounted by their mean example score over all types. A per-column logistic calibration turns the raw score into
the probability that the clause is present; ``found`` is that probability >= 0.5. A column asking
for the contract's own date cites that date first (:func:`ingest.dates.document_date`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rag.review.units import Units


@dataclass(frozen=True)
class ScoringConfig:
    k: int = 3  # nearest examples averaged
    query_weight: float = 0.5
    hybrid_weight: float = 0.05  # bonus for units inside the retriever's top hits
    hybrid_top: int = 3
    #: a unit that resembles the examples of every clause type (a boilerplate sentence) says little
    #: about any one: its mean example score over all types is subtracted (CUAD dev, 64 contracts:
    #: macro AUPR 66.9 with it, 62.2 without)
    hub_weight: float = 1.0
    max_spans: int = 3  # spans a found cell cites at most
    span_margin: float = 0.03  # a further span must score within this of the best
    #: which units a cell cites (not whether it is found): units inside the retriever's best
    #: ``cite_hits`` span hits get this bonus, so sentence-level retrieval evidence breaks near
    #: ties (CUAD dev, 50 contracts: cited text overlapping gold 86.2% vs 84.9%, 514 vs 492
    #: characters a cell)
    cite_hit_weight: float = 0.05
    cite_hits: int = 1


@dataclass(frozen=True)
class Calibration:
    """``p = 1 / (1 + exp(-(a * raw + b)))``."""

    a: float = 20.0
    b: float = -12.0

    @property
    def threshold(self) -> float:
        """The raw score at which the probability is 0.5."""
        return -self.b / self.a if self.a else float("inf")

    def probability(self, raw: float) -> float:
        z = self.a * raw + self.b
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


@dataclass
class Cell:
    """The answer to one column in one document."""

    document: str
    doc_id: int
    column: str  # the column's key
    found: bool
    score: float  # calibrated probability that the document has such a clause
    raw: float  # the uncalibrated best-unit score (what AUPR ranks within a column)
    spans: list[tuple[int, int]] = field(default_factory=list)  # canonical-text offsets, best first
    pages: tuple[int, int] | None = None
    clause: str | None = None
    text: str = ""  # the quoted text of the spans (joined by " … ")


@dataclass
class Signals:
    """Per-unit evidence for one column in one document (kept apart for the benchmark's ablations)."""

    query: np.ndarray  # cosine with the question
    proto: np.ndarray | None  # mean cosine with the k nearest examples (None: no examples)
    hybrid: np.ndarray  # True for units inside the retriever's top hits
    hybrid_top: float = float("nan")  # the retriever's best score (its own scale)
    hub: np.ndarray | None = None  # each unit's mean example score over every clause type
    #: the retriever's top hits for the question, best first: each its ranked span (a sentence or
    #: sub-clause) where it has one, else its chunk (document offsets)
    hit_spans: list[tuple[int, int]] = field(default_factory=list)

    def combined(self, config: ScoringConfig = ScoringConfig(), hub: bool = True) -> np.ndarray:
        base = self.query if self.proto is None else self.proto + config.query_weight * self.query
        if hub and self.proto is not None and self.hub is not None:
            base = base - config.hub_weight * self.hub
        return base + config.hybrid_weight * self.hybrid


def cite_scores(units: Units, signals: Signals, config: ScoringConfig = ScoringConfig()) -> np.ndarray:
    """The scores that choose which units a cell cites: :meth:`Signals.combined` plus the bonus of
    the units inside the retriever's best span hits."""
    scores = signals.combined(config)
    if config.cite_hit_weight and signals.hit_spans and config.cite_hits > 0:
        scores = scores + config.cite_hit_weight * units_in(units, signals.hit_spans[: config.cite_hits])
    return scores


def query_signal(unit_vecs: np.ndarray, query_vec: np.ndarray) -> np.ndarray:
    return unit_vecs @ query_vec


def proto_signal(unit_vecs: np.ndarray, proto_vecs: np.ndarray | None, k: int = 3) -> np.ndarray | None:
    """Mean cosine of each unit with its ``k`` nearest examples."""
    if proto_vecs is None or len(proto_vecs) == 0:
        return None
    sims = unit_vecs @ proto_vecs.T
    k = min(k, sims.shape[1])
    return np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:].mean(axis=1)


def units_in(units: Units, spans: list[tuple[int, int]]) -> np.ndarray:
    """Mask of the units that overlap any of ``spans``."""
    mask = np.zeros(len(units), dtype=bool)
    for s, e in spans:
        mask |= (units.starts < e) & (units.ends > s)
    return mask


def pick_spans(units: Units, scores: np.ndarray, config: ScoringConfig = ScoringConfig(),
               floor: float = float("inf")) -> list[tuple[int, int]]:
    """The best unit, then up to ``max_spans - 1`` more that score within ``span_margin`` of it or
    above ``floor`` (the score that alone means "found": a second clause of the same type),
    best first."""
    if len(scores) == 0:
        return []
    order = np.argsort(-scores, kind="stable")
    best = scores[order[0]]
    chosen = [int(i) for i in order[: config.max_spans]
              if i == order[0] or scores[i] >= min(best - config.span_margin, floor)]
    return [(int(units.starts[i]), int(units.ends[i])) for i in chosen]
