"""Documents: add contracts to a collection, see and delete them, create and switch collections."""

from __future__ import annotations

import streamlit as st

from app_pages import components as ui
from app_pages import state
from app_pages.access import own_name
from app_pages.sharing import sharing_section
from ingest.pipeline import Source
from rag.models import ModelLoadError
from rag.store import CollectionBusy, CollectionError


def remember_report(report: object, refused: list[str] | None = None) -> None:
    """Keep an ingest report (and the uploads refused before it) to show after the rerun that
    refreshes the lists."""
    st.session_state["last_report"] = (report, refused or [])


def show_change_error(exc: Exception) -> None:
    """Why a change to a collection did not happen, in plain words (busy: just try again; a store
    or model error: its own message, which names the file or setting)."""
    if isinstance(exc, CollectionBusy):
        st.error("Another session is changing this collection right now; try again in a moment.")
    else:
        st.error(ui.md_escape(str(exc)))


def show_last_report() -> None:
    report, refused = st.session_state.pop("last_report", (None, []))
    for problem in refused:
        st.error(ui.md_escape(problem))
    if report is not None:
        (st.error if report.failed else st.success)(ui.md_escape(report.summary()))
        ui.show_report(report)


def load_samples(rt: state.Runtime) -> None:
    """Ingest the sample contracts' PDFs into the samples collection and switch to it."""
    pdfs = sorted(state.SAMPLES_DIR.glob("*.pdf"))
    if not pdfs:
        st.error(f"No sample PDFs in {state.SAMPLES_DIR}: run `python scripts/render_samples.py`.")
        return
    try:
        report = ui.ingest_with_progress(rt.engine, [Source(p.name, path=p) for p in pdfs],
                                         own_name(rt, state.SAMPLES_COLLECTION))
    except (CollectionError, ModelLoadError) as exc:  # e.g. a visual model (RAG_VISUAL_MODEL) that cannot load
        show_change_error(exc)
        return
    state.set_collection(own_name(rt, state.SAMPLES_COLLECTION))
    remember_report(report)
    st.rerun()


def new_collection_form(rt: state.Runtime) -> None:
    with st.form("new-collection", clear_on_submit=True, border=False):
        new = st.text_input("New collection", placeholder="letters, digits, - _ . (up to 64)")
        if st.form_submit_button("Create collection") and new.strip():
            try:
                rt.engine.collection(new.strip(), create=True)
            except (CollectionError, ValueError) as exc:
                st.error(ui.md_escape(str(exc)))
                return
            state.set_collection(new.strip())
            st.rerun()


def rename_form(rt: state.Runtime, name: str) -> None:
    """Rename the current collection (e.g. the default one); everyone using this server sees the new name."""
    with st.form(f"rename-{name}", clear_on_submit=True, border=False):
        new = st.text_input("New name", placeholder="letters, digits, - _ . (up to 64)")
        if st.form_submit_button("Rename") and new.strip() and new.strip() != name:
            try:
                rt.engine.rename_collection(name, new.strip())
            except CollectionError as exc:
                show_change_error(exc)
                return
            state.set_collection(new.strip())
            st.rerun()


def upload_section(rt: state.Runtime, name: str) -> None:
    limit_mb = min(rt.settings.max_file_mb, float(st.get_option("server.maxUploadSize")))
    counter = st.session_state.setdefault("uploads", 0)
    # No type=: Streamlit then checks each name itself and raises, for every later run of this
    # session, on a name it refuses (a NUL byte, sent by a crafted request); upload_problem
    # refuses other types per file, in plain words.
    files = st.file_uploader(f"Add PDF, TXT or Markdown files (up to {limit_mb:g} MB each)",
                             accept_multiple_files=True, key=f"uploader-{counter}")
    if not files or not st.button(f"Add {len(files)} file(s) to {ui.md_escape(name)}", type="primary"):
        return
    sources, refused = [], []
    for f in files:
        label = ui.display_name(f.name)
        data = f.getvalue()
        problem = ui.upload_problem(label, data, int(limit_mb * 2**20))
        if problem:
            refused.append(problem)
        else:
            sources.append(Source.upload(label, data))
    for problem in refused:  # shown now, and again with the report after the refresh
        st.error(ui.md_escape(problem))
    if not sources:
        return
    try:
        report = ui.ingest_with_progress(rt.engine, sources, name)
    except (CollectionError, ModelLoadError) as exc:  # busy, or a model (e.g. RAG_VISUAL_MODEL) that cannot load
        show_change_error(exc)
        return
    st.session_state["uploads"] = counter + 1  # a fresh, empty uploader
    state.set_collection(name)  # the first upload created it: switch to it
    remember_report(report, refused)
    st.rerun()


