"""Clause review: every contract of the collection against the same questions, side by side.

Rows are documents, columns are clause types (CUAD's 41, CC BY 4.0) or the user's own questions;
each cell is a short quote with its page and clause, or "not found". Click a cell (or pick it
below the grid) to open the highlighted page, as in chat. Cells are computed once and stored
(rag.review); the page only computes what is new, with a progress bar.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages import components as ui
from app_pages import state
from rag.review import ColumnError, ReviewStore, cuad_columns, custom_column, review, store_path
from rag.review.export import pages_text, write

#: the columns a first visit shows: what reviewers ask of almost every commercial contract
DEFAULT_COLUMNS = ("Governing Law", "Cap on Liability", "Change of Control", "Anti-Assignment",
                   "Termination for Convenience", "Renewal Term", "Insurance", "Non-Compete")
NOT_FOUND = "— not found"


def cell_label(cell: Any) -> str:
    """What a grid cell shows: page, clause and the start of the quote, or "not found"."""
    if not cell.found:
        return NOT_FOUND
    where = " ".join(p for p in (pages_text(cell.pages) if cell.pages else "", f"§{cell.clause}" if cell.clause else "") if p)
    return f"✓ {where} “{ui.short(cell.text, 90)}”".replace("  ", " ")


def grid_rows(grid: Any, doc_ids: list[int]) -> list[dict[str, str]]:
    names = dict(grid.documents)
    return [{"Document": names[d], **{c.name: cell_label(grid.cell(d, c.key)) for c in grid.columns}} for d in doc_ids]


def compute(retriever: Any, columns: list[Any], store: ReviewStore) -> Any:
    """The grid; a progress bar with an ETA while new cells are computed."""
    bar: list[Any] = []
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if total == 0:
            return
        if not bar:
            bar.append(st.progress(0.0, text=f"Reviewing: 0 of {total} cells"))
        eta = ""
        if done:
            left = (time.perf_counter() - started) / done * (total - done)
            eta = f" · about {left:.0f} s left"
        bar[0].progress(done / total, text=f"Reviewing: {done} of {total} cells{eta}")

    grid = review(retriever, columns, store=store, progress=progress)
    if bar:
        bar[0].empty()
    return grid


def export_bytes(grid: Any, suffix: str, view: Any) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write(grid, Path(tmp) / f"review{suffix}", view).read_bytes()


def open_cell(key: str) -> None:
    """A click in the grid picks that cell in the document and column selectors below it."""
    event = st.session_state.get(key)
    cells = event.selection.cells if event is not None else []
    rows = st.session_state.get(f"{key}-rows", [])
    if cells:
        row, column = cells[0]
        if 0 <= row < len(rows) and column != "Document":
            st.session_state[f"{key}-doc"] = rows[row]
            st.session_state[f"{key}-col"] = column


def add_column(name: str, store: ReviewStore, columns: dict[str, Any]) -> None:
    """The form's callback: store the new column and show it (before the widgets are drawn)."""
    question = st.session_state.get(f"review-new-question-{name}", "")
    label = st.session_state.get(f"review-new-name-{name}", "")
    try:
        new = custom_column(question, label or None)
    except ColumnError as exc:
        st.session_state[f"review-add-error-{name}"] = str(exc)
        return
    if new.name in columns and columns[new.name].kind == "cuad":
        st.session_state[f"review-add-error-{name}"] = f"{new.name} is already a column: pick it above."
        return
    store.add_custom_column(new)
    chosen = list(st.session_state.get(f"review-columns-{name}", []))
    if new.name not in chosen:
        st.session_state[f"review-columns-{name}"] = [*chosen, new.name]


def show_cell(col: Any, name: str, grid: Any, doc_id: int, column: Any, key: str) -> None:
    cell = grid.cell(doc_id, column.key)
    doc_name = dict(grid.documents)[doc_id]
    st.markdown(f"**{ui.md_escape(column.name)}** in **{ui.md_escape(doc_name)}**")
    st.caption(ui.md_escape(f"Question: {column.question}"))
    if not cell.found:
        st.info(f"Not found in this contract (probability {cell.score:.2f}). The closest passage, for checking:")
    else:
        st.success(f"Found (probability {cell.score:.2f})")
    if not cell.spans:
        st.caption("This document has no text to search.")
        return
    s, e = cell.spans[0]
    ref = ui.SourceRef(collection=name, doc_id=doc_id, doc_name=doc_name, start=s, end=e, pages=cell.pages,
                       clause=cell.clause, text=cell.text, cited=cell.found)
    st.text(cell.text if len(cell.text) <= 3000 else cell.text[:3000] + " …")
    ui.show_source(col, ref, key=f"{key}-viewer-{doc_id}-{column.key}")


