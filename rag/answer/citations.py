"""Checks a generated answer against its context: cited blocks exist, quotes are real.

Every ``[n]`` (also ``[1, 2]``, ``[1-3]``, ``【n】``) must name a provided block. Every
quoted span (straight or curly double quotes, 「」, 『』, «») must occur in the block(s) of
the first citation after it in its sentence, or, without one, in the blocks cited earlier
in that sentence, or else in any block. Matching ignores case, whitespace, Unicode
width and quote/dash styles; an ellipsis inside a quote separates parts that must each occur,
in order. Failures become :class:`CitationIssue` entries shown to the user, never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.context import ContextBlock
from rag.answer.prompts import NOT_FOUND

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,，;\-–]\s*\d{1,3})*)\]|【(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)】")
_QUOTES = re.compile(
    r'"([^"]{1,2000}?)"|“([^“”]{1,2000}?)”|„([^„“”]{1,2000}?)[“”]|「([^「」]{1,2000}?)」|『([^『』]{1,2000}?)』|«([^«»]{1,2000}?)»'
)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s|\n")
_BETWEEN = re.compile(r"[\s.,;:!?。，；：！？)）]*")
_ELLIPSIS = re.compile(r"\.\.\.|…|\[\s*(?:\.\.\.|…)\s*\]")
_FOLD = str.maketrans({"’": "'", "‘": "'", "`": "'", "–": "-", "—": "-", "‐": "-", "‑": "-", "*": None})


@dataclass(frozen=True)
class CitationIssue:
    """A failed check, worded for the user."""

    kind: str  # "unknown_block", "quote_not_in_cited_block", "quote_not_found"
    message: str
    n: int | None = None  # the block number at fault, if one
    quote: str | None = None

    def __str__(self) -> str:
        return self.message


def normalize(text: str) -> str:
    """Text folded for quote matching: NFKC, case-folded, one quote/dash style, no whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    return "".join(text.split())


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,，;]\s*", group.strip()):
        if re.fullmatch(r"\d+\s*[\-–]\s*\d+", part):
            a, b = (int(x) for x in re.split(r"\s*[\-–]\s*", part))
            out += list(range(a, b + 1)) if 0 < b - a < 50 else [a, b]
        elif part.isdigit():
            out.append(int(part))
    return out


@dataclass(frozen=True)
class _Marker:
    start: int
    end: int
    numbers: tuple[int, ...]


def _quote_spans(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _QUOTES.finditer(text):
        inner = next(g for g in m.groups() if g is not None)
        out.append((m.start(), m.end(), inner))
    return out


def _occurs(quote: str, sources: Sequence[str]) -> bool:
    parts = [normalize(p) for p in _ELLIPSIS.split(quote)]
    parts = [p.strip(".,;:!?。，；：！？'\"()") for p in parts]
    parts = [p for p in parts if p]
    if not parts:
        return True
    for src in sources:
        hay = normalize(src)
        pos = 0
        for p in parts:
            found = hay.find(p, pos)
            if found < 0:
                break
            pos = found + len(p)
        else:
            return True
    return False


def _short(quote: str, limit: int = 80) -> str:
    quote = " ".join(quote.split())
    return quote if len(quote) <= limit else quote[: limit - 1] + "…"


def check_citations(text: str, blocks: Sequence[ContextBlock]) -> tuple[set[int], list[CitationIssue]]:
    """The block numbers the answer cites, and every failed check."""
    valid = {b.n: b for b in blocks}
    quotes = _quote_spans(text)
    inside = [(s, e) for s, e, _ in quotes]
    markers = [
        _Marker(m.start(), m.end(), tuple(_numbers(m.group(1) or m.group(2))))
        for m in _MARKER.finditer(text)
        if not any(s <= m.start() < e for s, e in inside)  # a "[3]" copied inside a quote is text
    ]
    cited: set[int] = set()
    issues: list[CitationIssue] = []
    reported: set[int] = set()
    for mk in markers:
        for n in mk.numbers:
            if n in valid:
                cited.add(n)
            elif n not in reported:
                reported.add(n)
                have = f"there are {len(blocks)}" if blocks else "no blocks were provided"
                issues.append(
                    CitationIssue("unknown_block", f"[{n}] does not refer to a provided source ({have})", n=n)
                )

    for start, end, quote in quotes:
        if normalize(quote).strip(".") == normalize(NOT_FOUND):
            continue
        sentence_end = next((m.start() for m in _SENTENCE_END.finditer(text, end)), len(text))
        sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
        following = [mk for mk in markers if mk.start >= end]
        after: list[int] = []
        if following and (following[0].start <= sentence_end or _BETWEEN.fullmatch(text[end : following[0].start])):
            # the first citation after the quote in its sentence (or right after the sentence's
            # end: '"…notice". [2]'), with any citations adjacent to it: "[1][3]"
            group = [following[0]]
            for mk in following[1:]:
                if text[group[-1].end : mk.start].strip():
                    break
                group.append(mk)
            after = [n for mk in group for n in mk.numbers]
        before = [n for mk in markers if sentence_start <= mk.start < start for n in mk.numbers]
        targets = [n for n in (after or before) if n in valid]
        everywhere = [s for b in blocks for s in b.source_texts()]
        shown = _short(quote)
        if targets:
            if _occurs(quote, [s for n in targets for s in valid[n].source_texts()]):
                continue
            elsewhere = [b.n for b in blocks if b.n not in targets and _occurs(quote, b.source_texts())]
            cited_label = ", ".join(f"[{n}]" for n in targets)
            where = f"; it occurs in {', '.join(f'[{n}]' for n in elsewhere)}" if elsewhere else ""
            issues.append(
                CitationIssue(
                    "quote_not_in_cited_block",
                    f"the quote “{shown}” does not occur in the cited source {cited_label}{where}",
                    n=targets[0],
                    quote=quote,
                )
            )
        elif not _occurs(quote, everywhere):
            issues.append(
                CitationIssue(
                    "quote_not_found", f"the quote “{shown}” does not occur in any provided source", quote=quote
                )
            )
    return cited, issues
