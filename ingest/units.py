"""Fine retrieval units inside a chunk: sentences, list items and sub-clauses, grouped to a
few dozen up to ~120 tokens, never across a clause boundary.

A chunk (see :mod:`ingest.chunking`) is what gives an answer its context; a *unit* is what a
question is matched against and what a citation points at. The units of a chunk tile it: they
are disjoint, in order, inside the chunk, and cover every non-whitespace character of it. A
unit never spans two clauses of the clause tree, except that a bare heading ("12. Termination")
stays with the text that follows it (a heading alone answers nothing). Sizes come from the same
splitter and grouping as the chunks, at a smaller target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.chunking import (
    ChunkingConfig,
    _group,
    _heading_path,
    _heading_only,
    _Piece,
    _pieces,
    _split_long,
    _splitter,
    _TokenCounter,
)
from rag.documents import Clause

__all__ = ["Unit", "UnitConfig", "DocumentUnits", "split_units"]


@dataclass(frozen=True)
class Unit:
    """A unit's span in the document, and the clause it lies in (label and heading path)."""

    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    clause: str | None = None


@dataclass(frozen=True)
class UnitConfig:
    """Unit sizes in model tokens (characters / 4 without a tokenizer)."""

    target_tokens: int = 48
    max_tokens: int = 120
    min_tokens: int = 12

    def chunking(self) -> ChunkingConfig:
        return ChunkingConfig(target_tokens=self.target_tokens, max_tokens=self.max_tokens,
                              min_tokens=self.min_tokens)


class DocumentUnits:
    """The units of any span of one document; the tokenizer pass and the clause pieces are
    computed once per document and reused for each of its chunks."""

    def __init__(self, text: str, clauses: list[Clause], tokenizer: Any | None = None,
                 config: UnitConfig = UnitConfig()) -> None:
        self.text = text
        self.clauses = clauses
        self.tokenizer = tokenizer
        self.config = config
        self._chunking = config.chunking()
        self._counter = _TokenCounter(text, tokenizer)
        self._pieces = _pieces(text, clauses) if text.strip() else []
        self._starts = [p.start for p in self._pieces]
        self._splitter: Any = None

    def of(self, start: int, end: int) -> list[Unit]:
        """Units of ``text[start:end]`` as document spans (whitespace trimmed)."""
        import bisect

        text = self.text
        i = max(bisect.bisect_right(self._starts, start) - 1, 0)
        pieces: list[_Piece] = []
        for p in self._pieces[i:]:
            if p.start >= end:
                break
            a, b = max(p.start, start), min(p.end, end)
            if b <= a or not text[a:b].strip():
                continue
            clipped = _Piece(a, b, p.owner, p.cut_cost)
            clipped.tokens = self._counter.count(a, b)
            if clipped.tokens > self._chunking.max_tokens:
                if self._splitter is None:
                    self._splitter = _splitter(self.tokenizer, self._chunking)
                for sub in _split_long(text, clipped, self._splitter):
                    sub.tokens = self._counter.count(sub.start, sub.end)
                    pieces.append(sub)
            else:
                pieces.append(clipped)
        out: list[Unit] = []
        for run in _runs(text, pieces, self.clauses):
            glue = [_heading_only(text, p, self.clauses) for p in run]
            for a, b in _group(run, glue, self._chunking):
                s, e = run[a].start, run[b - 1].end
                while s < e and text[s].isspace():
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
                if e > s:
                    owner = run[b - 1].owner
                    path = tuple(_heading_path(self.clauses, owner))
                    out.append(Unit(s, e, path, self.clauses[owner].label if owner is not None else None))
        return out


def _runs(text: str, pieces: list[_Piece], clauses: list[Clause]) -> list[list[_Piece]]:
    """Consecutive pieces of one clause; a bare heading piece opens the run that follows it."""
    runs: list[list[_Piece]] = []
    for p in pieces:
        if runs and runs[-1][-1].owner == p.owner:
            runs[-1].append(p)
        elif runs and len(runs[-1]) == 1 and _heading_only(text, runs[-1][0], clauses):
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def split_units(text: str, clauses: list[Clause], start: int = 0, end: int | None = None,
                tokenizer: Any | None = None, config: UnitConfig = UnitConfig()) -> list[Unit]:
    """Units of ``text[start:end]`` (default: all of it) along the clause tree ``clauses``."""
    return DocumentUnits(text, clauses, tokenizer, config).of(start, len(text) if end is None else end)
