"""Dense-only families: BGE v1 (CLS, query instruction) and sentence-transformers folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.models import ModelLoadError, load_encoder
from rag.models.dense import (
    BGE_V1_QUERY_INSTRUCTION_EN,
    BGE_V1_QUERY_INSTRUCTION_ZH,
    read_sentence_transformers,
)

QUERIES = ["What is the notice period for termination?", "合同适用哪国法律？"]


@pytest.fixture(scope="module")
def bge_v1(tiny_bge_v1_dir: Path) -> Any:
    return load_encoder(tiny_bge_v1_dir, device="cpu", dtype="float32")


def test_bge_v1_capabilities(bge_v1: Any) -> None:
    assert bge_v1.family == "bge-v1"
    assert not bge_v1.has_sparse and not bge_v1.has_colbert
    assert bge_v1.dim == 64 and bge_v1.max_length == 512
    with pytest.raises(ValueError, match="sparse"):
        bge_v1.encode(QUERIES)  # sparse=True is the default request
    with pytest.raises(ValueError, match="colbert"):
        bge_v1.encode(QUERIES, sparse=False, colbert=True)


def test_bge_v1_is_normalised_cls(bge_v1: Any) -> None:
    import torch

    out = bge_v1.encode(QUERIES, sparse=False)
    ids = bge_v1.tokenize(QUERIES[:1])
    with torch.inference_mode():
        h = bge_v1.model(input_ids=torch.tensor(ids)).last_hidden_state[0, 0]
    expected = (h / h.norm()).numpy()
    assert np.abs(out.dense[0] - expected).max() < 1e-5


def test_bge_v1_query_instruction_only_for_queries(bge_v1: Any) -> None:
    assert bge_v1.query_instruction == BGE_V1_QUERY_INSTRUCTION_EN
    as_query = bge_v1.encode(QUERIES, sparse=False, query=True).dense
    by_hand = bge_v1.encode([BGE_V1_QUERY_INSTRUCTION_EN + q for q in QUERIES], sparse=False).dense
    plain = bge_v1.encode(QUERIES, sparse=False).dense
    assert np.abs(as_query - by_hand).max() < 1e-6
    assert np.abs(as_query - plain).max() > 1e-3


def test_bge_v1_chinese_instruction_from_name(tiny_bge_v1_dir: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(tiny_bge_v1_dir, tmp_path / "bge-large-zh-v1.5")
    enc = load_encoder(folder, device="cpu", dtype="float32")
    assert enc.query_instruction == BGE_V1_QUERY_INSTRUCTION_ZH
    as_query = enc.encode(QUERIES, sparse=False, query=True).dense
    by_hand = enc.encode([BGE_V1_QUERY_INSTRUCTION_ZH + q for q in QUERIES], sparse=False).dense
    assert np.abs(as_query - by_hand).max() < 1e-6


def test_m3_has_no_query_instruction(m3: Any) -> None:
    a = m3.encode(QUERIES, sparse=False, query=True).dense
    b = m3.encode(QUERIES, sparse=False).dense
    assert np.array_equal(a, b)


def test_sentence_transformers_minilm_matches_manual_mean_pooling(minilm_dir: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    enc = load_encoder(minilm_dir, device="cpu", dtype="float32")
    assert enc.family == "sentence-transformers"
    assert enc.dim == 384 and enc.max_length == 256 and not enc.has_sparse
    texts = ["The supplier shall deliver the goods within ten days.", "Governing law: New York.", "short"]
    got = enc.encode(texts, sparse=False).dense

    tok = AutoTokenizer.from_pretrained(str(minilm_dir))
    model = AutoModel.from_pretrained(str(minilm_dir), dtype=torch.float32).eval()
    batch = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.inference_mode():
        h = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    mean = (h * mask).sum(1) / mask.sum(1)
    expected = torch.nn.functional.normalize(mean, dim=-1).numpy()
    assert np.abs(got - expected).max() < 1e-5
    # The real model ranks the related sentence first.
    q = enc.encode(["When must the goods be delivered?"], sparse=False).dense[0]
    assert int(np.argmax(got @ q)) == 0


def _st_folder(tmp_path: Path, pooling: dict[str, Any], modules: list[dict[str, Any]] | None = None) -> Path:
    folder = tmp_path / "st"
    (folder / "1_Pooling").mkdir(parents=True)
    modules = modules or [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 8, **pooling}))
    return folder


@pytest.mark.parametrize(
    ("pooling", "expected"),
    [
        ({"pooling_mode_cls_token": True}, "cls"),
        ({"pooling_mode_max_tokens": True}, "max"),
        ({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, "mean"),
        ({"pooling_mode": "mean"}, "mean"),
    ],
)
def test_sentence_transformers_pooling_modes(tmp_path: Path, pooling: dict[str, Any], expected: str) -> None:
    layout = read_sentence_transformers(_st_folder(tmp_path, pooling))
    assert layout.pooling == expected and layout.normalize is False and layout.dim == 8


def test_sentence_transformers_unsupported_configs_are_named(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="pooling"):
        read_sentence_transformers(
            _st_folder(tmp_path / "a", {"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True})
        )
    dense_module = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    with pytest.raises(ModelLoadError, match="Dense"):
        read_sentence_transformers(_st_folder(tmp_path / "b", {"pooling_mode_cls_token": True}, dense_module))


def test_sentence_transformers_max_pooling_runs(minilm_dir: Path, tmp_path: Path) -> None:
    import torch

    folder = shutil.copytree(minilm_dir, tmp_path / "minilm-max")
    config = json.loads((folder / "1_Pooling" / "config.json").read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(config))
    modules = [m for m in json.loads((folder / "modules.json").read_text()) if "Normalize" not in m["type"]]
    (folder / "modules.json").write_text(json.dumps(modules))
    enc = load_encoder(folder, device="cpu", dtype="float32")
    texts = ["a long sentence about the delivery of goods", "short"]
    got = enc.encode(texts, sparse=False).dense
    ids = enc.tokenize(texts[1:])
    with torch.inference_mode():
        h = enc.model(input_ids=torch.tensor(ids)).last_hidden_state[0]
    assert np.abs(got[1] - h.max(dim=0).values.numpy()).max() < 1e-5
    assert abs(float(np.linalg.norm(got[1])) - 1.0) > 1e-3  # no Normalize module: not unit length
