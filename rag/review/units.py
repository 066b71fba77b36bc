"""Review units: the sentence-sized spans of a document that cells cite and score.

A chunk (about 1,000 characters) is too coarse to cite as the answer to "governing law?": a cell
quotes the sentence(s) that carry the clause. Units are the document's sentences (the extractive
answerer's splitter), long ones cut at ``;`` or at a word near ``max_chars``, fragments shorter
than ``min_chars`` (list labels, page numbers) joined to their neighbour. Offsets are into the
document's canonical text, like every span in the product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.answer.extractive import split_sentences

_SOFT_BREAK = re.compile(r";\s+|:\s*\n|\n\s*\n")


@dataclass(frozen=True)
class Units:
    """Half-open ``[start, end)`` spans (``int64`` arrays, sorted) of one document's units."""

    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    def texts(self, text: str) -> list[str]:
        return [text[s:e] for s, e in zip(self.starts.tolist(), self.ends.tolist())]


def _cut(text: str, s: int, e: int, max_chars: int) -> list[tuple[int, int]]:
    """``[s, e)`` cut into pieces of at most ``max_chars`` at soft breaks, else at spaces."""
    if e - s <= max_chars:
        return [(s, e)]
    out: list[tuple[int, int]] = []
    while e - s > max_chars:
        window = text[s: s + max_chars]
        cut = -1
        for m in _SOFT_BREAK.finditer(window):
            if m.end() >= max_chars // 3:
                cut = m.end()
        if cut < 0:
            space = window.rfind(" ", max_chars // 2)
            cut = space + 1 if space > 0 else max_chars
        out.append((s, s + cut))
        s += cut
        while s < e and text[s].isspace():
            s += 1
    if e > s:
        out.append((s, e))
    return out


def split_units(text: str, max_chars: int = 500, min_chars: int = 30) -> Units:
    """The review units of ``text`` (see the module docstring)."""
    pieces: list[tuple[int, int]] = []
    for s, e in split_sentences(text):
        for ps, pe in _cut(text, s, e, max_chars):
            if pe - ps < 1:
                continue
            if pieces and (pe - ps < min_chars or pieces[-1][1] - pieces[-1][0] < min_chars) \
                    and pe - pieces[-1][0] <= max_chars:
                pieces[-1] = (pieces[-1][0], pe)
            else:
                pieces.append((ps, pe))
    starts = np.array([p[0] for p in pieces], dtype=np.int64)
    ends = np.array([p[1] for p in pieces], dtype=np.int64)
    return Units(starts, ends)
