"""Cross-encoder reranker: pair layout, truncation, order, normalisation."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

PASSAGES = [
    "Either Party may terminate this Agreement upon thirty (30) days prior written notice.",
    "This Agreement shall be governed by the laws of the State of New York.",
    "本合同适用中华人民共和国法律。",
    "Confidentiality obligations survive termination. " * 150,
]
QUERY = "Can either party terminate the agreement for convenience?"


def test_attributes(reranker: Any) -> None:
    assert reranker.max_length == 512
    assert reranker.query_max_length == 384
    assert reranker.device == "cpu" and reranker.dtype == "float32"


def test_pair_layout_is_xlmr(reranker: Any) -> None:
    tok = reranker.tokenizer
    (row,) = reranker.pair_ids([(QUERY, PASSAGES[0])])
    q = tok(QUERY, add_special_tokens=False)["input_ids"]
    p = tok(PASSAGES[0], add_special_tokens=False)["input_ids"]
    assert row == [tok.cls_token_id, *q, tok.sep_token_id, tok.sep_token_id, *p, tok.sep_token_id]
    assert row == tok(QUERY, PASSAGES[0])["input_ids"]


def test_truncation(reranker: Any) -> None:
    long_query = "Which law governs the contract? " * 200
    rows = reranker.pair_ids([(long_query, PASSAGES[3]), (QUERY, PASSAGES[3])])
    assert all(len(r) == 512 for r in rows)
    assert rows[0].index(reranker.tokenizer.sep_token_id) == 1 + 384  # query cut to 3/4 of max_length
    capped = reranker.pair_ids([(QUERY, PASSAGES[3])], max_passage_tokens=20)[0]
    n_query = len(reranker.tokenizer(QUERY, add_special_tokens=False)["input_ids"])
    assert len(capped) == n_query + 20 + 4


def test_scores_order_and_normalisation(reranker: Any) -> None:
    pairs = [(QUERY, p) for p in PASSAGES] + [("合同适用哪国法律？", p) for p in PASSAGES]
    raw = reranker.score(pairs)
    assert raw.shape == (len(pairs),) and raw.dtype == np.float32
    assert np.ptp(raw) > 1e-4
    np.testing.assert_allclose(
        reranker.score(pairs, normalize=True), 1 / (1 + np.exp(-raw.astype(np.float64))), atol=1e-6
    )
    order = list(range(len(pairs)))
    random.Random(5).shuffle(order)
    shuffled = reranker.score([pairs[i] for i in order], batch_size=3)
    assert np.abs(shuffled - raw[order]).max() < 1e-5
    singles = np.array([reranker.score([p])[0] for p in pairs])
    assert np.abs(singles - raw).max() < 1e-5


def test_progress_and_edge_inputs(reranker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(reranker, "tokens_per_batch", 4096)  # room for all four pairs: batch_size decides
    reranker.score([(QUERY, p) for p in PASSAGES], batch_size=2, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 4), (4, 4)]
    calls.clear()
    monkeypatch.setattr(reranker, "tokens_per_batch", 512)  # wide models' CPU default: the 512-token pair goes alone
    reranker.score([(QUERY, p) for p in PASSAGES], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (4, 4)]
    assert reranker.score([]).shape == (0,)
    with pytest.raises(TypeError, match="pairs"):
        reranker.score([QUERY])
