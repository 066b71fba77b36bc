"""Our BGE-M3 encoder against FlagEmbedding's M3Embedder on the same tiny checkpoint, fp32 CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.models import load_encoder
from rag.models.scoring import MODES, pair_scores

TOL = 1e-5


@pytest.fixture(scope="module")
def ours(tiny_m3_dir: Path) -> Any:
    # A small token budget forces several length-sorted batches (the reference pads one batch).
    return load_encoder(tiny_m3_dir, device="cpu", dtype="float32", tokens_per_batch=600)


@pytest.fixture(scope="module")
def reference_out(flag_m3: Any, texts: list[str]) -> dict[str, Any]:
    return flag_m3.encode(texts, return_dense=True, return_sparse=True, return_colbert_vecs=True)


@pytest.fixture(scope="module")
def our_out(ours: Any, texts: list[str]) -> Any:
    return ours.encode(texts, dense=True, sparse=True, colbert=True)


def test_dense_matches_reference(our_out: Any, reference_out: dict[str, Any]) -> None:
    ref = reference_out["dense_vecs"]
    assert our_out.dense.dtype == np.float32
    assert our_out.dense.shape == ref.shape
    assert np.abs(our_out.dense - ref).max() <= TOL


def test_sparse_matches_reference_token_for_token(our_out: Any, reference_out: dict[str, Any]) -> None:
    for ours, ref in zip(our_out.sparse, reference_out["lexical_weights"], strict=True):
        assert set(ours) == {int(k) for k in ref}
        assert all(isinstance(k, int) for k in ours)
        assert max((abs(ours[int(k)] - float(v)) for k, v in ref.items()), default=0.0) <= TOL
    assert sum(len(s) for s in our_out.sparse) > 20  # the comparison is not vacuous


def test_colbert_matches_reference(our_out: Any, reference_out: dict[str, Any], texts: list[str]) -> None:
    for ours, ref in zip(our_out.colbert, reference_out["colbert_vecs"], strict=True):
        assert ours.shape == ref.shape
        assert np.abs(ours - ref).max() <= TOL
    assert our_out.colbert[-1].shape[0] == 511  # the long text is cut at 512 tokens, CLS dropped


@pytest.mark.parametrize("weights", [None, [0.4, 0.2, 0.4]])
def test_compute_score_modes_match_reference(ours: Any, flag_m3: Any, texts: list[str], weights: Any) -> None:
    queries = texts[:4]
    passages = texts[4:8]
    pairs = list(zip(queries, passages))
    # batch_size=1: in a padded batch the reference's ColBERT max also sees the zero vectors of
    # padding positions (a score of 0 beats negative similarities); unpadded it is exact max-sim.
    ref = flag_m3.compute_score(pairs, batch_size=1, weights_for_different_modes=weights)
    q = ours.encode(queries, dense=True, sparse=True, colbert=True)
    p = ours.encode(passages, dense=True, sparse=True, colbert=True)
    got = pair_scores(q, p, weights)
    for mode in MODES:
        assert np.abs(got[mode] - np.asarray(ref[mode])).max() <= TOL, mode


def test_lexical_and_colbert_helpers_match_reference(our_out: Any, reference_out: dict[str, Any], flag_m3: Any) -> None:
    from rag.models.scoring import colbert_score, lexical_matching_score

    ref_lex = reference_out["lexical_weights"]
    ref_col = reference_out["colbert_vecs"]
    for i, j in [(0, 3), (1, 6), (3, 3), (2, 6)]:
        expected = flag_m3.compute_lexical_matching_score(ref_lex[i], ref_lex[j])
        assert abs(lexical_matching_score(our_out.sparse[i], our_out.sparse[j]) - expected) <= TOL
        expected = float(flag_m3.colbert_score(ref_col[i], ref_col[j]))
        assert abs(colbert_score(our_out.colbert[i], our_out.colbert[j]) - expected) <= TOL
