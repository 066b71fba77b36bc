from pathlib import Path

import pytest

from rag.config import DEFAULT_EMBED_MODEL, Settings, load_settings, resolve_model


def test_defaults_without_environment():
    s = load_settings({})
    assert s.embed_model == DEFAULT_EMBED_MODEL
    assert s.rerank_model == "BAAI/bge-reranker-v2-m3" and s.reranking
    assert s.data_dir == Path("data/collections")
    assert s.device == "auto"
    assert s.resolved_llm_backend() == "extractive"


def test_environment_overrides_and_api_key_fallback():
    s = load_settings({"RAG_EMBED_MODEL": "/models/m3", "RAG_RERANK_MODEL": "none",
                       "RAG_DATA_DIR": "/tmp/cols", "RAG_LLM_BASE_URL": "http://127.0.0.1:8000/v1",
                       "OPENAI_API_KEY": "sk-test", "RAG_DEVICE": "cpu", "RAG_MAX_PAGES": "10"})
    assert s.embed_model == "/models/m3"
    assert s.rerank_model is None and not s.reranking
    assert s.data_dir == Path("/tmp/cols")
    assert s.llm_api_key == "sk-test"
    assert s.resolved_llm_backend() == "openai"
    assert s.max_pages == 10
    assert "sk-test" not in repr(s)


def test_rag_key_wins_over_openai_key():
    s = load_settings({"RAG_LLM_API_KEY": "mine", "OPENAI_API_KEY": "other"})
    assert s.llm_api_key == "mine"


def test_config_file_adds_and_environment_wins(tmp_path):
    cfg = tmp_path / "rag.toml"
    cfg.write_text('embed_model = "/from/file"\nllm_model = "qwen"\n')
    s = load_settings({"RAG_CONFIG": str(cfg), "RAG_LLM_MODEL": "llama"})
    assert s.embed_model == "/from/file" and s.llm_model == "llama"


def test_bad_values_fail_with_the_setting_named(tmp_path):
    with pytest.raises(ValueError, match="RAG_DEVICE"):
        load_settings({"RAG_DEVICE": "tpu"})
    cfg = tmp_path / "rag.toml"
    cfg.write_text('embed_modle = "typo"\n')
    with pytest.raises(ValueError, match="embed_modle"):
        load_settings({"RAG_CONFIG": str(cfg)})
    with pytest.raises(FileNotFoundError, match="RAG_CONFIG"):
        load_settings({"RAG_CONFIG": str(tmp_path / "missing.toml")})


def test_demo_model_resolves_to_the_shipped_minilm_folder(minilm_dir):
    assert Path(resolve_model("demo")) == minilm_dir
    assert resolve_model("BAAI/bge-m3") == "BAAI/bge-m3"
    assert isinstance(Settings(), Settings)


def test_visual_model_is_off_by_default_and_named_by_its_variable() -> None:
    from rag.config import load_settings

    assert load_settings({}).visual_model is None
    assert load_settings({"RAG_VISUAL_MODEL": "/models/Visualized_m3.pth"}).visual_model == "/models/Visualized_m3.pth"
    assert load_settings({"RAG_VISUAL_MODEL": "none"}).visual_model is None


def test_tokens_per_batch_reaches_both_models(tiny_m3_dir, tiny_reranker_dir, tmp_path):
    from dataclasses import replace

    from rag.engine import Engine

    assert load_settings({}).tokens_per_batch == 0  # the device's default (rag.models.batching)
    s = load_settings({"RAG_TOKENS_PER_BATCH": "2048", "RAG_DEVICE": "cpu"})
    engine = Engine(replace(s, embed_model=str(tiny_m3_dir), rerank_model=str(tiny_reranker_dir), data_dir=tmp_path))
    assert engine.encoder.tokens_per_batch == engine.reranker.tokens_per_batch == 2048
    default = Engine(replace(load_settings({}), embed_model=str(tiny_m3_dir), rerank_model=str(tiny_reranker_dir),
                             data_dir=tmp_path, device="cpu"))
    assert default.encoder.tokens_per_batch == default.reranker.tokens_per_batch == 4096  # narrow tiny models
    with pytest.raises(ValueError, match="RAG_TOKENS_PER_BATCH"):
        load_settings({"RAG_TOKENS_PER_BATCH": "-1"})
