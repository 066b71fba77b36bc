"""Clause-aware chunking: a chunk is a clause (or a run of small clauses, or a piece of a long
clause) with its heading path, measured in model tokens.

How chunks are cut. The clause tree cuts the text into *pieces*: each clause's own text (its
label, heading and body up to its first sub-clause) and any text outside clauses. Pieces longer
than ``max_tokens`` are split with langchain's ``RecursiveCharacterTextSplitter``, measured in
the model's tokens, into parts of about ``target_tokens / split_divisor`` (paragraphs first,
then sentences, semicolons, commas, words). Consecutive pieces are then grouped into chunks by
dynamic programming that minimises

    sum over chunks  size_weight * d ** 2 if d < 0 else size_weight * d,  d = tokens / target - 1
                     (+ a penalty below min_tokens)
  + sum over cuts    the cost of cutting there,

subject to ``tokens <= max_tokens`` (a single piece the splitter could not cut may exceed it).
Cut costs follow how often such a boundary falls inside a gold clause span in CUAD: a numbered
clause start is free, an enumerated item after a full stop is cheap, paragraph and sentence
ends cost more, an item that continues a sentence ("provided that: (a) ...; (b) ...") or a
semicolon or a word boundary costs most; a cut right after a bare heading is not allowed (a
heading always stays with its body). So small neighbouring clauses merge (quadratic cost below
the target), clauses longer than the target stay whole up to ``max_tokens`` (linear cost above
it), and cuts fall on clause boundaries wherever they can. A document without structure is one
piece: plain recursive splitting, grouped the same way.

Spans are exact: ``chunk.text == document.text[chunk.start:chunk.end]``. Chunks are disjoint, in
document order, and together cover every non-whitespace character (only whitespace between
chunks is left out). ``embed_text`` prepends the document title (its file name) and the heading
path. The document's identity as its text states it (title and parties:
``ingest.identity.document_identity``) goes into every chunk's lexical weights by default
(``identity="lexical"``, added by ``ingest.pipeline.prepare``) or into ``embed_text`` too
(``identity="embed"``): a clause deep inside a contract then still says which contract it
belongs to when a question names the contract by its title and parties and the whole collection
is searched. ``text`` and the offsets are always the document's own.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from ingest.identity import document_identity
from ingest.token_count import _splitter, _TokenCounter  # ingest.units imports these two from here too
from rag.documents import Chunk, Clause, Document

__all__ = ["ChunkingConfig", "chunk_document", "document_title"]

#: Cut costs. They follow how often a boundary of each kind falls inside a gold clause span
#: in CUAD (measured on 120 contracts, bench/chunking.py data): numbered clause starts after a
#: full stop ~0 %, enumerated items after a full stop ~0.5 %, paragraph and sentence ends
#: ~1.3 %, items continuing a sentence after ":" or ";" 6-16 %, semicolons and other places
#: inside a sentence ~12 %.
_CLAUSE_CUT_COST = 0.0  # + _LEVEL_CUT_COST per level below the top
_LEVEL_CUT_COST = 0.05
_ITEM_CUT_COST = 0.3  # an enumerated item "(a)" after a full stop
_ITEM_MIDSENTENCE_CUT_COST = 1.0  # an item right after a word ("... the Product (a) ...")
_LIST_INTRO_CUT_COST = 3.0  # the first item after "provided that:"
_LIST_ITEM_CUT_COST = 2.5  # an item after "...; and"
_PARAGRAPH_CUT_COST = 0.8
_SENTENCE_CUT_COST = 1.0
_SEMICOLON_CUT_COST = 4.0
_OTHER_CUT_COST = 5.0

#: Separators (regular expressions, most preferred first) for splitting long clauses:
#: paragraph breaks, line ends after a sentence, sentence ends, semicolons, line breaks,
#: commas, spaces, anything.
SEPARATORS: tuple[str, ...] = (
    r"\n[ \t\u00a0\u3000]*\n\s*",
    r"(?<=[.;:!?。；！？])[ \t\u00a0]*\n\s*",
    r"(?<=[.!?。！？])[ \t\u00a0]+(?=[\"“(\[A-Z0-9])|(?<=[。！？])",
    r"(?<=[;；])\s+",
    r"\n\s*",
    r"(?<=[,，])\s+",
    r"\s+",
    "",
)

_TITLE_SUFFIXES = {".pdf", ".txt", ".md", ".markdown", ".docx", ".doc", ".html", ".htm", ".rtf"}


@dataclass(frozen=True)
class ChunkingConfig:
    """Chunk sizes in model tokens (characters / 4 without a tokenizer) and what is embedded.

    ``target_tokens`` is the size below which neighbouring clauses are merged; a clause longer
    than it is kept whole up to ``max_tokens``, so the mean chunk is larger than the target (with
    the defaults about 110 MiniLM tokens, ~500 characters, on CUAD contracts; see
    bench/chunking.py). ``size_weight`` trades size regularity against cutting on clause
    boundaries: lower values let sizes vary more so that cuts fall on stronger boundaries.
    ``target_tokens`` and ``max_tokens`` count the chunk text only; ``embed_text`` adds the
    title, the identity (at most ``identity_chars`` characters, usually 20-40 tokens) and the
    heading path (usually under 40 tokens) on top.
    """

    target_tokens: int = 64
    max_tokens: int = 256
    min_tokens: int = 16
    prepend_headings: bool = True
    prepend_title: bool = True
    #: the document's title and parties as its head states them (``document_identity``):
    #: "lexical" adds their terms to each chunk's lexical weights only (``ingest.pipeline.prepare``),
    #: "embed" prepends them to ``embed_text`` (dense and lexical), "none" leaves them out.
    #: Measured (MiniLM + BM25, whole collection, recall at 8,000 chars, README): cuad_dev_parties
    #: 59.7 -> 66.3 (lexical) / 70.5 (embed); inside a named contract "embed" lost agreement-date
    #: questions (the preamble no longer stood out: cuad_dev_parties R@2,000 62.4 -> 59.6, dev
    #: half 61.5 -> 57.5) where "lexical" left every scoped row as it was (63.1; dev half 62.1)
    identity: str = "lexical"
    identity_chars: int = 200
    size_weight: float = 2.0
    #: long clauses are first split into parts of target_tokens / split_divisor tokens
    split_divisor: int = 2
    separators: tuple[str, ...] = SEPARATORS

    def __post_init__(self) -> None:
        if not 0 < self.min_tokens <= self.target_tokens <= self.max_tokens:
            raise ValueError(
                "ChunkingConfig needs 0 < min_tokens <= target_tokens <= max_tokens, got "
                f"min={self.min_tokens}, target={self.target_tokens}, max={self.max_tokens}"
            )
        if self.size_weight <= 0:
            raise ValueError(f"ChunkingConfig.size_weight must be positive, got {self.size_weight}")
        if self.identity not in ("embed", "lexical", "none"):
            raise ValueError(f"ChunkingConfig.identity must be embed, lexical or none, got {self.identity!r}")
        if self.split_divisor < 1:
            raise ValueError(f"ChunkingConfig.split_divisor must be at least 1, got {self.split_divisor}")


def document_title(name: str) -> str:
    """A document's name without folders and without a known file extension."""
    p = PurePath(name.replace("\\", "/"))
    return p.stem if p.suffix.lower() in _TITLE_SUFFIXES else p.name


