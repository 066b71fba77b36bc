"""Image items in retrieval: scoring them for a text question or an image query, and fusing them
with the text hits.

Scores (all cosines of unit vectors, so -1..1):

* text question: ``visual`` = Visualized BGE's text embedding of the question against each item's
  image+caption embedding; ``caption`` = the text encoder's question vector (the one the text
  channels use) against the item's caption / OCR text vector. An item's score is the weighted mean
  of the two (``visual`` alone for an item without text).
* image query: Visualized BGE's image embedding (image+text when a text is given too) against the
  items' embeddings.

Fusion with text hits is by rank, not by score: text scores (fused cosines, reranker logits) and
image scores live on different scales, so the merged list takes ``1 / (rrf_k + rank)`` from each
list (image ranks weighted by ``weight``), and only admitted image items take part: a question about
payment terms must not get a seal in its top hits. An item is admitted when its caption / OCR text
scores at least ``caption_min`` (measured with a real text encoder in bench/visual_fusion.py,
bench/results/visual-fusion-*.json), or its visual score reaches ``visual_min``, or (with
``same_page_top``) it lies on the page of one of the best text hits (a signature under "IN WITNESS
WHEREOF"). No Visualized BGE
weights could be had to calibrate the latter, so by default (``None``) the visual score alone
admits nothing to a text question's hits; it still orders the admitted items, and it is the whole
score of an image query.

Image hits are :class:`~rag.retrieve.hits.Hit` objects (an :class:`ImageHit`) whose "chunk" is the
item's caption / OCR text, spans into its document, so answers number and cite them like text hits;
``hit.image`` says where the picture is (page and box) for thumbnails and outlines.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.documents import Box, StoredChunk
from rag.retrieve.hits import Hit

#: image hit "chunk" ids are negative so they never meet a text chunk's id
_ID_STRIDE = 100_000


@dataclass(frozen=True)
class ImageSearchOptions:
    """How image items join a text question's hits (see the module docstring)."""

    enabled: bool = True
    top_k: int = 3  # image items merged into a result list at most
    visual_weight: float = 0.5
    caption_weight: float = 0.5
    #: caption / OCR text cosine (the text encoder's) that admits an item to a question's hits; 0.4 and
    #: same_page_top 1 measured best (bench/visual_fusion.py, MiniLM, 35 contracts + synthetic pages):
    #: 10 of 13 known pictures in the top 8, 6 of 157 relevant text hits of 200 CUAD questions lost
    caption_min: float = 0.4
    #: visual cosine that admits an item on its own; None: never (not calibrated without real weights)
    visual_min: float | None = None
    #: admit the items on the pages of the best this-many text hits (0: off)
    same_page_top: int = 1
    weight: float = 1.0  # weight of image ranks against text ranks in the fusion
    rrf_k: int = 60


@dataclass(frozen=True)
class ImageRef:
    """Where an image hit's picture is: its document, item number, page, box and kind."""

    doc_id: int
    idx: int
    page: int
    kind: str  # "image" or "page"
    box: Box


@dataclass
class ImageHit(Hit):
    """A hit on an image item; ``chunk`` holds the item's caption / OCR text."""

    image: ImageRef | None = None


def item_chunk_id(doc_id: int, idx: int) -> int:
    return -(int(doc_id) * _ID_STRIDE + int(idx) + 1)


def image_label(row: Any) -> str:
    """``Picture on page 3`` / ``Page 2 (image)``: what an image hit's heading says."""
    what = "Page image" if row.kind == "page" else "Picture"
    return f"{what} on page {row.page}" + ("" if row.text.strip() else " (no text beside it)")


def make_hit(row: Any, score: float, scores: dict[str, float], document_text: str) -> ImageHit:
    """An image hit whose chunk is the item's caption / OCR text (exactly ``document_text[start:end]``)."""
    if row.spans:
        start, end = min(s for s, _ in row.spans), max(e for _, e in row.spans)
        text = document_text[start:end]
    else:
        start = end = 0
        text = ""
    chunk = StoredChunk(id=item_chunk_id(row.doc_id, row.idx), doc_id=row.doc_id, doc_name=row.doc_name,
                        start=start, end=end, text=text, clause=None, heading_path=(image_label(row),),
                        pages=(row.page, row.page))
    ref = ImageRef(row.doc_id, row.idx, row.page, row.kind, row.box)
    return ImageHit(chunk, float(score), dict(scores), via="image", image=ref)


