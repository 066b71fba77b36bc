"""``python -m rag.models.testing`` builds checkpoints in the real file layouts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

M3_FILES = {
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sparse_linear.pt",
    "colbert_linear.pt",
}


def _check_tokenizer(folder: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    assert type(tok).__name__ in {"XLMRobertaTokenizer", "XLMRobertaTokenizerFast"}
    assert (tok.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>"])) == [0, 1, 2, 3]
    assert tok.mask_token == "<mask>" and tok.mask_token_id == len(tok) - 1
    pieces = tok.convert_ids_to_tokens(tok("termination of the Agreement 合同")["input_ids"])
    assert "▁termination" in pieces and "▁Agreement" in pieces
    assert "<unk>" not in pieces


def test_tiny_m3_cli(tmp_path: Path, python_runner: Any) -> None:
    import torch

    proc = python_runner("-m", "rag.models.testing", "tiny-m3", str(tmp_path / "m3"))
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "m3"
    assert M3_FILES <= {p.name for p in folder.iterdir()}
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "xlm-roberta" and config["architectures"] == ["XLMRobertaModel"]
    assert config["max_position_embeddings"] >= 514
    hidden = config["hidden_size"]
    sparse = torch.load(folder / "sparse_linear.pt", weights_only=True)
    colbert = torch.load(folder / "colbert_linear.pt", weights_only=True)
    assert sparse["weight"].shape == (1, hidden) and colbert["weight"].shape == (hidden, hidden)
    _check_tokenizer(folder)


def test_tiny_reranker_cli(tmp_path: Path, python_runner: Any) -> None:
    proc = python_runner("-m", "rag.models.testing", "tiny-reranker", str(tmp_path / "rr"))
    assert proc.returncode == 0, proc.stderr
    config = json.loads((tmp_path / "rr" / "config.json").read_text())
    assert config["architectures"] == ["XLMRobertaForSequenceClassification"]
    assert len(config["id2label"]) == 1
    assert not (tmp_path / "rr" / "sparse_linear.pt").exists()
    _check_tokenizer(tmp_path / "rr")


def test_builds_are_reproducible(tmp_path: Path, tiny_m3_dir: Path) -> None:
    from rag.models.testing import build_tiny_m3

    again = build_tiny_m3(tmp_path / "again")
    other = build_tiny_m3(tmp_path / "other", seed=1)
    for name in ("tokenizer.json", "model.safetensors", "sparse_linear.pt"):
        assert (again / name).read_bytes() == (tiny_m3_dir / name).read_bytes(), name
    assert (other / "model.safetensors").read_bytes() != (again / "model.safetensors").read_bytes()


@pytest.mark.slow
def test_full_m3_has_bge_m3_shape(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The builder asks for BGE-M3's exact configuration with both head files (no 2.3 GB write here:
    the tiny CLI tests above write real folders through the same ``_build``, and the benchmarks
    build this one)."""
    from rag.models import testing

    calls, tokenizers = [], []
    monkeypatch.setattr(testing, "_build", lambda *a: calls.append(a) or a[0])
    monkeypatch.setattr(testing, "_full_tokenizer", lambda *a: tokenizers.append(a) or "xlmr-tokenizer")
    assert testing.main(["full-m3", str(tmp_path / "full")]) == 0
    (directory, seed, kind, shape, vocab, tokenizer), = calls
    # XLM-R's real tokenizer by default (fetched once; never in this test)
    assert tokenizer == "xlmr-tokenizer" and tokenizers == [("xlmr", None)]
    assert (directory, seed, kind, vocab) == (tmp_path / "full", 0, "m3", 250002)
    config = testing._xlmr_config(vocab, **shape)
    assert {k: getattr(config, k) for k in ("num_hidden_layers", "hidden_size", "num_attention_heads",
                                             "intermediate_size", "vocab_size", "max_position_embeddings")} == {
        "num_hidden_layers": 24,
        "hidden_size": 1024,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
        "vocab_size": 250002,
        "max_position_embeddings": 8194,
    }


def test_full_reranker_has_bge_reranker_v2_m3_shape(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The builder asks for XLM-R large with BGE-M3's positions and a one-label head (no 2.3 GB write here)."""
    from rag.models import testing

    calls, tokenizers = [], []
    monkeypatch.setattr(testing, "_build", lambda *a: calls.append(a) or a[0])
    monkeypatch.setattr(testing, "_full_tokenizer", lambda *a: tokenizers.append(a))
    gguf = tmp_path / "vocab.gguf"
    assert testing.main(["full-reranker", str(tmp_path / "rr"), "--tokenizer-gguf", str(gguf)]) == 0
    assert testing.main(["full-reranker", str(tmp_path / "rr"), "--tokenizer", "small"]) == 0
    assert tokenizers == [("xlmr", gguf), ("small", None)]
    (directory, seed, kind, shape, vocab, _), _ = calls
    assert kind == "reranker" and vocab == 250002 and seed == 0
    assert shape == testing.FULL_M3_SHAPE and shape["num_hidden_layers"] == 24 and shape["hidden_size"] == 1024