@dataclass
class _Piece:
    start: int
    end: int
    owner: int | None  # innermost clause containing the piece
    cut_cost: float  # cost of a chunk boundary at ``start``
    tokens: int = 0


def _pieces(text: str, clauses: list[Clause]) -> list[_Piece]:
    """Cut the text at every clause start and end; whitespace-only bits join the piece before."""
    n = len(text)
    bounds = {0, n}
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    for i, c in enumerate(clauses):
        if not (0 <= c.start <= c.end <= n):
            raise ValueError(f"clause {c.label!r} span [{c.start}, {c.end}) lies outside the text (length {n})")
        bounds.add(c.start)
        bounds.add(c.end)
        starts.setdefault(c.start, i)
        ends[c.end] = i if c.end not in ends or clauses[ends[c.end]].level > c.level else ends[c.end]
    cuts = sorted(bounds)
    # innermost clause per segment by a sweep over clauses in document order
    order = sorted(range(len(clauses)), key=lambda i: (clauses[i].start, -clauses[i].end))
    pieces: list[_Piece] = []
    open_: list[int] = []
    k = 0
    for a, b in zip(cuts, cuts[1:], strict=False):
        while open_ and clauses[open_[-1]].end <= a:
            open_.pop()
        while k < len(order) and clauses[order[k]].start <= a:
            idx = order[k]
            k += 1
            while open_ and clauses[open_[-1]].end <= clauses[idx].start:
                open_.pop()
            if clauses[idx].end > a:
                open_.append(idx)
        owner = open_[-1] if open_ else None
        if a in starts:
            cost = _clause_cut_cost(text, clauses[starts[a]])
        elif a in ends:
            cost = _CLAUSE_CUT_COST + _LEVEL_CUT_COST * min(clauses[ends[a]].level, 3)
        else:
            cost = 0.0
        if pieces and not text[a:b].strip():
            pieces[-1].end = b
            continue
        if pieces and not text[pieces[-1].start : pieces[-1].end].strip():
            pieces[-1] = _Piece(pieces[-1].start, b, owner, pieces[-1].cut_cost)
            continue
        pieces.append(_Piece(a, b, owner, cost))
    return pieces