def document_list(rt: state.Runtime, name: str) -> None:
    col = state.collection(rt, name)
    view = col.view()
    docs = view.documents()
    stats = view.stats()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Documents", stats["documents"])
    c2.metric("Pages", sum(d.pages for d in docs))
    c3.metric("Chunks", stats["chunks"])
    c4.metric("On disk", f"{stats['bytes']['total'] / 2**20:.1f} MB")
    st.caption(ui.md_escape(f"Embedded with {col.info.describe()}"))
    if not docs:
        st.info("This collection is empty: add files above.")
        return
    st.dataframe([{"document": d.name, "pages": d.pages or None, "chunks": d.chunks, "language": d.language,
                   "added (UTC)": d.added_at[:16].replace("T", " "), "size (KB)": round(d.size_bytes / 1024, 1)}
                  for d in docs], hide_index=True, width="stretch")
    if not rt.engine.access.may(name, "edit"):
        return
    with st.expander("Delete documents"):
        by_name = {f"{d.name} (#{d.id})": d.id for d in docs}
        doomed = st.multiselect("Documents to delete", list(by_name), key=f"delete-{name}")
        if st.button("Delete", disabled=not doomed, type="secondary"):
            try:
                rt.engine.delete_documents(name, [by_name[label] for label in doomed])
            except CollectionError as exc:  # busy, or deleted by another session meanwhile
                show_change_error(exc)
                return
            st.session_state["deleted"] = len(doomed)
            st.rerun()
    with st.expander("Storage details"):
        st.json(stats)


rt = state.require_runtime()
name = state.collection_sidebar(rt)
st.title("Documents")
show_last_report()
if "deleted" in st.session_state:
    st.success(f"Deleted {st.session_state.pop('deleted')} document(s).")

if name is None:
    st.info("There is no collection yet. Add your own contracts below (they go into a collection named "
            f"{own_name(rt, state.DEFAULT_COLLECTION)}), or load the three sample contracts (an NDA, a services "
            "agreement and a Chinese contract) to try the app now.")
    upload_section(rt, own_name(rt, state.DEFAULT_COLLECTION))
    if st.button("Load the sample contracts", icon=":material/download:"):
        load_samples(rt)
    with st.expander("Or create a collection with a name of your own"):
        new_collection_form(rt)
    st.stop()

st.subheader(f"Collection: {ui.md_escape(name)}", anchor=False)
st.caption("Switch collections in the sidebar. " + (
    "Each collection is shared with the members its owners name (Sharing, below)." if rt.settings.mode == "team"
    else "Collections are shared by everyone using this server."))
try:
    if rt.engine.access.may(name, "edit"):
        upload_section(rt, name)
    document_list(rt, name)
    sharing_section(rt, name)
except CollectionError as exc:  # e.g. built with another embedding model
    st.error(ui.md_escape(f"Collection {name} cannot be used with the model loaded now: {exc}"))
if rt.engine.access.may(name, "rename"):
    with st.expander("Rename this collection"):
        rename_form(rt, name)
with st.expander("Other collections"):
    new_collection_form(rt)
    if own_name(rt, state.SAMPLES_COLLECTION) not in state.collection_names(rt) and st.button(
            "Load the sample contracts", icon=":material/download:"):
        load_samples(rt)
