"""BGE-M3 outputs on the tiny checkpoint: shapes, normalisation, order, truncation, precision."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.models import Encoded, load_encoder
from rag.models.bge_m3 import _max_by_token
from rag.models.scoring import lexical_matching_score

TEXTS = [
    "Either Party may terminate this Agreement upon thirty (30) days prior written notice.",
    "This Agreement shall be governed by the laws of the State of New York.",
    "本合同适用中华人民共和国法律。",
    "confidential confidential confidential",
    "Confidentiality obligations survive termination for five (5) years. " * 12,
    "notice",
]


@pytest.fixture(scope="module")
def full(m3: Any) -> Encoded:
    return m3.encode(TEXTS, dense=True, sparse=True, colbert=True)


def test_capabilities(m3: Any, tiny_m3_dir: Path) -> None:
    assert m3.name == str(tiny_m3_dir)
    assert m3.family == "bge-m3"
    assert m3.dim == 64 and m3.colbert_dim == 64
    assert m3.has_sparse and m3.has_colbert
    assert m3.max_length == 512
    assert m3.device == "cpu" and m3.dtype == "float32"
    assert m3.tokenizer("termination")["input_ids"][0] == m3.tokenizer.cls_token_id
    assert m3.query_instruction == ""


def test_dense_is_l2_normalised_float32(full: Encoded) -> None:
    assert full.dense.shape == (len(TEXTS), 64) and full.dense.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(full.dense, axis=1), 1.0, atol=1e-5)
    assert np.abs(full.dense[0] - full.dense[1]).max() > 1e-3


def test_sparse_weights(full: Encoded, m3: Any) -> None:
    special = {
        m3.tokenizer.cls_token_id,
        m3.tokenizer.eos_token_id,
        m3.tokenizer.pad_token_id,
        m3.tokenizer.unk_token_id,
    }
    for text, weights in zip(TEXTS, full.sparse):
        ids = set(m3.tokenize([text])[0])
        assert weights, text
        assert all(type(k) is int and type(v) is float for k, v in weights.items())
        assert all(v > 0 for v in weights.values())
        assert set(weights) <= ids - special
    # A repeated word keeps one entry (its largest weight).
    (confidential,) = set(m3.tokenize(["confidential"])[0]) - special
    assert confidential in full.sparse[3] and len(full.sparse[3]) <= 2


def test_sparse_matches_per_token_head_output(m3: Any) -> None:
    """The vectorised max over repeated ids equals a plain per-token loop over the head output."""
    import torch

    text = TEXTS[4]
    ids = torch.tensor([m3.tokenize([text])[0]])
    with torch.inference_mode():
        h = m3.model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        w = torch.relu(m3.sparse_linear(h)).squeeze(-1)[0].tolist()
    expected: dict[int, float] = {}
    for t, x in zip(ids[0].tolist(), w):
        if t not in (0, 1, 2, 3) and x > 0:
            expected[t] = max(expected.get(t, 0.0), x)
    got = m3.encode([text], dense=False, sparse=True).sparse[0]
    assert set(got) == set(expected)
    assert max(abs(got[t] - expected[t]) for t in got) < 1e-6


def test_max_by_token_hand_case() -> None:
    rows = np.array([0, 0, 0, 2, 2])
    ids = np.array([7, 9, 7, 5, 5])
    weights = np.array([0.5, 0.25, 0.75, 1.0, 2.0], dtype=np.float32)
    assert _max_by_token(rows, ids, weights, 3) == [{7: 0.75, 9: 0.25}, {}, {5: 2.0}]


def test_colbert_vectors(full: Encoded, m3: Any) -> None:
    for text, vecs in zip(TEXTS, full.colbert):
        n_tokens = len(m3.tokenize([text])[0])
        assert vecs.shape == (n_tokens - 1, 64) and vecs.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_only_requested_outputs(m3: Any) -> None:
    out = m3.encode(TEXTS[:2], dense=False, sparse=True, colbert=False)
    assert out.dense is None and out.colbert is None and len(out.sparse) == 2
    out = m3.encode(TEXTS[:2], dense=True, sparse=False)
    assert out.sparse is None and out.colbert is None
    with pytest.raises(ValueError, match="nothing to compute"):
        m3.encode(TEXTS, dense=False, sparse=False, colbert=False)


def test_order_restored_across_length_sorted_batches(tiny_m3_dir: Path, full: Encoded) -> None:
    enc = load_encoder(tiny_m3_dir, device="cpu", dtype="float32", tokens_per_batch=64)
    order = list(range(len(TEXTS)))
    random.Random(3).shuffle(order)
    out = enc.encode([TEXTS[i] for i in order], dense=True, sparse=True, colbert=True)
    for j, i in enumerate(order):
        assert np.abs(out.dense[j] - full.dense[i]).max() < 1e-5
        assert out.sparse[j].keys() == full.sparse[i].keys()
        assert out.colbert[j].shape == full.colbert[i].shape
        assert np.abs(out.colbert[j] - full.colbert[i]).max() < 1e-5


def test_batch_size_and_progress(m3: Any, full: Encoded) -> None:
    calls: list[tuple[int, int]] = []
    out = m3.encode(TEXTS, dense=True, sparse=False, batch_size=2, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 6), (4, 6), (6, 6)]
    assert np.abs(out.dense - full.dense).max() < 1e-5


def test_truncation_to_max_length(tiny_m3_dir: Path) -> None:
    enc = load_encoder(tiny_m3_dir, device="cpu", dtype="float32", max_length=16)
    out = enc.encode([TEXTS[4]], dense=True, sparse=False, colbert=True)
    assert out.colbert[0].shape == (15, 64)


def test_lexical_overlap_is_meaningful(m3: Any) -> None:
    q = m3.encode(["termination notice"], dense=False, sparse=True, query=True).sparse[0]
    p = m3.encode([TEXTS[0], TEXTS[2]], dense=False, sparse=True).sparse
    shared = set(m3.tokenize(["termination notice"])[0]) & set(m3.tokenize([TEXTS[0]])[0]) - {0, 2}
    assert shared  # real words are tokens of the trained vocabulary
    assert lexical_matching_score(q, p[1]) == 0.0
    expected = sum(q[t] * p[0][t] for t in set(q) & set(p[0]))
    assert lexical_matching_score(q, p[0]) == pytest.approx(expected)


def test_edge_inputs(m3: Any) -> None:
    empty = m3.encode([], dense=True, sparse=True, colbert=True)
    assert empty.dense.shape == (0, 64) and empty.sparse == [] and empty.colbert == []
    out = m3.encode([""], dense=True, sparse=True, colbert=True)
    assert out.colbert[0].shape == (1, 64)  # only </s> after CLS
    with pytest.raises(TypeError, match="single str"):
        m3.encode("a text")


def test_bf16_dense_close_to_fp32(tiny_m3_dir: Path, full: Encoded) -> None:
    enc = load_encoder(tiny_m3_dir, device="cpu", dtype="bfloat16")
    out = enc.encode(TEXTS, dense=True, sparse=True, colbert=True)
    assert out.dense.dtype == np.float32
    cos = (out.dense * full.dense).sum(axis=1)
    assert cos.min() >= 0.999
