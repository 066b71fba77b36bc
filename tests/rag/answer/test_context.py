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


# -- small to big: span hits -------------------------------------------------------------------

CLAUSE = ("7.1 Each party shall keep the other's information secret. " * 6
          + "7.2 Notices must be sent by registered mail to the address on the cover page. "
          + "7.3 Neither party may assign this Agreement without consent. " * 6)


def _span_hit(sentence: str, chunk_id: int = 9, score: float = 0.9):
    from dataclasses import replace

    hit = make_hit(CLAUSE, chunk_id=chunk_id, clause="7", score=score)
    start = CLAUSE.index(sentence)
    return replace(hit, span=(start, start + len(sentence)), span_clause="7.2")


def test_spans_of_one_clause_share_its_block_and_cite_the_span() -> None:
    notice = _span_hit("7.2 Notices must be sent by registered mail to the address on the cover page.")
    assign = _span_hit("7.3 Neither party may assign this Agreement without consent.", score=0.5)
    other = make_hit("another clause", chunk_id=3)
    ctx = build_context([notice, other, assign])
    assert [b.n for b in ctx.blocks] == [1, 2]
    first = ctx.blocks[0]
    assert first.text == CLAUSE  # the model reads the clause...
    assert first.hit is notice and first.also == (assign,)  # ...the block cites its spans
    assert "clause 7.2" in first.label()


def test_a_clause_too_long_for_the_budget_is_cut_to_a_window_around_its_span() -> None:
    sentence = "7.2 Notices must be sent by registered mail to the address on the cover page."
    first = make_hit("x " * 300, chunk_id=1)
    ctx = build_context([first, _span_hit(sentence)], max_tokens=400)
    assert len(ctx.blocks) == 2
    window = ctx.blocks[1]
    assert window.truncated and sentence in window.text and len(window.text) < len(CLAUSE)
    assert window.text.startswith("[…] ") and window.text.endswith(TRUNCATION_MARK)
    assert ctx.tokens <= 400
