"""Page furniture (repeated headers/footers) and tables of contents among heading candidates.
"""

from __future__ import annotations

import re
from collections import Counter

from ingest.headings import _Cand, _TOC_TITLE_RE


# ----------------------------------------------------------------------------- furniture and TOC


def _furniture_lines(text: str) -> set[int]:
    """Starts of lines that repeat three or more times (page headers/footers)."""
    counts: Counter[str] = Counter()
    lines: list[tuple[int, str]] = []
    for m in re.finditer(r"[^\n]+", text):
        line = m.group(0).strip()
        lead = re.match(r"[(\d.)\s]*", line).group(0)  # a leading clause number stays literal
        key = lead + re.sub(r"\d+", "#", line[len(lead) :])
        if len(key) >= 15:
            counts[key] += 1
            lines.append((m.start(), key))
    return {s for s, k in lines if counts[k] >= 3}


_PAGE_REF_RE = re.compile(r"(?:\.{2,}|…+|[ \t\u00a0]{1,})[ \t\u00a0]*(?:\d{1,3}|[ivx]{1,5})[ \t\u00a0]*$")


def _toc_key(c: _Cand) -> str:
    return f"{c.family}:{c.norm}"


def _find_tocs(text: str, cands: list[_Cand]) -> list[tuple[int, int]]:
    """Spans of tables of contents: runs of four or more short entries in the first 30 % of the
    text, with nothing but short lines (titles, page numbers) between them, whose ids recur
    later as headings."""
    struct = [c for c in cands if c.family in ("numeric", "ranked", "container")]
    entries: list[str] = []
    linked: list[bool] = []  # entry i is followed directly by entry i + 1
    for i, c in enumerate(struct):
        nxt = struct[i + 1] if i + 1 < len(struct) else None
        stop = min(c.line_end, nxt.start) if nxt is not None else c.line_end
        entry = text[c.start : stop].strip()
        entries.append(entry)
        ok = (
            nxt is not None
            and len(entry) <= 150
            and (not entry.endswith((".", ";", ",")) or _PAGE_REF_RE.search(entry) is not None)
        )
        if ok and nxt is not None:
            between = [ln.strip() for ln in text[stop : nxt.start].split("\n") if ln.strip()]
            ok = (
                len(between) <= 2
                and all(len(ln) <= 60 and not ln.endswith((".", ";", ":", ",")) for ln in between)
                and nxt.start - stop <= 250
            )
        linked.append(ok)
    tocs: list[tuple[int, int]] = []
    i = 0
    while i < len(struct):
        if not linked[i]:
            i += 1
            continue
        j = i
        while j < len(struct) and linked[j]:
            j += 1
        run = range(i, j + 1)  # entry j ends the run
        i = j + 1
        if len(run) < 4 or struct[run[0]].start > 0.3 * len(text):
            continue  # a table of contents comes before the body; numbered table rows come later
        last = run[-1]
        later = {_toc_key(c) for c in struct[last + 1 :]}
        recur = sum(_toc_key(struct[k]) in later for k in run) / len(run)
        paged = sum(1 for k in run if _PAGE_REF_RE.search(entries[k])) / len(run)
        if recur >= 0.5 or (paged >= 0.6 and recur >= 0.25):
            start = struct[run[0]].start
            title = None
            for tm in _TOC_TITLE_RE.finditer(text, max(0, start - 400), start):
                title = tm
            if title is not None:
                start = title.start()
            end = struct[last].start + len(entries[last])
            if tocs and start - tocs[-1][1] <= 600:  # one table continued over a page break
                tocs[-1] = (tocs[-1][0], end)
            else:
                tocs.append((start, end))
    return tocs
