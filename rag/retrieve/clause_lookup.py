"""Exact clause lookup: "Section 12.3", "clause 9(b)", "§ 4", "第十二条", "Schedule 2".

A question that names a clause is answered from the clause tree first: the chunks that hold the
named clause are ranked above everything search finds. Clause references are parsed and
normalised by :mod:`ingest.structure`, the same code that normalised the tree at ingest time,
so "Section 12.3(b)" in a question meets the clause printed "12.3(b)".
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.documents import Clause, StoredChunk


@dataclass(frozen=True)
class ClauseMatch:
    doc_id: int
    clause: Clause


def referenced_clauses(question: str) -> list[str]:
    """Normalised ids of the clauses a question names, in the order it names them."""
    from ingest.structure import parse_clause_reference

    return parse_clause_reference(question)


def match_clauses(wanted: list[str], trees: dict[int, list[Clause]]) -> list[ClauseMatch]:
    """Clauses whose normalised id is wanted, per document, in the order they are wanted."""
    out: list[ClauseMatch] = []
    for norm in wanted:
        for doc_id, clauses in trees.items():
            out.extend(ClauseMatch(doc_id, c) for c in clauses if c.norm == norm)
    return out


def chunks_of_clause(clause: Clause, chunks: list[StoredChunk]) -> list[StoredChunk]:
    """The chunks of one document that hold a clause's text, in document order.

    A chunk belongs to the clause when most of it lies inside the clause's span, or when it
    holds the clause's first character (where the heading is).
    """
    picked = []
    for ch in sorted(chunks, key=lambda c: c.start):
        overlap = min(ch.end, clause.end) - max(ch.start, clause.start)
        if overlap <= 0:
            continue
        if ch.start <= clause.start < ch.end or overlap * 2 >= ch.end - ch.start:
            picked.append(ch)
    return picked
