import math

import numpy as np
import pytest

from rag.retrieve.fusion import Channel, fuse, reciprocal_rank, weighted_sum


def test_weighted_sum_matches_hand_computation():
    dense = Channel("dense", np.array([0.8, 0.5, np.nan]), 1.0)
    sparse = Channel("sparse", np.array([0.1, 0.4, 0.2]), 0.3)
    got = weighted_sum([dense, sparse])
    assert got == pytest.approx([0.8 + 0.03, 0.5 + 0.12, 0.0 + 0.06])


def test_bm25_channel_is_divided_by_its_best_score():
    dense = Channel("dense", np.array([0.5, 0.6]), 1.0)
    bm25 = Channel("sparse", np.array([12.0, 6.0]), 0.5, normalise_by_max=True)
    assert weighted_sum([dense, bm25]) == pytest.approx([0.5 + 0.5, 0.6 + 0.25])


def test_rrf_matches_hand_computation():
    a = Channel("dense", np.array([0.9, 0.1, 0.5]), 1.0)  # ranks 1, 3, 2
    b = Channel("sparse", np.array([np.nan, 3.0, 1.0]), 1.0)  # unscored, rank 1, rank 2
    got = reciprocal_rank([a, b], k=60)
    want = [1 / 61, 1 / 63 + 1 / 61, 1 / 62 + 1 / 62]
    assert got == pytest.approx(want)
    assert fuse([a, b], "rrf") == pytest.approx(want)


def test_unknown_method_and_empty_channels_fail_loudly():
    with pytest.raises(ValueError, match="unknown fusion"):
        fuse([Channel("d", np.zeros(1), 1.0)], "max")
    with pytest.raises(ValueError, match="at least one"):
        fuse([], "weighted")


def test_rrf_ties_keep_input_order_stable():
    a = Channel("dense", np.array([0.5, 0.5]), 1.0)
    got = reciprocal_rank([a])
    assert got[0] > got[1] and math.isclose(got[0], 1 / 61)
