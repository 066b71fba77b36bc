"""Score functions against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from rag.models import Encoded
from rag.models.scoring import (
    colbert_score,
    colbert_scores,
    combine_scores,
    dense_scores,
    lexical_matching_score,
    lexical_scores,
    pair_scores,
)


def test_dense() -> None:
    q = np.array([1.0, 0.0])
    p = np.array([[0.6, 0.8], [0.0, 1.0]])
    np.testing.assert_allclose(dense_scores(q, p), [0.6, 0.0])
    assert dense_scores(np.stack([q, q]), p).shape == (2, 2)


def test_lexical() -> None:
    a = {10: 0.5, 11: 0.2, 12: 1.0}
    b = {11: 0.5, 12: 0.25, 99: 3.0}
    assert lexical_matching_score(a, b) == pytest.approx(0.2 * 0.5 + 1.0 * 0.25)
    assert lexical_matching_score(b, a) == pytest.approx(0.35)
    assert lexical_matching_score(a, {}) == 0.0
    np.testing.assert_allclose(lexical_scores(a, [b, {10: 2.0}, {}]), [0.35, 1.0, 0.0], rtol=1e-6)


def test_colbert() -> None:
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]])
    # query vector 1: best 1.0; query vector 2: best 0.8 -> mean 0.9
    assert colbert_score(q, p) == pytest.approx(0.9)
    p2 = np.array([[0.0, 1.0]])
    np.testing.assert_allclose(colbert_scores(q, [p, np.zeros((0, 2)), p2]), [0.9, 0.0, 0.5], rtol=1e-6)
    assert colbert_score(q, np.zeros((0, 2))) == 0.0


def test_combine_modes() -> None:
    got = combine_scores([0.5], [0.2], [0.8], weights=[0.4, 0.2, 0.4])
    assert got["dense"][0] == pytest.approx(0.5)
    assert got["sparse+dense"][0] == pytest.approx((0.2 * 0.2 + 0.5 * 0.4) / 0.6)
    assert got["colbert+sparse+dense"][0] == pytest.approx((0.8 * 0.4 + 0.2 * 0.2 + 0.5 * 0.4) / 1.0)
    default = combine_scores([0.5], [0.2], [0.8])
    assert default["colbert+sparse+dense"][0] == pytest.approx(0.5)


def test_pair_scores() -> None:
    q = Encoded(dense=np.array([[1.0, 0.0]]), sparse=[{1: 2.0}], colbert=[np.array([[1.0, 0.0]])])
    p = Encoded(dense=np.array([[0.6, 0.8]]), sparse=[{1: 0.5, 2: 1.0}], colbert=[np.array([[0.6, 0.8]])])
    got = pair_scores(q, p)
    assert got["dense"][0] == pytest.approx(0.6)
    assert got["sparse"][0] == pytest.approx(1.0)
    assert got["colbert"][0] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="colbert"):
        pair_scores(Encoded(dense=q.dense, sparse=q.sparse), p)