def _clause_cut_cost(text: str, clause: Clause) -> float:
    """Cost of a chunk boundary where ``clause`` starts: free before a numbered clause after a
    full stop, dear before an item that continues a sentence ("provided that: (a) ...; (b)"),
    which is usually read, and cited, as one."""
    before = text[max(0, clause.start - 60) : clause.start].rstrip()
    item = clause.kind in ("item", "cn_item")
    if before.endswith((":", "：")):
        return _LIST_INTRO_CUT_COST if item else _LIST_ITEM_CUT_COST
    if before.endswith((";", ",", "；", "，")) or re.search(r"\b(?:and|or)$", before):
        return _LIST_ITEM_CUT_COST
    level = _LEVEL_CUT_COST * min(clause.level, 3)
    if item:
        return level + (_ITEM_MIDSENTENCE_CUT_COST if before[-1:].isalnum() else _ITEM_CUT_COST)
    return _CLAUSE_CUT_COST + level


def _heading_only(text: str, piece: _Piece, clauses: list[Clause]) -> bool:
    """The piece is a clause's label and heading with no body ("ARTICLE I  DEFINITIONS")."""
    if piece.owner is None or clauses[piece.owner].start != piece.start:
        return False
    c = clauses[piece.owner]
    body = text[piece.start : piece.end]
    for part in (c.label.split("(")[-1] if c.kind == "item" else c.label, c.heading):
        if part:
            i = body.find(part)
            if 0 <= i < 40 + len(part):
                body = body[i + len(part) :]
    return len(re.findall(r"[^\W\u4e00-\u9fff]+|[\u4e00-\u9fff]", body)) < 3  # a CJK character counts as a word


def _boundary_cost(text: str, pos: int) -> float:
    """Cost of cutting a long clause at ``pos``, by what separates the text there."""
    before = text[max(0, pos - 40) : pos]
    stripped = before.rstrip()
    gap = before[len(stripped) :]
    if gap.count("\n") >= 2:
        return _PARAGRAPH_CUT_COST
    if stripped.endswith((".", "!", "?", "。", "！", "？", ":", '."', ".”", ".)")):
        return _SENTENCE_CUT_COST
    if stripped.endswith((";", "；")):
        return _SEMICOLON_CUT_COST
    return _OTHER_CUT_COST


def _split_long(text: str, piece: _Piece, splitter: Any) -> list[_Piece]:
    """Split a long piece into sentence-sized parts with the recursive splitter; the grouping
    step then decides which of these boundaries become chunk boundaries."""
    seg = text[piece.start : piece.end]
    parts = splitter.split_text(seg)
    offsets: list[int] = []
    pos = 0
    for part in parts:
        i = seg.find(part, pos)
        if i < 0:
            raise RuntimeError(f"text splitter returned a piece not found in order at offset {piece.start + pos}")
        offsets.append(i)
        pos = i + len(part)
    if not offsets:
        return [piece]
    offsets[0] = 0
    out = []
    for j, off in enumerate(offsets):
        end = offsets[j + 1] if j + 1 < len(offsets) else len(seg)
        if end <= off:
            continue
        cost = piece.cut_cost if j == 0 else _boundary_cost(text, piece.start + off)
        out.append(_Piece(piece.start + off, piece.start + end, piece.owner, cost))
    return out


