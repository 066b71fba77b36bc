"""Chat: questions about a collection's contracts, answered with numbered, clickable sources."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field

import streamlit as st

from app_pages import components as ui
from app_pages import state
from rag.models import ModelLoadError
from rag.store import CollectionError


@dataclass
class Turn:
    """One question and its answer, as this session's chat history keeps it."""

    question: str
    collection: str
    answer: str = ""
    sources: list[ui.SourceRef] = field(default_factory=list)  # the numbered passages [n]
    error: str | None = None
    issues: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    backend: str = ""
    trace: ui.TraceView | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


def turns() -> list[Turn]:
    return st.session_state.setdefault("turns", [])


def history(past: list[Turn]) -> list[tuple[str, str]]:
    """(role, text) pairs for follow-up questions."""
    pairs: list[tuple[str, str]] = []
    for t in past:
        pairs += [("user", t.question), ("assistant", t.answer)]
    return pairs


def show_answer_footer(rt: state.Runtime, turn: Turn) -> None:
    """Errors and checks, the source chips, the opened source, the retrieval trace."""
    if turn.error:
        st.error(ui.md_escape(turn.error))
    for issue in turn.issues:
        st.warning(ui.md_escape(f"Citation check: {issue}"))
    for note in turn.notes:
        st.caption(ui.md_escape(note))
    cited = [s for s in turn.sources if s.cited]
    label = "Sources"
    if not cited and turn.sources:
        cited, label = turn.sources, "Retrieved passages (the answer cites none of them)"
    cited += [s for s in turn.sources if s.is_image and s not in cited]  # pictures found are always shown
    chips = f"chips-{turn.id}"
    if any(s.is_image for s in cited):
        with contextlib.suppress(CollectionError):  # a gone collection is reported below, on opening
            ui.image_thumbnails(state.collection(rt, turn.collection), cited, key=f"thumbs-{turn.id}",
                                on_open=lambda i: st.session_state.__setitem__(chips, i))
    picked = ui.source_chips(cited, key=chips, label=label)
    if picked is not None:
        try:
            col = state.collection(rt, turn.collection)
        except CollectionError as exc:  # the collection is gone or unusable: say so, keep the chat
            st.warning(ui.md_escape(f"Cannot open {picked.doc_name}: {exc}"))
        else:
            ui.show_source(col, picked, key=f"viewer-{turn.id}")
    if turn.trace is not None:
        ui.retrieval_trace(turn.trace, turn.question)


def show_turn(rt: state.Runtime, turn: Turn) -> None:
    with st.chat_message("user"):
        st.text(turn.question)
    with st.chat_message("assistant"):
        if turn.answer:
            st.markdown(ui.md_answer(turn.answer))
        show_answer_footer(rt, turn)


def ask(rt: state.Runtime, collection: str, question: str, documents: list[str]) -> None:
    """Retrieve, stream the answer, and keep the turn in this session's history."""
    from rag.answer import LLMError, answer, rewrite_question

    past = turns()
    turn = Turn(question=question, collection=collection)
    rt.engine.access.asked(collection, question)  # audited only with RAG_AUDIT_QUESTIONS=true
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        backend = state.llm_backend(rt)
        try:
            llm = state.llm(rt, backend)
        except LLMError as exc:
            turn.error = f"The {backend} answer backend is not usable: {exc} (change it on the Settings page)"
            past.append(turn)
            show_answer_footer(rt, turn)
            return
        with st.spinner("Searching the contracts…"):
            query = rewrite_question(question, history(past), llm)
            try:
                retrieval = state.retriever(rt, collection).search(
                    query, documents=documents or None, options=state.retrieval_options(rt))
            except KeyError as exc:  # a selected document was deleted meanwhile
                turn.error = f"{exc.args[0] if exc.args else exc}; choose the documents again."
                past.append(turn)
                show_answer_footer(rt, turn)
                return
        stream = answer(question, retrieval.hits, llm, history=history(past))
        st.write_stream(ui.escaped_stream(stream))
        result = stream.result
        turn.answer, turn.backend = result.text, result.backend
        turn.error, turn.notes = result.error, list(result.notes)
        turn.issues = [str(i) for i in result.issues]
        turn.sources = [ui.SourceRef.from_hit(collection, c.hit, n=c.n, cited=c.cited) for c in result.citations]
        numbers = {c.hit.chunk.id: c.n for c in result.citations}
        hits = [ui.SourceRef.from_hit(collection, h, n=numbers.get(h.chunk.id)) for h in retrieval.hits]
        turn.trace = ui.TraceView.from_retrieval(query, retrieval, hits)
        past.append(turn)
        show_answer_footer(rt, turn)


