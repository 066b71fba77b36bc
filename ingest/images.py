"""Image items of a PDF: embedded pictures (seals, signatures, charts, pasted tables) and image pages.

Each item has its page, its box in viewer space (PDF points from the crop box's displayed top-left
corner, ``/Rotate`` applied: the convention of the text line boxes in :mod:`ingest.extract`), the
picture as the page shows it (cropped from a pdfium render, so masks, overlaid text and
transformations are as a reader sees them), a thumbnail, and the text beside it: a caption just
above or below, or text printed over it; for a page item, the page's text (on a scanned page that
is the OCR text). Those texts come from the :class:`~rag.documents.Document` of the same file, with
their spans into its text, so an image hit can be cited like a text hit.

Which pictures become items:

* a page without a text layer that draws any image (a scan; its text, if any, came from OCR), or
  whose images cover at least ``page_coverage`` of it, becomes one ``"page"`` item, the rendered
  page (a scanned annex, a full-page drawing);
* on other pages, each drawn image (form XObjects followed) at least ``min_side`` points on both
  sides becomes an ``"image"`` item; overlapping or touching images merge into one (an image cut
  into strips, a picture and its frame);
* a picture repeated on ``repeat_pages`` or more pages (a letterhead logo) is dropped as decoration.

Vector drawings (paths) are not images here: a chart drawn with lines is found only when its page
qualifies as a page item. Needs pypdfium2 (the ``visual`` or ``ocr`` extra) and Pillow.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from ingest.errors import ExtractionError
from ingest.extract import page_to_view
from ingest.ocr import MAX_PIXELS
from rag.documents import Box, Document, TextLine

DEFAULT_DPI = 150
THUMBNAIL_PX = 256
MIN_SIDE_PT = 24.0
PAGE_COVERAGE = 0.5
REPEAT_PAGES = 3
CAPTION_GAP_PT = 30.0
CAPTION_LINES = 3
PAGE_TEXT_CHARS = 2000
#: More image objects than this on one page (a scan cut into tiles, a hostile file): one page item.
MAX_BOXES = 2000
_INSTALL = "install the 'visual' extra (pip install 'bge-contract-rag[visual]')"


@dataclass
class ImageItem:
    """One picture on a page, ready to embed with Visualized BGE.

    ``model.encode_composed([it.image ...], [it.text ...])`` embeds items; an empty ``text`` gives
    exactly the image-only embedding (the reference's image encoding is the composed one with "").
    """

    page: int  # 1-based
    kind: str  # "image" (a picture on the page) or "page" (the whole rendered page)
    x0: float
    top: float
    x1: float
    bottom: float
    image: Any  # PIL RGB image, as rendered at ``dpi``
    thumbnail: bytes  # PNG, longest side THUMBNAIL_PX at most
    text: str = ""  # caption / overlaid / OCR text, lines joined by newlines
    spans: list[tuple[int, int]] = field(default_factory=list)  # of ``text``'s lines in Document.text
    coverage: float = 0.0  # share of the page's area
    digest: str = ""  # of the downscaled grey pixels: equal for the same picture on other pages

    @property
    def box(self) -> Box:
        return Box(self.page, self.x0, self.top, self.x1, self.bottom)


def _pdfium() -> Any:
    try:
        import pypdfium2
    except ImportError as exc:
        raise ExtractionError("PDF images", f"pypdfium2 is not installed; {_INSTALL}") from exc
    return pypdfium2


def _view_mapping(page: Any) -> tuple[Any, float, float]:
    """``(points -> viewer points, width, height)`` from pdfium's crop box and rotation."""
    left, bottom, right, top = page.get_cropbox()
    shim = SimpleNamespace(cropbox=SimpleNamespace(left=left, right=right, bottom=bottom, top=top),
                           rotation=page.get_rotation())
    w, h = abs(right - left), abs(top - bottom)
    return page_to_view(shim), *((h, w) if shim.rotation % 180 == 90 else (w, h))


def _apply(m: tuple[float, ...], x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _image_boxes(page: Any, to_view: Any, width: float, height: float, raw: Any) -> list[tuple[float, ...]]:
    """Viewer-space boxes of all image objects, clipped to the page; forms' matrices applied."""
    boxes: list[tuple[float, ...]] = []

    def visit(form: Any, matrix: tuple[float, ...], depth: int) -> None:
        for obj in page.get_objects(form=form, max_depth=1):
            if obj.type == raw.FPDF_PAGEOBJ_FORM and depth < 8:
                m = obj.get_matrix()
                own = (m.a, m.b, m.c, m.d, m.e, m.f)
                # child coordinates -> form space (own matrix) -> enclosing space (matrix)
                visit(obj, (
                    own[0] * matrix[0] + own[1] * matrix[2], own[0] * matrix[1] + own[1] * matrix[3],
                    own[2] * matrix[0] + own[3] * matrix[2], own[2] * matrix[1] + own[3] * matrix[3],
                    own[4] * matrix[0] + own[5] * matrix[2] + matrix[4],
                    own[4] * matrix[1] + own[5] * matrix[3] + matrix[5]), depth + 1)
            elif obj.type == raw.FPDF_PAGEOBJ_IMAGE:
                left, bottom, right, top = obj.get_bounds()
                pts = [to_view(*_apply(matrix, x, y)) for x in (left, right) for y in (bottom, top)]
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                x0, x1 = max(min(xs), 0.0), min(max(xs), width)
                y0, y1 = max(min(ys), 0.0), min(max(ys), height)
                if x1 > x0 and y1 > y0:
                    boxes.append((x0, y0, x1, y1))

    visit(None, (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), 0)
    return boxes


def _merge(boxes: list[tuple[float, ...]], gap: float = 1.0) -> list[tuple[float, ...]]:
    """Union boxes that overlap or touch (within ``gap`` points), repeated until none do."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    while len(arr) > 1:
        x0, y0, x1, y1 = arr.T
        touch = ((x0[:, None] - gap <= x1[None, :]) & (x0[None, :] - gap <= x1[:, None])
                 & (y0[:, None] - gap <= y1[None, :]) & (y0[None, :] - gap <= y1[:, None]))
        n, labels = connected_components(csr_matrix(touch), directed=False)
        if n == len(arr):
            break
        arr = np.array([[*arr[labels == k, :2].min(axis=0), *arr[labels == k, 2:].max(axis=0)] for k in range(n)])
    return sorted((tuple(float(v) for v in b) for b in arr), key=lambda b: (b[1], b[0]))


def _coverage(boxes: list[tuple[float, ...]], width: float, height: float) -> float:
    """Share of the page that the boxes cover together, on a grid of at most 1000 cells a side."""
    import numpy as np

    step = max(width, height, 1.0) / 1000
    mask = np.zeros((int(height / step) + 1, int(width / step) + 1), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        mask[int(y0 / step):int(np.ceil(y1 / step)), int(x0 / step):int(np.ceil(x1 / step))] = True
    return float(mask[: max(int(height / step), 1), : max(int(width / step), 1)].mean())


def _digest(img: Any) -> str:
    small = img.convert("L").resize((16, 16))
    return hashlib.sha1(small.tobytes()).hexdigest()[:16]


def _thumbnail(img: Any) -> bytes:
    thumb = img.copy()
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buf = io.BytesIO()
    thumb.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _lines_by_page(document: Document | None) -> dict[int, list[TextLine]]:
    pages: dict[int, list[TextLine]] = {}
    for ln in document.lines if document is not None else ():
        pages.setdefault(ln.page, []).append(ln)
    return pages


def _nearby_lines(lines: list[TextLine], box: tuple[float, ...]) -> list[TextLine]:
    """Lines printed over the picture, then up to CAPTION_LINES just above and just below it."""
    x0, top, x1, bottom = box

    def overlaps(ln: TextLine) -> bool:
        shared = min(ln.x1, x1) - max(ln.x0, x0)
        return shared > 0.3 * min(ln.x1 - ln.x0, x1 - x0)

    inside = [ln for ln in lines if x0 <= (ln.x0 + ln.x1) / 2 <= x1 and top <= (ln.top + ln.bottom) / 2 <= bottom]
    below = sorted((ln for ln in lines if ln.top >= bottom - 1 and overlaps(ln)), key=lambda ln: ln.top)
    above = sorted((ln for ln in lines if ln.bottom <= top + 1 and overlaps(ln)), key=lambda ln: -ln.bottom)

    def run(candidates: list[TextLine], edge: float, down: bool) -> list[TextLine]:
        picked: list[TextLine] = []
        for ln in candidates:
            gap = (ln.top - edge) if down else (edge - ln.bottom)
            if gap > CAPTION_GAP_PT or len(picked) >= CAPTION_LINES:
                break
            picked.append(ln)
            edge = ln.bottom if down else ln.top
        return picked

    chosen = {id(ln): ln for ln in [*inside, *run(above, top, False), *run(below, bottom, True)]}
    return sorted(chosen.values(), key=lambda ln: ln.start)


def _text_of(document: Document | None, lines: list[TextLine], limit: int | None = None) -> tuple[str, list[tuple[int, int]]]:
    if document is None or not lines:
        return "", []
    parts, spans, size = [], [], 0
    for ln in lines:
        piece = document.text[ln.start:ln.end]
        if limit is not None and size + len(piece) > limit:
            break
        parts.append(piece)
        spans.append((ln.start, ln.end))
        size += len(piece) + 1
    return "\n".join(parts), spans


def extract_images(
    data: bytes,
    document: Document | None = None,
    *,
    name: str = "PDF",
    dpi: int = DEFAULT_DPI,
    min_side: float = MIN_SIDE_PT,
    page_coverage: float = PAGE_COVERAGE,
    repeat_pages: int | None = REPEAT_PAGES,
) -> list[ImageItem]:
    """The image items of a PDF, in page order (see the module docstring for the rules).

    ``document`` (from :func:`ingest.extract.extract_bytes` on the same bytes) supplies captions and
    OCR text; without it items have no text. ``repeat_pages=None`` keeps repeated pictures.
    """
    pdfium = _pdfium()
    import pypdfium2.raw as raw

    try:
        pdf = pdfium.PdfDocument(data)
    except Exception as exc:  # noqa: BLE001 - pdfium raises PdfiumError with a code
        raise ExtractionError(name, f"pdfium cannot open it ({exc})") from exc
    by_page = _lines_by_page(document)
    items: list[ImageItem] = []
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                items.extend(_page_items(page, index + 1, raw, by_page.get(index + 1, []), document,
                                         dpi=dpi, min_side=min_side, page_coverage=page_coverage))
            finally:
                page.close()
    finally:
        pdf.close()
    if repeat_pages:
        pages_of = Counter()
        for digest in {(it.digest, it.page) for it in items if it.kind == "image"}:
            pages_of[digest[0]] += 1
        items = [it for it in items if it.kind == "page" or pages_of[it.digest] < repeat_pages]
    return items


def _page_items(page: Any, number: int, raw: Any, lines: list[TextLine], document: Document | None, *,
                dpi: int, min_side: float, page_coverage: float) -> list[ImageItem]:
    to_view, width, height = _view_mapping(page)
    boxes = _image_boxes(page, to_view, width, height, raw)
    if not boxes:
        return []
    area = max(width * height, 1.0)
    textpage = page.get_textpage()
    try:
        has_text_layer = textpage.count_chars() > 0
    finally:
        textpage.close()
    covered = _coverage(boxes, width, height)
    whole_page = not has_text_layer or covered >= page_coverage or len(boxes) > MAX_BOXES
    regions = [(0.0, 0.0, width, height)] if whole_page else [
        b for b in _merge(boxes) if b[2] - b[0] >= min_side and b[3] - b[1] >= min_side]
    if not regions:
        return []
    scale = min(dpi / 72, (MAX_PIXELS / area) ** 0.5)  # a poster-sized page must not exhaust memory
    render = page.render(scale=scale).to_pil().convert("RGB")
    out = []
    for box in regions:
        crop = render if whole_page else render.crop(
            (int(box[0] * scale), int(box[1] * scale), max(int(box[0] * scale) + 1, round(box[2] * scale)),
             max(int(box[1] * scale) + 1, round(box[3] * scale))))
        near = sorted(lines, key=lambda ln: ln.start) if whole_page else _nearby_lines(lines, box)
        text, spans = _text_of(document, near, PAGE_TEXT_CHARS if whole_page else None)
        out.append(ImageItem(
            page=number, kind="page" if whole_page else "image",
            x0=round(box[0], 2), top=round(box[1], 2), x1=round(box[2], 2), bottom=round(box[3], 2),
            image=crop, thumbnail=_thumbnail(crop), text=text, spans=spans,
            coverage=round((box[2] - box[0]) * (box[3] - box[1]) / area, 4), digest=_digest(crop)))
    return out


# -- ingestion with a visual model (issue 17) ------------------------------------------------

#: the pictures a reader process sends back keep at most this shorter side: twice the 224 px the
#: Visualized BGE tower reads, so a page render (6 MB) crosses the pipe as about 0.6 MB
TRANSFER_SHORT_SIDE = 448


def items_for_ingest(data: bytes, document: Document, name: str) -> list[ImageItem]:
    """The image items of a PDF as a reader process sends them (pictures downscaled); none for
    text files. Runs in the disposable reader process, under its time and memory limits."""
    if document.media_type != "application/pdf":
        return []
    items = extract_images(data, document, name=name)
    for it in items:
        w, h = it.image.size
        if min(w, h) > TRANSFER_SHORT_SIDE:
            scale = TRANSFER_SHORT_SIDE / min(w, h)
            it.image = it.image.resize((max(1, round(w * scale)), max(1, round(h * scale))))
    return items


@dataclass
class EmbeddedImages:
    """A document's image items with their vectors, as a writer's ``add_images`` takes them."""

    items: list[ImageItem]
    vectors: Any  # [n, visual dim] float32
    text_vectors: Any  # [n, text encoder dim] float32
    model: str  # visual_model_key

    def rows(self) -> tuple[list[ImageItem], Any, Any, str]:
        return self.items, self.vectors, self.text_vectors, self.model


def embed_items(items: list[ImageItem], visual: Any, encoder: Any) -> EmbeddedImages:
    """Items with Visualized BGE's image+caption embedding, and the text encoder's dense vector of
    the caption / OCR text (zeros for an item without text)."""
    import numpy as np

    vectors = visual.encode_composed([it.image for it in items], [it.text for it in items])
    text_vectors = np.zeros((len(items), encoder.dim), np.float32)
    with_text = [i for i, it in enumerate(items) if it.text.strip()]
    if with_text:
        out = encoder.encode([items[i].text for i in with_text], dense=True, sparse=False, colbert=False)
        text_vectors[with_text] = np.asarray(out.dense, dtype=np.float32)
    from rag.retrieve.images import model_key

    return EmbeddedImages(items, vectors, text_vectors, model_key(visual))
