"""A whole PDF into a :class:`Document`: opening (damage, encryption), every page, OCR of
pages without a text layer, and the document's page spans and line boxes.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ingest.errors import ExtractionError, OcrUnavailableError
from ingest.limits import short_reason as _short
from ingest.pdf_geometry import _font_metrics, _FontMetrics
from ingest.pdf_page import PageText, _page_resources, read_pdf_page
from ingest.canonical import detect_language
from rag.documents import PAGE_SEPARATOR, Document, TextLine

def _open_pdf(data: bytes, name: str) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, EmptyFileError

    # Readers accept a file whose %%EOF lies within its last KiB (Adobe's rule); without it
    # the file was cut short and pypdf's recovery would silently drop what is missing.
    if b"%%EOF" not in data[-1024:]:
        raise ExtractionError(name, "PDF is truncated (no %%EOF marker at its end); the file is incomplete")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except DependencyError as exc:
        raise ExtractionError(name, _crypto_missing(exc)) from exc
    except EmptyFileError as exc:
        raise ExtractionError(name, "file is empty") from exc
    except Exception as exc:  # pypdf raises many types on damaged input; all mean the same here
        raise ExtractionError(name, f"PDF is damaged and cannot be read ({_short(exc)})") from exc
    if encrypted:
        try:
            ok = reader.decrypt("")  # many PDFs only restrict printing: empty user password
        except DependencyError as exc:
            raise ExtractionError(name, _crypto_missing(exc)) from exc
        except Exception as exc:
            raise ExtractionError(name, f"file is encrypted and cannot be decrypted ({_short(exc)})") from exc
        if not ok:
            raise ExtractionError(name, "file is encrypted and needs a password")
    return reader


def _crypto_missing(exc: BaseException) -> str:
    return ("file is encrypted with AES; reading it needs the 'cryptography' package "
            f"(pip install cryptography) [{_short(exc)}]")


def _has_images(page: Any) -> bool:
    """Whether a page draws any image (direct, in a form, or inline): worth OCR if textless."""
    try:
        res = _page_resources(page)
        stack, seen = [res], set()
        while stack:
            r = stack.pop()
            xobjs = r.get("/XObject") if hasattr(r, "get") else None
            if xobjs is None:
                continue
            for ref in xobjs.get_object().values():
                x = ref.get_object()
                if x.get("/Subtype") == "/Image":
                    return True
                sub = x.get("/Resources")
                if sub is not None and id(sub.get_object()) not in seen:
                    seen.add(id(sub.get_object()))
                    stack.append(sub.get_object())
        contents = page.get_contents()
        return contents is not None and re.search(rb"(?<![^\s])BI(?=\s)", contents.get_data()) is not None
    except Exception:  # noqa: BLE001
        return False


def extract_pdf(data: bytes, name: str, max_pages: int, ocr: bool | str) -> Document:
    reader = _open_pdf(data, name)
    try:
        n = len(reader.pages)
    except Exception as exc:  # a broken page tree
        raise ExtractionError(name, f"PDF is damaged: its page tree cannot be read ({_short(exc)})") from exc
    if n == 0:
        raise ExtractionError(name, "PDF has no pages")
    if n > max_pages:
        raise ExtractionError(name, f"PDF has {n} pages; the limit is {max_pages}")
    declared = _declared_page_count(reader)

    cache: dict[int, tuple[Any, _FontMetrics]] = {}

    def metrics(font: Any) -> _FontMetrics:
        hit = cache.get(id(font))
        if hit is None:
            hit = cache[id(font)] = (font, _font_metrics(font))  # holds font: the id stays valid
        return hit[1]

    pages: list[PageText | None] = []
    warnings: list[str] = []
    if declared is not None and declared > n:
        # a damaged page-tree entry: pypdf skips that page, so nothing else would say it is gone
        warnings.append(f"the file says it has {declared} pages but only {n} could be found; "
                        f"{declared - n} page(s) are missing from the text")
    failures: list[str] = []
    needs_ocr: list[int] = []
    for i in range(n):
        try:
            page = reader.pages[i]
            pt = read_pdf_page(page, i + 1, metrics)
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the others
            failures.append(_short(exc))
            warnings.append(f"page {i + 1} could not be read and was skipped ({_short(exc)})")
            pages.append(None)
            continue
        if not pt.text.strip() and _has_images(page):
            needs_ocr.append(i)
        pages.append(pt)
    if len(failures) == n:
        raise ExtractionError(name, f"no page of the PDF could be read ({failures[0]})")

    if needs_ocr:
        _ocr_pages(data, name, pages, needs_ocr, n, ocr, warnings)

    texts = [p.text if p else "" for p in pages]
    if not any(t.strip() for t in texts):
        raise ExtractionError(name, "PDF contains no text (its pages are blank or images that OCR found no text in)")
    doc_text = PAGE_SEPARATOR.join(texts)
    page_spans: list[tuple[int, int]] = []
    lines: list[TextLine] = []
    pos = 0
    for p, t in zip(pages, texts, strict=True):
        page_spans.append((pos, pos + len(t)))
        if p:
            lines.extend(
                TextLine(ln.start + pos, ln.end + pos, ln.page, ln.x0, ln.top, ln.x1, ln.bottom) for ln in p.lines
            )
        pos += len(t) + len(PAGE_SEPARATOR)
    return Document(
        name=name,
        text=doc_text,
        page_spans=page_spans,
        lines=lines,
        media_type="application/pdf",
        language=detect_language(doc_text),
        warnings=warnings,
    )


def _declared_page_count(reader: Any) -> int | None:
    """The page count the file's page tree claims (``/Count``), or None where it cannot be read."""
    try:
        count = reader.trailer["/Root"]["/Pages"].get("/Count")
        count = int(count.get_object() if hasattr(count, "get_object") else count)
    except Exception:  # noqa: BLE001 - a damaged root only means there is nothing to compare with
        return None
    return count if count > 0 else None


