"""Context numbering and the approximate token budget."""

from __future__ import annotations

import pytest

from rag.answer import approx_tokens, build_context
from rag.answer.context import TRUNCATION_MARK
from tests.rag.answer.helpers import make_hit


def test_approx_tokens_counts_cjk_per_character() -> None:
    assert approx_tokens("abcdefgh") == 2
    assert approx_tokens("abcdefgh", chars_per_token=2) == 4
    assert approx_tokens("第十二条 终止") == 6 + 1  # six CJK characters, one space
    with pytest.raises(ValueError, match="chars_per_token"):
        approx_tokens("x", chars_per_token=0)


def test_blocks_are_numbered_in_rank_order() -> None:
    hits = [make_hit(f"passage {i}", chunk_id=i) for i in range(4)]
    ctx = build_context(hits)
    assert [b.n for b in ctx.blocks] == [1, 2, 3, 4]
    assert [b.hit for b in ctx.blocks] == hits
    assert ctx.dropped == [] and ctx.tokens > 0


def test_definitions_go_before_the_passage_does() -> None:
    long_def = [("Services", "x " * 400)]
    hits = [make_hit("a " * 100, chunk_id=1), make_hit("b " * 100, chunk_id=2, definitions=long_def)]
    ctx = build_context(hits, max_tokens=250)
    assert len(ctx.blocks) == 2
    assert ctx.blocks[1].definitions == ()  # dropped to fit, the passage kept


def test_later_hits_that_fit_are_kept_after_one_is_dropped() -> None:
    hits = [make_hit("a " * 100, chunk_id=1), make_hit("b " * 1000, chunk_id=2), make_hit("c " * 20, chunk_id=3)]
    ctx = build_context(hits, max_tokens=200)
    assert [b.hit.chunk.id for b in ctx.blocks] == [1, 3]
    assert [b.n for b in ctx.blocks] == [1, 2]
    assert [h.chunk.id for h in ctx.dropped] == [2]


def test_only_the_first_block_is_truncated() -> None:
    text = "word " * 2000
    ctx = build_context([make_hit(text, chunk_id=1), make_hit("short", chunk_id=2)], max_tokens=300)
    (block,) = ctx.blocks
    assert block.truncated and block.text.endswith(TRUNCATION_MARK)
    assert text.startswith(block.text[: -len(TRUNCATION_MARK)])
    assert ctx.tokens <= 300
    # quotes are checked against the full chunk, not the cut text
    assert block.source_texts()[0] == text


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="budget"):
        build_context([make_hit("x")], max_tokens=0)
