"""Pieces several pages show: source chips, the highlighted source viewer, the retrieval trace,
ingestion progress.

Document text is always shown as text: through ``st.text``/``st.code``, or through
:func:`md_escape` where it must sit inside Markdown (a highlight, a label), never as HTML.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import streamlit as st

#: the colour of highlights in the PDF viewer (outline) and in text (background)
HIGHLIGHT = "#f08c00"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=^\"'])")
#: GFM turns bare URLs ("http://…", "www.…", "mailto:…") and e-mail addresses into links after
#: escapes are undone ("autolink literals"); an invisible word joiner after the scheme, after
#: "www" or after the "@" keeps them text
_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?:(?<=\bhttp)|(?<=\bhttps)|(?<=\bmailto)|(?<=\bxmpp))(?=:)|(?<=\bwww)(?=\.)|(?<=@)(?=\w)")


# -- text safety -------------------------------------------------------------------------------

def md_escape(text: str) -> str:
    """``text`` as literal Markdown: every character Markdown or Streamlit could read as syntax
    (emphasis, links, HTML, ``:color[...]`` directives, ``$`` maths) is backslash-escaped, and
    bare URLs and e-mail addresses are kept from becoming links."""
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK.sub(_JOINER, text))


def _escape_next(before: str, ch: str) -> str:
    """``ch`` escaped, as :func:`md_escape` escapes it after the raw text ``before``."""
    joiner = _JOINER if _AUTOLINK.match(before + ch, len(before)) else ""
    return joiner + _MD_SPECIAL.sub(r"\\\1", ch)


def md_lines(text: str) -> str:
    """``text`` as literal Markdown that keeps its line breaks (each line escaped)."""
    lines = [md_escape(line.strip()) for line in text.split("\n")]
    out = "  \n".join(line if line else "\u200b" for line in lines)
    return out


#: Markdown that structures an answer and cannot carry anything hostile: block quotes, list items
_LINE_HEAD = re.compile(r"[ \t]{0,3}(?:(?:>[ \t]?)+|[-*+][ \t]|\d{1,3}[.)][ \t])")
_HEAD_MAX = 12  # characters a line may need before its head can be told


def escaped_stream(pieces: Iterable[str]) -> Iterator[str]:
    """Answer text pieces as Markdown safe to render (``st.write_stream``).

    Answers quote document text, so everything inline is escaped (no links, images, HTML,
    directives or maths); only a line's leading block-quote or list marker is kept, so the
    quotes and lists an answer is laid out with still render as such.
    """
    head = ""  # the start of the current line, held until its marker can be told
    deciding = True
    recent = ""  # the raw text just before the current character (URLs, see _AUTOLINK)
    for piece in pieces:
        out: list[str] = []
        for ch in piece:
            if ch == "\n":
                if deciding and head:
                    out.append(_split_head(head))
                head, deciding = "", True
                out.append("\n")
            elif deciding:
                head += ch
                if len(head) >= _HEAD_MAX:
                    out.append(_split_head(head))
                    head, deciding = "", False
            else:
                out.append(_escape_next(recent, ch))
            recent = (recent + ch)[-8:]
        if out:
            yield "".join(out)
    if deciding and head:
        yield _split_head(head)


def _split_head(line_start: str) -> str:
    m = _LINE_HEAD.match(line_start)
    cut = m.end() if m else 0
    return line_start[:cut] + md_escape(line_start[cut:])


def md_answer(text: str) -> str:
    """A finished answer as safe Markdown (the same rules as :func:`escaped_stream`)."""
    return "".join(escaped_stream([text]))


def display_name(uploaded_name: str) -> str:
    """The name an upload is shown and stored under: its last path part, printable, at most 200
    characters. Only ever a label: uploads are read from memory, never from this name."""
    base = PurePosixPath(uploaded_name.replace("\\", "/")).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[-200:] or "upload"


# -- sources -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceRef:
    """A passage to show and highlight: a cited source, a search hit or a clause.

    ``start``/``end``/``text`` are the span retrieval ranked (a sentence or sub-clause: what is
    cited and outlined); ``context_start``/``context_end`` the clause chunk around it.
    """

    collection: str
    doc_id: int
    doc_name: str
    start: int
    end: int
    pages: tuple[int, int] | None
    clause: str | None
    text: str
    n: int | None = None  # the [n] of a cited source
    heading: str = ""
    cited: bool = True
    scores: dict[str, float] = field(default_factory=dict)
    via: str = "search"
    context_start: int | None = None  # the enclosing clause chunk (None: same as the span)
    context_end: int | None = None
    #: an image hit (issue 17): its item number, kind and box (page, x0, top, x1, bottom)
    image_idx: int | None = None
    image_kind: str = ""
    image_box: tuple[int, float, float, float, float] | None = None

    @classmethod
    def from_hit(cls, collection: str, hit: Any, n: int | None = None, cited: bool = True) -> SourceRef:
        ch = hit.chunk
        image = getattr(hit, "image", None)
        box = None if image is None else (image.box.page, image.box.x0, image.box.top, image.box.x1, image.box.bottom)
        return cls(collection=collection, doc_id=ch.doc_id, doc_name=ch.doc_name, start=hit.start,
                   end=hit.end, pages=hit.pages, clause=hit.clause, text=hit.text, n=n,
                   heading=" > ".join(ch.heading_path), cited=cited, scores=dict(hit.scores),
                   via=hit.via, context_start=ch.start, context_end=ch.end,
                   image_idx=None if image is None else image.idx,
                   image_kind="" if image is None else image.kind, image_box=box)

    @property
    def is_image(self) -> bool:
        return self.image_box is not None

    @property
    def is_span(self) -> bool:
        """Whether the ref is a part of a larger clause chunk."""
        return self.context_start is not None and (self.context_start, self.context_end) != (self.start, self.end)


def pages_label(pages: tuple[int, int] | None) -> str:
    if not pages:
        return ""
    first, last = pages
    return f"p.{first}" if first == last else f"pp.{first}-{last}"


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chip_label(ref: SourceRef, sentence: int = 60) -> str:
    """``[n] document p.X §clause “the sentence…”`` (plain text; escape it before Markdown)."""
    parts = [f"[{ref.n}]" if ref.n is not None else "", short(ref.doc_name, 48), pages_label(ref.pages),
             f"§{ref.clause}" if ref.clause else ""]
    if ref.is_image:
        parts.insert(1, "page image" if ref.image_kind == "page" else "picture")
    if sentence and ref.is_span and not ref.is_image:
        parts.append(f"“{short(' '.join(ref.text.split()), sentence)}”")
    return " ".join(p for p in parts if p)


def source_chips(refs: Sequence[SourceRef], key: str, label: str = "Sources") -> SourceRef | None:
    """The sources as clickable chips; the one clicked (or ``None``)."""
    if not refs:
        return None
    picked = st.pills(label, list(range(len(refs))), format_func=lambda i: md_escape(chip_label(refs[i])),
                      selection_mode="single", key=key, wrap=True)
    return refs[picked] if picked is not None else None


def show_source(collection: Any, ref: SourceRef, key: str) -> None:
    """The cited page of a PDF with the span outlined, or a text document with the span highlighted."""
    from rag.store import CollectionError

    view = collection.view()
    try:
        document = view.document(ref.doc_id)
    except CollectionError:
        st.warning(md_escape(f"{ref.doc_name} is no longer in the collection (it was deleted or replaced)."))
        return
    title = " · ".join(p for p in (chip_label(ref, sentence=0), short(ref.heading, 80)) if p)
    st.caption(md_escape(title))
    data = view.source(ref.doc_id) if document.media_type == "application/pdf" else None
    if data and document.page_count:
        _pdf_page(data, document, ref, key)
    elif ref.is_image and (thumb := view.image_thumbnail(ref.doc_id, ref.image_idx)):
        st.image(thumb, caption=f"Picture on page {ref.image_box[0]}")
    else:
        _text_span(document.text, ref.start, ref.end)


def highlight_boxes(document: Any, ref: SourceRef, first: int, last: int) -> list[Any]:
    """The boxes outlining the ref's span (its lines only, not its whole clause) on pages
    ``first``..``last``."""
    if ref.is_image:  # the picture's own box (issue 17)
        from rag.documents import Box

        return [Box(*ref.image_box)]
    return [b for b in document.boxes_of(ref.start, ref.end) if first <= b.page <= last]


def _pdf_page(data: bytes, document: Any, ref: SourceRef, key: str) -> None:
    from streamlit_pdf_viewer import pdf_viewer

    pages = ((ref.image_box[0],) * 2 if ref.is_image else None) or document.pages_of(ref.start, ref.end) \
        or ref.pages or (1, 1)
    first, last = pages[0], min(pages[1], pages[0] + 2)  # a span rarely runs over 3 pages
    boxes = highlight_boxes(document, ref, first, last)
    pad = 1.5
    annotations = [{"page": b.page, "x": b.x0 - pad, "y": b.top - pad, "width": b.x1 - b.x0 + 2 * pad,
                    "height": b.bottom - b.top + 2 * pad, "color": HIGHLIGHT} for b in boxes]
    st.caption(f"Page {first}" + (f"–{last}" if last > first else "") + f" of {document.page_count}")
    pdf_viewer(data, annotations=annotations, pages_to_render=list(range(first, last + 1)),
               annotation_outline_size=2, scroll_to_annotation=1 if annotations else None,
               height=720, key=key)
    if not annotations:
        st.caption("No position information for this passage; its text:")
        st.text(document.text[ref.start: ref.end])


def _text_span(text: str, start: int, end: int, context: int = 200) -> None:
    """The span with some text around it, highlighted, as escaped Markdown."""
    before_at = max(0, text.rfind("\n", 0, max(0, start - context)) + 1)
    after_at = text.find("\n", min(len(text), end + context))
    after_at = len(text) if after_at < 0 else after_at
    before, span, after = text[before_at:start], text[start:end], text[end:after_at]
    highlighted = "  \n".join(f":orange-background[{md_escape(line)}]" if line.strip() else "\u200b"
                              for line in span.split("\n"))
    body = "".join([("…" if before_at > 0 else "") + md_lines(before), highlighted, md_lines(after),
                    "…" if after_at < len(text) else ""])
    with st.container(border=True, height=460):
        st.markdown(body)


# -- image hits (issue 17) ---------------------------------------------------------------------

def image_thumbnails(collection: Any, refs: Sequence[SourceRef], on_open: Any, key: str) -> None:
    """A row of thumbnails of image hits, each with a button that opens its page (``on_open(i)``,
    ``i`` the ref's index in ``refs``); refs that are not image hits are skipped."""
    shown = [(i, r) for i, r in enumerate(refs) if r.is_image]
    if not shown:
        return
    view = collection.view()
    columns = st.columns(min(len(shown), 4))
    for slot, (i, ref) in enumerate(shown[:8]):
        with columns[slot % len(columns)]:
            thumb = view.image_thumbnail(ref.doc_id, ref.image_idx)
            if thumb:
                st.image(thumb, width=160)
            st.caption(md_escape(chip_label(ref, sentence=0)))
            st.button("Open page", key=f"{key}-{i}", icon=":material/open_in_new:", on_click=on_open, args=(i,))


# -- retrieval trace -----------------------------------------------------------------------

STAGES = ("dense", "sparse", "fused", "colbert", "span_dense", "span_sparse", "span", "rerank", "lookup", "fact")
#: scores of image hits (rag.retrieve.images), shown only when a trace has image hits
IMAGE_STAGES = ("visual", "caption", "same_page", "image", "image_query")


def hit_rows(refs: Sequence[SourceRef]) -> list[dict[str, Any]]:
    """One table row per hit: the span and the clause chunk around it, and every stage's score
    (blank where a stage did not run)."""
    rows = []
    stages = STAGES + (IMAGE_STAGES if any(r.is_image for r in refs) else ())
    for rank, ref in enumerate(refs, 1):
        chunk = (ref.context_start, ref.context_end) if ref.context_start is not None else (ref.start, ref.end)
        row: dict[str, Any] = {"rank": rank, "source": f"[{ref.n}]" if ref.n else "",
                               "document": ref.doc_name, "clause": ref.clause or "",
                               "pages": pages_label(ref.pages), "via": ref.via,
                               "span": short(" ".join(ref.text.split()), 120),
                               "chars": f"{ref.start}-{ref.end}",
                               "clause chunk": f"{chunk[0]}-{chunk[1]}" + (" (whole)" if not ref.is_span else "")}
        for stage in stages:
            value = ref.scores.get(stage)
            row[stage] = None if value is None else round(value, 4)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class TraceView:
    """What the trace expander shows, kept with a chat turn."""

    query: str  # the query retrieval ran (the rewritten follow-up, if any)
    timings: dict[str, float]
    notes: tuple[str, ...]
    scoped_docs: tuple[str, ...]
    hits: tuple[SourceRef, ...]

    @classmethod
    def from_retrieval(cls, query: str, retrieval: Any, hits: Sequence[SourceRef]) -> TraceView:
        t = retrieval.trace
        return cls(query, dict(t.timings), tuple(t.notes), tuple(t.scoped_docs), tuple(hits))


def retrieval_trace(trace: TraceView, question: str) -> None:
    """An expander with the query, scoping notes, each hit's per-stage scores and stage timings."""
    total = sum(trace.timings.values())
    with st.expander(f"Retrieval trace · {len(trace.hits)} hits · {total * 1000:.0f} ms"):
        if trace.query != question:
            st.caption("Searched for (follow-up rewritten to stand alone):")
            st.text(trace.query)
        for note in trace.notes:
            st.caption(md_escape(note))
        if trace.hits:
            st.dataframe(hit_rows(trace.hits), hide_index=True, width="stretch")
        else:
            st.caption("No passages were found.")
        if trace.timings:
            st.dataframe([{"stage": k, "ms": round(v * 1000, 1)} for k, v in trace.timings.items()],
                         hide_index=True)


# -- ingestion -----------------------------------------------------------------------------

_STATUS_ICON = {"added": ":material/check_circle:", "replaced": ":material/sync:", "duplicate": ":material/remove:",
                "failed": ":material/error:"}


def time_left(elapsed_s: float, done: int, total: int) -> str:
    """", about N s left" from the rate so far (longest passages go first, so it errs long)."""
    if done <= 0 or done >= total or elapsed_s <= 0:
        return ""
    left = elapsed_s / done * (total - done)
    return f", about {left / 60:.0f} min left" if left >= 90 else f", about {max(left, 1):.0f} s left"


def ingest_with_progress(engine: Any, sources: list[Any], collection: str) -> Any:
    """Run ``engine.ingest`` inside ``st.status``: a bar for the files, one per file for its
    embedding batches (the chunks, then, once the file is searchable, its sentence units: the
    longer pass with BGE-M3 on a CPU); then one line per file, errors in plain words. Returns the report."""
    n = len(sources)
    with st.status(f"Adding {n} file(s) to {md_escape(collection)}…", expanded=True) as status:
        st.caption("Stay on this page until it finishes: leaving stops after the file in hand.")
        overall = st.progress(0.0, text=f"0 of {n} files")
        bars: list[Any] = []  # one per file, advanced by its embedding batches
        started = [time.monotonic()]  # when the current file began (reading counts: the time left errs long)
        names: list[str] = []

        def on_file(i: int, total: int, name: str) -> None:
            started[:] = [time.monotonic()]
            overall.progress(i / max(total, 1), text=f"File {i + 1} of {total}")
            if bars:
                bars[-1].progress(1.0)
            names.append(md_escape(short(name, 80)))
            bars.append(st.progress(0.0, text=f"{names[-1]}: reading"))

        def advance(what: str, done: int, total: int) -> None:
            if bars:
                bars[-1].progress(min(done / max(total, 1), 1.0),
                                  text=f"{names[-1]}: {what}"
                                       f"{time_left(time.monotonic() - started[0], done, total)}")

        def on_batch(done: int, total: int) -> None:
            advance(f"embedded {done} of {total} passages", done, total)
            if done >= total:
                started[:] = [time.monotonic()]  # the sentence units come next (on_units)

        def on_units(name: str, done: int, total: int) -> None:
            # after the file's commit its bar restarts for the sentence units, timed from the chunks' end
            advance(f"searchable; embedded {done} of {total} sentences for precise citations", done, total)

        report = engine.ingest(sources, collection, on_file=on_file, on_batch=on_batch, on_units=on_units)
        if bars:
            bars[-1].progress(1.0)
        overall.progress(1.0, text=f"{n} of {n} files")
        status.update(label=md_escape(report.summary()), state="error" if report.failed else "complete",
                      expanded=bool(report.failed))
    return report


def show_report(report: Any) -> None:
    """One line per ingested file; failures and warnings in plain words."""
    for f in report.files:
        if f.status == "failed":
            st.error(md_escape(f.error or f"{f.name}: could not be added"))
            continue
        if f.status == "duplicate":
            line = f"{f.name}: already in the collection (same content), skipped"
        else:
            pictures = f", {f.images} picture(s)" if f.images else ""
            line = f"{f.name}: {f.status}, {f.pages} page(s), {f.chunks} chunk(s){pictures}, {f.seconds:.1f} s"
        st.caption(f"{_STATUS_ICON.get(f.status, '')} {md_escape(line)}")
        for w in f.warnings:
            st.warning(md_escape(f"{f.name}: {w}"))


def upload_problem(name: str, data: bytes, max_bytes: int) -> str | None:
    """Why an upload is refused before ingestion (``None`` when it may go ahead)."""
    from ingest.extract import PDF_MAGIC
    from ingest.pipeline import SUPPORTED_SUFFIXES

    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return f"{name}: not a document this app reads (PDF, TXT or Markdown files only)"
    if len(data) > max_bytes:
        return (f"{name}: {len(data) / 2**20:.1f} MB is over the upload limit of "
                f"{max_bytes / 2**20:.0f} MB per file")
    if not data:
        return f"{name}: the file is empty"
    if suffix == ".pdf" and PDF_MAGIC not in data[:1024]:
        return f"{name}: not a PDF (the file does not start like one)"
    return None
