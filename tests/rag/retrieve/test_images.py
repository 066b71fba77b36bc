"""rag.retrieve.images: admission, scoring, rank fusion with text hits, image hits as citable hits."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from rag.documents import Box, StoredChunk
from rag.retrieve.hits import Hit
from rag.retrieve.images import (
    ImageSearchOptions,
    admitted,
    fuse_with_text,
    item_chunk_id,
    make_hit,
    score_question,
)
from rag.store.image_rows import ImageRow, ImageSet

TEXT = "IN WITNESS WHEREOF the parties signed.\nAuthorized Signature: John Smith\nPayment is due in 30 days."


def _row(idx: int, text: str = "", spans=(), kind: str = "image", doc_id: int = 1) -> ImageRow:
    return ImageRow(doc_id, "a.pdf", idx, 2, kind, 10.0, 20.0, 110.0, 90.0, text, tuple(spans), 0.1, "vis.pth:4")


def _text_hit(i: int) -> Hit:
    return Hit(StoredChunk(i, 1, "a.pdf", 0, 5, TEXT[:5], None, (), (1, 1)), 1.0 / i)


class FakeVisual:
    """Question vector fixed: scores are the items' vectors' first coordinate."""

    name, dim, weights_file = "vis", 4, None

    def encode_text(self, texts):
        return np.array([[1.0, 0, 0, 0]] * len(texts), np.float32)


def _set(rows, vis, cap, has_text) -> ImageSet:
    return ImageSet(rows, np.asarray(vis, np.float32), np.asarray(cap, np.float32), np.asarray(has_text))


def test_caption_admits_and_visual_alone_does_not_by_default() -> None:
    opt = ImageSearchOptions()
    assert admitted({"visual": 0.1, "caption": opt.caption_min}, opt)
    assert not admitted({"visual": 0.99}, opt)
    assert admitted({"visual": 0.6}, ImageSearchOptions(visual_min=0.5))


def test_scores_mix_visual_and_caption_and_respect_scope_and_model() -> None:
    rows = [_row(0, "cap", [(0, 3)]), _row(1), _row(2, "x", [(0, 1)], doc_id=2)]
    vis = [[0.2, 1, 0, 0], [0.9, 0, 1, 0], [0.5, 0, 0, 1]]
    cap = [[1, 0], [0, 0], [0, 1]]
    items = _set(rows, vis, cap, [True, False, True])
    q = np.array([0.8, 0.6], np.float32)
    notes: list[str] = []
    ranked = score_question(items, FakeVisual(), "vis.pth:4", q, "q", ImageSearchOptions(), None, notes)
    by_idx = {rows[i].idx: (s, p) for i, s, p in ranked}
    parts = by_idx[0][1]
    assert sorted(parts) == ["caption", "image", "visual"] and abs(parts["visual"] - 0.2) < 1e-6
    assert abs(parts["caption"] - 0.8) < 1e-6 and parts["image"] == by_idx[0][0]
    assert abs(by_idx[0][0] - 0.5) < 1e-6 and abs(by_idx[1][0] - 0.9) < 1e-6  # no text: visual alone
    assert [i for i, _, _ in ranked] == [1, 2, 0]  # 0.9, (0.5 + 0.6) / 2, (0.2 + 0.8) / 2
    assert [i for i, _, _ in score_question(items, FakeVisual(), "vis.pth:4", q, "q", ImageSearchOptions(), [2], notes)] == [2]
    assert score_question(items, FakeVisual(), "other:4", q, "q", ImageSearchOptions(), None, notes) == []
    assert "another visual model" in notes[-1]


def test_fusion_interleaves_by_rank_text_first_and_keeps_k() -> None:
    text = [_text_hit(i) for i in range(1, 6)]
    images = [make_hit(_row(0, "Authorized Signature: John Smith", [(39, 71)]), 0.5, {"image": 0.5}, TEXT)]
    merged = fuse_with_text(text, images, 5, ImageSearchOptions())
    assert [h.via for h in merged] == ["search", "image", "search", "search", "search"]
    late = fuse_with_text(text, images, 5, ImageSearchOptions(weight=60 / 63))  # image rank 1 = text rank 4
    assert [h.via for h in late] == ["search"] * 4 + ["image"]
    assert fuse_with_text(text, [], 3, ImageSearchOptions()) == text[:3]


def test_an_image_hit_is_its_caption_with_exact_offsets() -> None:
    row = _row(3, "Authorized Signature: John Smith", [(39, 71)])
    hit = make_hit(row, 0.7, {"image": 0.7}, TEXT)
    assert hit.text == TEXT[39:71] == "Authorized Signature: John Smith"
    assert hit.chunk.id == item_chunk_id(1, 3) < 0 and hit.pages == (2, 2) and hit.via == "image"
    assert hit.image.box == Box(2, 10.0, 20.0, 110.0, 90.0) and hit.chunk.heading_path == ("Picture on page 2",)
    bare = make_hit(_row(4, kind="page"), 0.1, {}, TEXT)
    assert bare.text == "" and bare.chunk.heading_path == ("Page image on page 2 (no text beside it)",)
    assert SimpleNamespace(h=bare).h.image.kind == "page"


def test_same_page_marks_items_on_the_page_of_a_best_one_page_text_hit() -> None:
    from rag.retrieve.images import mark_same_page

    rows = [_row(0), _row(1, doc_id=2), replace_page(_row(2), 3)]
    one_page = Hit(StoredChunk(1, 1, "a.pdf", 0, 5, TEXT[:5], None, (), (2, 2)), 1.0)
    spread = Hit(StoredChunk(2, 1, "a.pdf", 0, 5, TEXT[:5], None, (), (1, 3)), 0.9)
    ranked = [(i, 0.0, {"visual": 0.0}) for i in range(3)]
    mark_same_page(ranked, rows, [spread, one_page], top=1)
    assert not any("same_page" in p for _, _, p in ranked)  # a hit over pages 1-3 names no page
    mark_same_page(ranked, rows, [one_page, spread], top=1)
    assert [("same_page" in p) for _, _, p in ranked] == [True, False, False]
    assert admitted(ranked[0][2], ImageSearchOptions()) and not admitted(ranked[2][2], ImageSearchOptions())


def replace_page(row: ImageRow, page: int) -> ImageRow:
    from dataclasses import replace

    return replace(row, page=page)
