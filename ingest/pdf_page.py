"""One PDF page into canonical text and line boxes.

Pages are text runs joined as pypdf joins them; lines keep their starts ("12.3 ...") and a
blank line marks a vertical gap clearly larger than the page's line pitch. Before pypdf parses
a page, operators that cannot affect text are dropped from its content stream (a speed-up only).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from ingest.canonical import CONTROL
from ingest.pdf_geometry import _font_metrics, _FontMetrics, page_to_view
from ingest.pdf_runs import _align, _box, _place, _Run, _RunCollector
from rag.documents import TextLine

log = logging.getLogger(__name__)

#: What text extraction never needs from a content stream: path construction and painting,
#: clipping, colours and line styles, each with its numeric operands, and the ``q Q`` pairs
#: that enclose nothing once those are gone. Strings are split off first so nothing inside
#: them is touched (a stream with inline images is left alone). Some generators draw every
#: table cell and text run inside its own clip path (CERES's 154-page exhibit: 80,000 ``q Q``
#: per page); pypdf parses every operator in Python, so dropping these first pays.
_STRINGS = re.compile(rb"(\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)|<[0-9A-Fa-f\s]*>)", re.DOTALL)
_DRAWING = re.compile(  # possessive operands: no backtracking over number runs
    rb"\s(?=[-+.\dmlcvyhnSsfFBbWgGkKwJjMirR])(?:[-+]?(?:\d+\.?\d*|\.\d+)\s+){0,6}+"
    rb"(?:re|[mlcvyhnSsfFBbWgGkKwJjMi]|f\*|B\*|b\*|W\*|rg|RG)(?=\s)"
)
_EMPTY_SAVE = re.compile(rb"\sq\s+Q(?=\s)")
_INLINE_IMAGE = re.compile(rb"\sBI\s")


def _text_only(data: bytes) -> bytes:
    """The content stream without operators that cannot affect text (see ``_DRAWING``)."""
    if b"BI" in data and _INLINE_IMAGE.search(data):
        return data
    parts = _STRINGS.split(b" " + data + b" ")  # odd items are strings, left as they are
    for i in range(0, len(parts), 2):
        # empty pairs first (cheap, and they can be most of the stream), then drawing
        # operators, then the pairs that enclosed only drawing
        parts[i] = _drop_empty_save(_DRAWING.sub(b" ", _drop_empty_save(parts[i])))
    return b"".join(parts)


def _drop_empty_save(data: bytes) -> bytes:
    # bytes.replace is far faster than a regex; it covers the usual uniform separators
    for sep in (b"\r", b"\n", b" "):
        pair, size = sep + b"q" + sep + b"Q" + sep, -1
        while pair in data and size != len(data):
            size = len(data)
            data = data.replace(pair, sep)
    for _ in range(32):  # mixed whitespace; "q q Q Q" needs one pass per level
        new = _EMPTY_SAVE.sub(b" ", data)
        if len(new) == len(data):
            break
        data = new
    return data


def _slim_contents(page: Any) -> None:
    from pypdf.generic import ContentStream, NameObject

    contents = page.get_contents()
    if contents is None:
        return
    data = contents.get_data()
    slim = _text_only(data)
    if len(slim) < len(data):
        # "bytes": strings stay raw for the fonts to decode, as pypdf's own parse does
        slimmed = ContentStream(None, page.pdf, "bytes")
        slimmed.set_data(slim)
        page[NameObject("/Contents")] = slimmed


@dataclass
class PageText:
    """A page's canonical text and its line boxes (spans relative to the page text)."""

    text: str
    lines: list[TextLine] = field(default_factory=list)


def read_pdf_page(page: Any, number: int, metrics: Callable[[Any], _FontMetrics] | None = None) -> PageText:
    """Canonical text of one pypdf page and its line boxes; ``number`` is 1-based."""
    try:
        _slim_contents(page)
    except Exception as exc:  # noqa: BLE001 - an optimisation only: pypdf reads the original
        log.debug("page %d: content stream left as is: %s", number, exc)
    collector = _RunCollector(_page_resources(page))
    raw = page.extract_text(
        visitor_operand_before=collector.before,
        visitor_operand_after=collector.after,
        visitor_text=collector.text,
    )
    runs = [r for r in collector.runs if r.text]
    _align(runs, raw)
    to_view = page_to_view(page)
    _place(runs, to_view, metrics or _font_metrics)
    return _layout(raw, runs, number, to_view)


def _page_resources(page: Any) -> Any:
    res = page.get_inherited("/Resources", None) if hasattr(page, "get_inherited") else page.get("/Resources")
    return res.get_object() if res is not None else {}


_HSPACE = " \t\u00a0"