class ImageIndex:
    """The image items of one collection generation, loaded once and searched by brute force."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._set: Any = None

    def items(self, view: Any) -> Any:
        with self._lock:
            if self._generation != view.generation:
                self._set, self._generation = view.image_items(), view.generation
            return self._set


def _in_scope(rows: list[Any], scope: list[int] | None) -> np.ndarray:
    if scope is None:
        return np.ones(len(rows), dtype=bool)
    wanted = set(scope)
    return np.array([r.doc_id in wanted for r in rows], dtype=bool)


def _usable(items: Any, model: str, notes: list[str]) -> np.ndarray:
    """Items embedded by the loaded visual model (another checkpoint's vectors mean nothing here)."""
    ok = np.array([r.model == model for r in items.rows], dtype=bool)
    if not ok.all():
        notes.append(f"{int((~ok).sum())} image item(s) were embedded with another visual model and are "
                     f"skipped; re-add their documents to search them")
    return ok


def score_question(items: Any, visual: Any, model: str, q_text_vector: np.ndarray | None, question: str,
                   opt: ImageSearchOptions, scope: list[int] | None, notes: list[str]) -> list[tuple[int, float, dict[str, float]]]:
    """``(row index, score, per-part scores)`` of the usable items in scope, best first."""
    mask = _in_scope(items.rows, scope) & _usable(items, model, notes) if items.rows else np.zeros(0, bool)
    if not mask.any():
        return []
    q_vis = visual.encode_text([question])[0]
    vis = items.vectors @ q_vis
    cap = np.full(len(items.rows), np.nan)
    if q_text_vector is not None and items.text_vectors.shape[1] == len(q_text_vector):
        cap = np.where(items.has_text, items.text_vectors @ q_text_vector, np.nan)
    both = opt.visual_weight + opt.caption_weight
    mixed = np.where(np.isnan(cap) | (both <= 0), vis,
                     (opt.visual_weight * vis + opt.caption_weight * np.nan_to_num(cap)) / max(both, 1e-9))
    out = []
    for i in np.flatnonzero(mask):
        parts = {"visual": float(vis[i])}
        if not np.isnan(cap[i]):
            parts["caption"] = float(cap[i])
        parts["image"] = float(mixed[i])
        out.append((int(i), float(mixed[i]), parts))
    out.sort(key=lambda t: -t[1])
    return out


def score_image(items: Any, visual: Any, model: str, image: Any, text: str, scope: list[int] | None,
                notes: list[str]) -> list[tuple[int, float, dict[str, float]]]:
    """Items ranked for an image query (image+text when ``text`` is not empty)."""
    mask = _in_scope(items.rows, scope) & _usable(items, model, notes) if items.rows else np.zeros(0, bool)
    if not mask.any():
        return []
    q = visual.encode_composed([image], [text or ""])[0]
    sims = items.vectors @ q
    out = [(int(i), float(sims[i]), {"image_query": float(sims[i])}) for i in np.flatnonzero(mask)]
    out.sort(key=lambda t: -t[1])
    return out


def model_key(visual: Any) -> str:
    """What image rows record about the model that embedded them: the checkpoint's file name and
    the vector size (a moved file keeps its rows usable; another checkpoint does not)."""
    file = getattr(visual, "weights_file", None)
    return f"{file.name if file is not None else visual.name}:{visual.dim}"


def admitted(parts: dict[str, float], opt: ImageSearchOptions) -> bool:
    """Whether an item's scores let it join a text question's hits (see the module docstring)."""
    if parts.get("caption", -np.inf) >= opt.caption_min or parts.get("same_page", 0.0) > 0:
        return True
    return opt.visual_min is not None and parts["visual"] >= opt.visual_min


def mark_same_page(ranked: list[tuple[int, float, dict[str, float]]], rows: list[Any], text_hits: list[Hit],
                   top: int) -> None:
    """Set ``same_page`` = 1 in the parts of items on the page of one of the best ``top`` text hits
    (hits that lie on one page)."""
    pages = set()
    for h in text_hits[:top]:  # a hit over several pages does not say which one the question is about
        if h.pages is not None and h.pages[0] == h.pages[1]:
            pages.add((h.chunk.doc_id, h.pages[0]))
    for i, _, parts in ranked:
        if (rows[i].doc_id, rows[i].page) in pages:
            parts["same_page"] = 1.0


def question_hits(index: ImageIndex, view: Any, visual: Any, question: str, q_text_vector: np.ndarray | None,
                  scope: list[int] | None, opt: ImageSearchOptions, text_of: Any, notes: list[str],
                  text_hits: list[Hit] = ()) -> list[Hit]:
    """The admitted image items for a text question, best first, at most ``opt.top_k``."""
    items = index.items(view)
    if not items.rows:
        return []  # no visual encoding at all for a collection without image items
    ranked = score_question(items, visual, model_key(visual), q_text_vector, question, opt, scope, notes)
    if opt.same_page_top:
        mark_same_page(ranked, items.rows, list(text_hits), opt.same_page_top)
    kept = [(i, s, p) for i, s, p in ranked if admitted(p, opt)][: opt.top_k]
    if ranked:
        best = max((p.get("caption", -1.0) for _, _, p in ranked), default=-1.0)
        notes.append(f"image items: {len(kept)} of {len(ranked)} admitted (best caption score {best:.3f}, "
                     f"needed {opt.caption_min:g})")
    return [make_hit(items.rows[i], s, p, text_of(items.rows[i].doc_id)) for i, s, p in kept]


def image_query_hits(index: ImageIndex, view: Any, visual: Any, image: Any, text: str, scope: list[int] | None,
                     top_k: int, text_of: Any, notes: list[str]) -> list[Hit]:
    """The ``top_k`` image items most like an image query (image+text with ``text``)."""
    items = index.items(view)
    if not items.rows:
        notes.append("this collection has no image items (add PDFs with RAG_VISUAL_MODEL set)")
        return []
    ranked = score_image(items, visual, model_key(visual), image, text, scope, notes)[:top_k]
    return [make_hit(items.rows[i], s, p, text_of(items.rows[i].doc_id)) for i, s, p in ranked]


def fuse_with_text(text_hits: list[Hit], image_hits: list[Hit], k: int, opt: ImageSearchOptions) -> list[Hit]:
    """Merge by weighted reciprocal rank; image hits are the admitted ones.

    Ties go to the text hit (a text hit and an image hit at the same rank: text first)."""
    scored: list[tuple[float, int, Hit]] = []
    for r, h in enumerate(text_hits, 1):
        scored.append((1.0 / (opt.rrf_k + r), 0, h))
    for r, h in enumerate(image_hits, 1):
        scored.append((opt.weight / (opt.rrf_k + r), 1, h))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [h for _, _, h in scored[:k]]