def _size_cost(tokens: int, config: ChunkingConfig) -> float:
    """Quadratic below the target (small pieces merge), linear above it (a clause longer than
    the target is better kept whole than cut mid-way), a penalty below ``min_tokens``."""
    dev = (tokens - config.target_tokens) / config.target_tokens
    cost = config.size_weight * (dev if dev > 0 else dev * dev)
    if tokens < config.min_tokens:
        cost += 2.0 * (config.min_tokens - tokens) / config.min_tokens
    return cost


def _group(pieces: list[_Piece], glue: list[bool], config: ChunkingConfig) -> list[tuple[int, int]]:
    """Best grouping of consecutive pieces into chunks (see module docstring)."""
    n = len(pieces)
    best = [math.inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    for i in range(1, n + 1):
        total = 0
        for j in range(i - 1, -1, -1):
            total += pieces[j].tokens
            if total > config.max_tokens and j < i - 1:
                break
            if j > 0 and glue[j - 1]:
                continue  # never cut right after a bare heading
            cut = pieces[j].cut_cost if j > 0 else 0.0
            cost = best[j] + cut + _size_cost(total, config)
            if cost < best[i]:
                best[i], back[i] = cost, j
        if best[i] == math.inf:  # only glued cuts fit: take the longest glued run
            j = i - 1
            while j > 0 and glue[j - 1]:
                j -= 1
            best[i], back[i] = best[j] + _size_cost(sum(p.tokens for p in pieces[j:i]), config), j
    groups: list[tuple[int, int]] = []
    i = n
    while i > 0:
        groups.append((back[i], i))
        i = back[i]
    return groups[::-1]


def _lca(clauses: list[Clause], owners: set[int | None]) -> int | None:
    if None in owners or not owners:
        return None
    paths = []
    for o in owners:
        path = []
        a: int | None = o
        while a is not None:
            path.append(a)
            a = clauses[a].parent
        paths.append(path[::-1])
    lca = None
    for level in zip(*paths, strict=False):  # down to the shortest path
        if all(x == level[0] for x in level):
            lca = level[0]
        else:
            break
    return lca


def _heading_path(clauses: list[Clause], idx: int | None) -> list[str]:
    path: list[str] = []
    while idx is not None:
        c = clauses[idx]
        path.append(f"{c.label} {c.heading}".strip() if c.heading else c.label)
        idx = c.parent
    return path[::-1]


def chunk_document(
    doc: Document,
    clauses: list[Clause],
    tokenizer: Any | None = None,
    config: ChunkingConfig = ChunkingConfig(),
) -> list[Chunk]:
    """Chunks of ``doc`` along its clause tree (``parse_structure`` output; may be empty).

    ``tokenizer`` is a Hugging Face tokenizer (the encoder's), or ``None`` to count 4
    characters as a token.
    """
    text = doc.text
    if not text.strip():
        return []
    counter = _TokenCounter(text, tokenizer)
    splitter = None
    pieces: list[_Piece] = []
    for piece in _pieces(text, clauses):
        piece.tokens = counter.count(piece.start, piece.end)
        if piece.tokens > config.max_tokens:
            if splitter is None:
                splitter = _splitter(tokenizer, config)
            for sub in _split_long(text, piece, splitter):
                sub.tokens = counter.count(sub.start, sub.end)
                pieces.append(sub)
        else:
            pieces.append(piece)
    glue = [_heading_only(text, p, clauses) for p in pieces]
    title = document_title(doc.name)
    identity = document_identity(text, config.identity_chars) if config.identity == "embed" else ""
    chunks: list[Chunk] = []
    for a, b in _group(pieces, glue, config):
        start, end = pieces[a].start, pieces[b - 1].end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            continue
        lca = _lca(clauses, {p.owner for p in pieces[a:b]})
        path = _heading_path(clauses, lca)
        body = text[start:end]
        prefix = []
        if config.prepend_title and title:
            prefix.append(title)
        if identity:
            prefix.append(identity)
        if config.prepend_headings and path:
            prefix.append(" > ".join(path))
        chunks.append(
            Chunk(
                start=start,
                end=end,
                text=body,
                embed_text="\n".join(prefix) + "\n\n" + body if prefix else body,
                clause=clauses[lca].label if lca is not None else None,
                heading_path=path,
                pages=doc.pages_of(start, end),
            )
        )
    return chunks