def _layout(raw: str, runs: list[_Run], number: int,
            to_view: Callable[[float, float], tuple[float, float]]) -> PageText:
    """Canonical page text from pypdf's text, with blank lines at large vertical gaps.

    Lines are stripped of surrounding spaces and control characters; each kept line
    gets the boxes of the runs it came from, one :class:`TextLine` per baseline.
    """
    raw = raw.replace("\r", "\n")  # same length: run spans index this text ("\r\n" leaves an empty line)
    # Raw lines with their spans and the runs that fall on them.
    spans: list[tuple[int, int]] = []
    pos = 0
    for piece in raw.split("\n"):
        a, b = pos, pos + len(piece)
        pos = b + 1
        while a < b and raw[a] in _HSPACE:
            a += 1
        while b > a and raw[b - 1] in _HSPACE:
            b -= 1
        if a < b and CONTROL.sub("", raw[a:b]).strip():
            spans.append((a, b))
    placed = sorted((r for r in runs if r.box is not None), key=lambda r: r.start)
    line_runs: list[list[_Run]] = []
    j = 0
    for a, b in spans:
        while j < len(placed) and placed[j].end <= a:
            j += 1
        k, mine = j, []
        while k < len(placed) and placed[k].start < b:
            mine.append(placed[k])
            k += 1
        line_runs.append(mine)
    breaks = _paragraph_breaks(line_runs)

    out: list[str] = []
    to_canon: dict[int, int] = {}  # raw offset -> canonical offset, for line starts/ends and runs
    size = 0
    kept: list[tuple[int, int, int, bool]] = []  # raw a, raw b, canonical start, had controls
    for i, (a, b) in enumerate(spans):
        if out:
            sep = "\n\n" if breaks[i] else "\n"
            out.append(sep)
            size += len(sep)
        piece = raw[a:b]
        dirty = CONTROL.search(piece) is not None
        if dirty:
            # per character, so that offsets inside the line stay exact
            for off, ch in enumerate(piece):
                to_canon[a + off] = size
                if not CONTROL.match(ch):
                    out.append(ch)
                    size += 1
            to_canon[b] = size
        else:
            out.append(piece)
            size += len(piece)
        kept.append((a, b, size - len(CONTROL.sub("", piece)) if dirty else size - len(piece), dirty))
    text = "".join(out)

    lines: list[TextLine] = []
    for (a, b, start, dirty), mine in zip(kept, line_runs, strict=True):
        for seg in _segments(mine):
            lo = min(max(min(r.start for r in seg), a), b)
            hi = min(max(max(r.end for r in seg), a), b)
            s = to_canon[lo] if dirty else start + (lo - a)
            e = to_canon[hi] if dirty else start + (hi - a)
            while s < e and text[s] in _HSPACE + "\n":
                s += 1
            while e > s and text[e - 1] in _HSPACE + "\n":
                e -= 1
            if s >= e:
                continue
            if lines and lines[-1].end > s:  # runs out of order: keep lines disjoint and sorted
                continue
            # Box the characters the line keeps: not the spaces stripped around it.
            boxes = []
            for r in seg:
                i = max(lo, r.start) - r.start
                j = min(hi, r.end) - r.start
                while i < j and r.text[i].isspace():
                    i += 1
                while j > i and r.text[j - 1].isspace():
                    j -= 1
                if i < j:
                    boxes.append(_box(r, i, j, to_view))
            if not boxes:
                continue
            x0 = min(b[0] for b in boxes)
            top = min(b[1] for b in boxes)
            x1 = max(b[2] for b in boxes)
            bottom = max(b[3] for b in boxes)
            lines.append(TextLine(s, e, number, round(x0, 2), round(top, 2), round(x1, 2), round(bottom, 2)))
    return PageText(text, lines)


def _segments(runs: list[_Run]) -> list[list[_Run]]:
    """Split a text line's runs where the baseline changes (pypdf may join nearby baselines)."""
    segs: list[list[_Run]] = []
    for r in runs:
        if segs:
            last = segs[-1][-1]
            h = min(r.box[3] - r.box[1], last.box[3] - last.box[1])  # type: ignore[index]
            overlap = min(r.box[3], last.box[3]) - max(r.box[1], last.box[1])  # type: ignore[index]
            if overlap >= 0.5 * h:
                segs[-1].append(r)
                continue
        segs.append([r])
    return segs


def _paragraph_breaks(line_runs: list[list[_Run]]) -> list[bool]:
    """True before a line that sits clearly further below its predecessor than the page's
    usual line pitch, or above it (a new block): a blank line marks the paragraph."""
    tops: list[tuple[float, float] | None] = []
    for runs in line_runs:
        boxes = [r.box for r in runs if r.box is not None]
        if boxes:
            b = boxes[0]
            tops.append((b[3], b[3] - b[1]))  # bottom edge tracks the baseline; height
        else:
            tops.append(None)
    gaps = [
        cur[0] - prev[0] for prev, cur in pairwise(tops)
        if prev and cur and 0.9 * max(prev[1], cur[1]) < cur[0] - prev[0] < 3 * max(prev[1], cur[1])
    ]
    # The line pitch is the smallest gap that recurs: on a page of one-line paragraphs most
    # gaps are paragraph gaps, and a double-spaced page has one pitch throughout.
    counts = Counter(round(g) for g in gaps)
    recurring = [g for g, n in counts.items() if n >= 2]
    pitch = float(min(recurring)) if recurring else (min(gaps) if gaps else None)
    breaks = [False] * len(line_runs)
    for i in range(1, len(line_runs)):
        prev, cur = tops[i - 1], tops[i]
        if not prev or not cur or pitch is None:
            continue
        gap = cur[0] - prev[0]
        height = max(prev[1], cur[1])
        breaks[i] = gap > max(1.4 * pitch, 1.45 * height) or gap < -1.5 * height
    return breaks