rt = state.require_runtime()
name = state.page_collection(rt, "Clause review")
retriever, view, docs = state.page_documents(rt, name)
col = retriever.collection
store = ReviewStore(store_path(rt.engine.data_dir, name))

columns = {c.name: c for c in cuad_columns() + store.custom_columns()}
st.session_state.setdefault(f"review-columns-{name}", [c for c in DEFAULT_COLUMNS if c in columns] +
                            [c.name for c in store.custom_columns()])
picked = st.multiselect("Columns", list(columns), key=f"review-columns-{name}")
with st.expander("Add your own column", expanded=f"review-add-error-{name}" in st.session_state):
    with st.form(f"add-column-{name}", clear_on_submit=True, border=False):
        st.text_input("Question", placeholder="Which party pays for insurance?", key=f"review-new-question-{name}")
        st.text_input("Column name (optional)", placeholder="Insurance paid by", key=f"review-new-name-{name}")
        st.form_submit_button("Add column", on_click=add_column, args=(name, store, columns))
    problem = st.session_state.pop(f"review-add-error-{name}", None)
    if problem:
        st.error(ui.md_escape(problem))
st.caption("Clause types and their descriptions: CUAD, The Atticus Project, CC BY 4.0. A cell is the passage "
           "that best answers the column in that contract, with the model's probability that such a clause is there.")
if not picked:
    st.info("Pick at least one column.")
    st.stop()

grid = compute(retriever, [columns[n] for n in picked], store)

filter_col, filter_state = st.columns([2, 2])
with filter_col:
    by = st.selectbox("Filter by column", ["(no filter)"] + picked, key=f"review-filter-{name}")
with filter_state:
    want = st.segmented_control("Show contracts where it is", ["found", "not found"], default="not found",
                                key=f"review-filter-state-{name}", disabled=by == "(no filter)")
doc_ids = [d for d, _ in grid.documents]
if by != "(no filter)" and want:
    key_of = columns[by].key
    doc_ids = [d for d in doc_ids if grid.cell(d, key_of).found == (want == "found")]
    st.caption(ui.md_escape(f"{len(doc_ids)} of {len(grid.documents)} contract(s) where {by} is {want}."))

grid_key = f"review-grid-{name}"
st.session_state[f"{grid_key}-rows"] = doc_ids
st.dataframe(grid_rows(grid, doc_ids), key=grid_key, on_select=lambda: open_cell(grid_key),
             selection_mode="single-cell", hide_index=True, width="stretch",
             column_config={"Document": st.column_config.TextColumn(pinned=True, width="medium")})
found = sum(c.found for c in grid.cells.values())
st.caption(f"{len(grid.documents)} contract(s) × {len(grid.columns)} column(s): {found} cell(s) found · "
           f"{grid.computed} computed now · click a cell to open its page")

names = dict(grid.documents)
pick_doc, pick_col = st.columns(2)
with pick_doc:
    doc_id = st.selectbox("Document", list(names), format_func=lambda i: names[i], index=None,
                          placeholder="Click a cell, or choose", key=f"{grid_key}-doc")
with pick_col:
    column_name = st.selectbox("Column", picked, index=None, placeholder="Click a cell, or choose",
                               key=f"{grid_key}-col")
if doc_id is not None and column_name is not None and doc_id in names:
    with st.container(border=True):
        show_cell(col, name, grid, doc_id, columns[column_name], grid_key)

st.subheader("Export", anchor=False)
left, right = st.columns(2)
left.download_button("Download CSV", export_bytes(grid, ".csv", view), file_name=f"review-{name}.csv",
                     mime="text/csv", icon=":material/download:")
right.download_button("Download Excel (XLSX)", export_bytes(grid, ".xlsx", view), file_name=f"review-{name}.xlsx",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      icon=":material/download:")
