"""Our reranker against FlagEmbedding's BaseReranker on the same tiny checkpoint, fp32 CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.models import load_reranker

TOL = 1e-5


@pytest.fixture(scope="module")
def ours(tiny_reranker_dir: Path) -> Any:
    return load_reranker(tiny_reranker_dir, device="cpu", dtype="float32", tokens_per_batch=1200)


@pytest.fixture(scope="module")
def pairs(texts: list[str]) -> list[tuple[str, str]]:
    query = "Can either party terminate the agreement for convenience?"
    long_query = " ".join(["Which law governs the contract and where are disputes resolved?"] * 40)
    return [(query, t) for t in texts if t] + [
        (long_query, texts[1]),
        (long_query, texts[-1]),
        ("终止合同的通知期限是多久？", texts[2]),
    ]


@pytest.mark.parametrize("normalize", [False, True])
def test_scores_match_reference(ours: Any, flag_reranker: Any, pairs: list[tuple[str, str]], normalize: bool) -> None:
    ref = np.asarray(flag_reranker.compute_score(pairs, normalize=normalize), dtype=np.float64)
    got = ours.score(pairs, normalize=normalize)
    assert got.dtype == np.float32 and got.shape == (len(pairs),)
    assert np.abs(got - ref).max() <= TOL
    assert np.ptp(ref) > 1e-3  # scores differ across pairs: the comparison is not vacuous