def find_like(rt: state.Runtime, collection: str, picture: bytes, words: str, documents: list[str]) -> None:
    """Image query ("find pages like this seal"): image items ranked by Visualized BGE."""
    try:
        retrieval = state.retriever(rt, collection).search_image(picture, words, documents=documents or None)
    except (ValueError, KeyError) as exc:  # not an image, or a selected document was deleted
        st.session_state["image-results"] = (collection, [], [f"{exc.args[0] if exc.args else exc}"])
        return
    refs = [ui.SourceRef.from_hit(collection, h) for h in retrieval.hits]
    st.session_state["image-results"] = (collection, refs, list(retrieval.trace.notes))
    st.session_state.pop("image-open", None)


def image_search(rt: state.Runtime, collection: str, documents: list[str]) -> None:
    """The "find pages like this" panel: a picture (and words), its matches as thumbnails, one opened."""
    with st.expander("Find pages like a picture", icon=":material/image_search:"):
        picture = st.file_uploader("A picture: a seal, a signature, a chart or a page (drop or browse)",
                                   type=["png", "jpg", "jpeg", "webp", "bmp", "gif"], key="image-query")
        words = st.text_input("With words (optional)", key="image-query-text")
        if st.button("Find pages like this", icon=":material/search:", disabled=picture is None):
            find_like(rt, collection, picture.getvalue(), words.strip(), documents)
        found_in, refs, notes = st.session_state.get("image-results", (collection, [], []))
        if found_in != collection:
            return
        for note in notes:
            st.caption(ui.md_escape(note))
        if refs:
            col = state.collection(rt, collection)
            ui.image_thumbnails(col, refs, key="image-results",
                                on_open=lambda i: st.session_state.__setitem__("image-open", i))
            opened = st.session_state.get("image-open")
            if opened is not None and opened < len(refs):
                ui.show_source(col, refs[opened], key="image-viewer")


rt = state.require_runtime()
name = state.collection_sidebar(rt)
st.title("Chat")
if name is None:
    st.info("There is no collection yet: upload your contracts (PDF, TXT or Markdown) or load the sample "
            "contracts on the Documents page, then ask here.")
    st.page_link("app_pages/documents.py", label="Upload contracts", icon=":material/upload_file:")
    st.stop()
try:
    with st.spinner("Opening the collection (loading its models the first time)…"):
        documents = [d.name for d in state.collection(rt, name).view().documents()]
except (CollectionError, ModelLoadError) as exc:  # another embedding model; a visual model that cannot load
    st.error(ui.md_escape(f"Collection {name} cannot be searched: {exc}"))
    st.stop()

with st.sidebar:
    chosen = st.multiselect("Only these documents (optional)", documents, key=f"scope-{name}",
                            placeholder="All documents")
    if st.button("New chat", icon=":material/add_comment:", width="stretch", disabled=not turns()):
        st.session_state["turns"] = []
        st.rerun()
    st.caption(f"Answers: {state.llm_backend(rt)} backend (Settings)")

if not documents:
    st.info(f"Collection {ui.md_escape(name)} has no documents yet: add some on the Documents page.")
    st.page_link("app_pages/documents.py", label="Go to Documents", icon=":material/folder_open:")
elif not turns():
    st.caption(ui.md_escape(f"Ask about the {len(documents)} document(s) in {name}. Answers cite their "
                            "sources as [n]; click a source to see it highlighted on its page."))

if documents and rt.settings.visual_model:  # issue 17: image queries need Visualized BGE
    image_search(rt, name, chosen)

for past_turn in turns():
    show_turn(rt, past_turn)

question = st.chat_input(f"Ask about the contracts in {name}", disabled=not documents)
if question and question.strip():
    ask(rt, name, question.strip(), chosen)
