"""Numbered context blocks cut to a token budget: what the model may cite as ``[n]``.

Small to big: a block is one chunk (a clause, or a run of clauses) around the span(s) retrieval
ranked; the model reads the clause, the citation points at the span. Span hits of the same chunk
share one block (the clause is sent once). A block that does not fit whole is cut to a window
around its span before it is dropped.

Token counts are approximate on purpose (no tokenizer download, works for any backend):
CJK characters count one token each, everything else ``chars_per_token`` characters per
token. Blocks are added in rank order; a block that does not fit loses its definitions,
then its surrounding context, then is cut to a window around its span, and is dropped when
not even its span fits (a later, shorter hit may still fit). The first block is always kept (cut
to what fits), so at least one passage always reaches the model.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from rag.retrieve.hits import Hit

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
TRUNCATION_MARK = " […]"


def approx_tokens(text: str, chars_per_token: float = 4.0) -> int:
    """Rough token count: one per CJK character, ``chars_per_token`` characters otherwise."""
    if chars_per_token <= 0:
        raise ValueError(f"chars_per_token must be positive, not {chars_per_token}")
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / chars_per_token)


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


@dataclass(frozen=True)
class ContextBlock:
    """One numbered passage as the model sees it (before fencing)."""

    n: int  # 1-based, the number cited as [n]
    hit: Hit  # the best-ranked hit of the block: its span is what [n] cites
    text: str  # the chunk text, possibly cut to a window around the span
    context: tuple[tuple[str, str], ...] = ()  # (label, text) from Hit.context that fit
    definitions: tuple[tuple[str, str], ...] = ()  # (term, defining text) that fit
    truncated: bool = False
    also: tuple[Hit, ...] = ()  # lower-ranked span hits in the same chunk

    @property
    def hits(self) -> tuple[Hit, ...]:
        """Every hit of the block, best first."""
        return (self.hit, *self.also)

    @property
    def doc_name(self) -> str:
        return self.hit.chunk.doc_name

    @property
    def pages_label(self) -> str:
        pages = self.hit.pages  # the span's pages: where the citation points
        if pages is None:
            return ""
        first, last = pages
        return str(first) if first == last else f"{first}-{last}"

    @property
    def heading(self) -> str:
        return " > ".join(self.hit.chunk.heading_path)

    def source_texts(self) -> list[str]:
        """Every text of this block a quote may legitimately come from (full, untruncated)."""
        out = [self.hit.chunk.text]
        out += [t for _, t in self.context]
        out += [t for _, t in self.definitions]
        out += list(self.hit.chunk.heading_path)
        return [t for t in out if t]

    def label(self) -> str:
        """Short human label: ``MSA.pdf, clause 12.3(b), p. 4``."""
        parts = [self.doc_name]
        image = getattr(self.hit, "image", None)  # issue 17: an image hit (rag.retrieve.images) names its picture
        if image is not None:
            parts.append("page image" if image.kind == "page" else "picture")
        if self.hit.clause:
            parts.append(f"clause {self.hit.clause}")
        if self.pages_label:
            parts.append(f"p. {self.pages_label}")
        return ", ".join(parts)


@dataclass
class Context:
    """The blocks that fit, and the hits that did not."""

    blocks: list[ContextBlock]
    dropped: list[Hit] = field(default_factory=list)
    tokens: int = 0


def _cost(block: ContextBlock, chars_per_token: float) -> int:
    text = block.text + "".join(label + t for label, t in block.context) + "".join(a + b for a, b in block.definitions)
    # header lines (document, pages, clause, heading, fence markers) cost roughly 40 tokens
    return approx_tokens(text + block.heading + block.doc_name, chars_per_token) + 40


def _truncate(text: str, tokens: int, chars_per_token: float) -> str:
    """The longest prefix of ``text`` ending at a word boundary that fits ``tokens``."""
    lo, hi = 0, len(text)
    while lo < hi:  # binary search on the prefix length
        mid = (lo + hi + 1) // 2
        if approx_tokens(text[:mid], chars_per_token) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    space = cut.rfind(" ")
    if space > len(cut) * 0.8:
        cut = cut[:space]
    return cut.rstrip() + TRUNCATION_MARK


def _window(hit: Hit, tokens: int, chars_per_token: float) -> str | None:
    """The span with as much of its chunk on both sides as fits ``tokens`` (word boundaries,
    marked where cut); ``None`` when not even the span fits."""
    text = hit.chunk.text
    a, b = hit.start - hit.chunk.start, hit.end - hit.chunk.start
    if approx_tokens(text[a:b], chars_per_token) > tokens:
        return None
    lo, hi = 0, max(a, len(text) - b)
    while lo < hi:  # binary search on the characters added on each side
        mid = (lo + hi + 1) // 2
        if approx_tokens(text[max(0, a - mid): b + mid], chars_per_token) + 4 <= tokens:
            lo = mid
        else:
            hi = mid - 1
    s, e = max(0, a - lo), min(len(text), b + lo)
    if s > 0:  # start after a space, never inside the span
        space = text.find(" ", s, a)
        s = space + 1 if space >= 0 else a
    if e < len(text):
        space = text.rfind(" ", b, e)
        e = space if space >= 0 else b
    return ("[…] " if s > 0 else "") + text[s:e] + (TRUNCATION_MARK if e < len(text) else "")


def build_context(hits: list[Hit], max_tokens: int = 3000, chars_per_token: float = 4.0) -> Context:
    """Number ``hits`` as blocks ``[1]…[n]`` within ``max_tokens`` (approximate); span hits
    of one chunk share its block."""
    if max_tokens <= 0:
        raise ValueError(f"the context budget must be positive, not {max_tokens} tokens")
    blocks: list[ContextBlock] = []
    dropped: list[Hit] = []
    seen_terms: set[str] = set()
    used = 0
    block_of: dict[tuple[int, int, int, int], int] = {}  # chunk -> index in blocks
    for hit in hits:
        key = (hit.chunk.id, hit.chunk.doc_id, hit.chunk.start, hit.chunk.end)
        if key in block_of:  # the clause is already sent: cite this span there too
            i = block_of[key]
            blocks[i] = replace(blocks[i], also=blocks[i].also + (hit,))
            continue
        n = len(blocks) + 1
        defs = tuple((t, d) for t, d in hit.definitions if t.casefold() not in seen_terms)
        ctx = tuple(hit.context)
        candidates = [
            ContextBlock(n, hit, hit.chunk.text, ctx, defs),
            ContextBlock(n, hit, hit.chunk.text, ctx, ()),
            ContextBlock(n, hit, hit.chunk.text, (), ()),
        ]
        chosen = next((b for b in candidates if used + _cost(b, chars_per_token) <= max_tokens), None)
        if chosen is None and hit.is_span:
            room = max_tokens - used - _cost(ContextBlock(n, hit, ""), chars_per_token)
            window = _window(hit, room, chars_per_token) if room > 0 else None
            if window is not None:
                chosen = ContextBlock(n, hit, window, truncated=True)
        if chosen is None and not blocks:
            room = max(max_tokens - _cost(ContextBlock(n, hit, ""), chars_per_token), 1)
            chosen = ContextBlock(n, hit, _truncate(hit.chunk.text, room, chars_per_token), truncated=True)
        if chosen is None:
            dropped.append(hit)
            continue
        seen_terms.update(t.casefold() for t, _ in chosen.definitions)
        used += _cost(chosen, chars_per_token)
        block_of[key] = len(blocks)
        blocks.append(chosen)
    return Context(blocks, dropped, used)