def _ocr_pages(
    data: bytes, name: str, pages: list[PageText | None], todo: list[int], n: int, ocr: bool | str,
    warnings: list[str],
) -> None:
    """OCR the textless pages in place, or explain why they stay empty (or fail the file)."""
    from ingest import ocr as ocr_mod

    all_textless = len(todo) == n
    listed = _page_list(todo)
    if ocr is False:
        if all_textless:
            raise ExtractionError(name, "PDF has no text layer (a scan?) and OCR is turned off")
        warnings.append(f"{listed}: no text layer, left empty (OCR is turned off)")
        return
    engine_name = ocr if isinstance(ocr, str) and ocr != "auto" else None
    try:
        engine = ocr_mod.get_engine(engine_name)
    except OcrUnavailableError as exc:
        if ocr == "auto" and not all_textless:
            warnings.append(f"{listed}: no text layer, left empty ({exc.reason})")
            return
        what = "PDF has no text layer (a scan?)" if all_textless else f"{listed}: no text layer"
        raise OcrUnavailableError(name, f"{what} and OCR is not available: {exc.reason}") from exc
    try:
        done, failed = ocr_mod.ocr_pdf_pages(data, todo, engine)
    except Exception as exc:  # pdfium cannot open what pypdf could
        raise ExtractionError(name, f"OCR could not render the PDF ({_short(exc)})") from exc
    for i, page in done.items():
        pages[i] = PageText(page.text, [
            TextLine(s, e, i + 1, x0, top, x1, bottom) for s, e, x0, top, x1, bottom in page.lines
        ])
    if done:
        conf = sum(p.confidence for p in done.values()) / len(done)
        warnings.append(f"{_page_list(sorted(done))}: no text layer, text recognised by OCR "
                        f"({engine.name}, mean confidence {conf:.0f}%)")
    for i, reason in sorted(failed.items()):
        warnings.append(f"page {i + 1}: no text layer and OCR failed ({reason}), left empty")


def _page_list(indices: list[int]) -> str:
    nums = [i + 1 for i in indices]
    if len(nums) == 1:
        return f"page {nums[0]}"
    shown = ", ".join(map(str, nums[:10])) + (f" and {len(nums) - 10} more" if len(nums) > 10 else "")
    return f"pages {shown}"
