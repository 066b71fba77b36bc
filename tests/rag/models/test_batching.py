"""Length-sorted batches under a token budget."""

from __future__ import annotations

import random
from typing import Any

import pytest

from rag.models.batching import default_tokens_per_batch, pad_batch, plan_batches


def test_batches_cover_every_index_once_longest_first_within_budget() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(3, 300) for _ in range(200)]
    batches = plan_batches(lengths, max_tokens=1024)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(200))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    for b in batches:
        assert max(lengths[i] for i in b) * len(b) <= 1024


def test_row_longer_than_budget_goes_alone_and_batch_size_caps_rows() -> None:
    assert plan_batches([10, 5000, 10, 10], max_tokens=100) == [[1], [0, 2, 3]]
    assert plan_batches([4, 4, 4, 4, 4], max_tokens=1000, max_batch=2) == [[0, 1], [2, 3], [4]]
    assert plan_batches([], max_tokens=10) == []
    with pytest.raises(ValueError):
        plan_batches([1], max_tokens=0)
    with pytest.raises(ValueError):
        plan_batches([1], max_tokens=10, max_batch=0)


def test_pad_batch() -> None:
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=1)
    assert ids.tolist() == [[5, 6, 7], [8, 1, 1]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_default_budget_by_device_and_width(tiny_m3_dir: Any, tiny_reranker_dir: Any) -> None:
    from rag.models import load_encoder, load_reranker

    assert default_tokens_per_batch("cpu", 1024) == 512  # BGE-M3, bge-reranker-v2-m3: small batches
    assert default_tokens_per_batch("cpu", 384) == default_tokens_per_batch("cpu") == 4096  # MiniLM, unknown
    assert default_tokens_per_batch("cuda", 1024) == default_tokens_per_batch("cuda:1") == 32768
    enc = load_encoder(tiny_m3_dir, device="cpu", dtype="float32")
    rr = load_reranker(tiny_reranker_dir, device="cpu", dtype="float32")
    assert enc.model.config.hidden_size < 1024 and enc.tokens_per_batch == rr.tokens_per_batch == 4096
    assert load_encoder(tiny_m3_dir, device="cpu", dtype="float32", tokens_per_batch=64).tokens_per_batch == 64
