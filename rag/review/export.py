"""Writing a review out: CSV and XLSX grids a person opens, JSON lines a program reads.

In the grids every cell names its evidence: ``Found (p=0.93) · p.4 · §12.3 · "quoted text"`` or
``Not found (p=0.04)``; the XLSX file adds a "Cells" sheet with one row per cell (document,
column, found, score, pages, clause, spans, text). JSON lines carry one cell per line; for
.txt/.md documents their spans are offsets into the original file (as ``rag.eval`` reports them),
for PDFs into the extracted text.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.review.cells import Cell
from rag.review.grid import Grid

SUFFIXES = (".csv", ".xlsx", ".jsonl")
_SEP = " · "
_HEAD = re.compile(r"^(Found|Not found) \(p=(\d+(?:\.\d+)?)\)$")
MAX_QUOTE = 1000  # characters of quoted text per grid cell (the Cells sheet and JSON lines hold it all)


class ExportError(ValueError):
    """An output path the review cannot be written to (the message says why)."""


def pages_text(pages: tuple[int, int] | None) -> str:
    if not pages:
        return "-"
    return f"p.{pages[0]}" if pages[0] == pages[1] else f"pp.{pages[0]}-{pages[1]}"


def format_cell(cell: Cell, max_quote: int = MAX_QUOTE) -> str:
    """A grid cell as text: decision, probability, page, clause, quote."""
    if not cell.found:
        return f"Not found (p={cell.score:.2f})"
    quote = cell.text if len(cell.text) <= max_quote else cell.text[: max_quote - 1] + "…"
    return _SEP.join([f"Found (p={cell.score:.2f})", pages_text(cell.pages),
                      f"§{cell.clause}" if cell.clause else "-", f"“{quote}”"])


def parse_cell(text: str) -> dict[str, Any]:
    """The fields of a :func:`format_cell` text (for reading an exported grid back)."""
    parts = text.split(_SEP, 3)
    m = _HEAD.match(parts[0])
    if not m:
        raise ValueError(f"not a review cell: {text[:80]!r}")
    out: dict[str, Any] = {"found": m.group(1) == "Found", "score": float(m.group(2)), "pages": None,
                           "clause": None, "text": ""}
    if out["found"] and len(parts) == 4:
        pages = re.findall(r"\d+", parts[1])
        out["pages"] = (int(pages[0]), int(pages[-1])) if pages else None
        out["clause"] = parts[2][1:] if parts[2].startswith("§") else None
        out["text"] = parts[3].removeprefix("“").removesuffix("”")
    return out


def grid_rows(grid: Grid) -> Iterator[list[str]]:
    """Header, then one row per document: its name and one formatted cell per column."""
    yield ["document"] + [c.name for c in grid.columns]
    for doc_id, name in grid.documents:
        yield [name] + [format_cell(grid.cell(doc_id, c.key)) for c in grid.columns]


def cell_records(grid: Grid, view: Any | None = None) -> Iterator[dict[str, Any]]:
    """One record per cell; spans in original-file offsets where the original text is known."""
    from rag.eval.legalbench import OffsetMap

    for doc_id, name in grid.documents:
        to_file = None
        if view is not None and re.search(r"\.(txt|md|markdown|text)$", name, re.I):
            source = view.source(doc_id)
            if source is not None:
                to_file = OffsetMap(view.document(doc_id).text, source.decode("utf-8", errors="replace"))
        for col in grid.columns:
            cell = grid.cell(doc_id, col.key)
            spans = [[to_file(s), to_file(e)] if to_file else [s, e] for s, e in cell.spans]
            yield {"document": name, "column": col.name, "found": cell.found, "score": cell.score,
                   "spans": spans if cell.found else [], "pages": list(cell.pages) if cell.pages and cell.found else None,
                   "clause": cell.clause if cell.found else None, "text": cell.text if cell.found else ""}


def write_csv(grid: Grid, path: Path) -> None:
    with Path(path).open("w", encoding="utf-8-sig", newline="") as fh:  # the BOM: Excel reads UTF-8
        csv.writer(fh).writerows(grid_rows(grid))


def write_jsonl(grid: Grid, path: Path, view: Any | None = None) -> None:
    with Path(path).open("w", encoding="utf-8") as fh:
        for rec in cell_records(grid, view):
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def _xlsx_safe(text: str) -> str:
    """Text an XLSX cell can hold: no control characters, at most 32,767 characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub(" ", text)[:32767]


def write_xlsx(grid: Grid, path: Path, view: Any | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "Review"
    found_fill, missing_fill = PatternFill("solid", fgColor="E6F4EA"), PatternFill("solid", fgColor="F4F4F4")
    for r, row in enumerate(grid_rows(grid), 1):
        ws.append([_xlsx_safe(v) for v in row])
        for c, value in enumerate(row, 1):
            cell = ws.cell(r, c)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if r == 1:
                cell.font = Font(bold=True)
            elif c > 1:
                cell.fill = found_fill if value.startswith("Found") else missing_fill
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = 40
    for c in range(2, len(grid.columns) + 2):
        ws.column_dimensions[ws.cell(1, c).column_letter].width = 48
    cells = wb.create_sheet("Cells")
    cells.append(["document", "column", "found", "score", "pages", "clause", "spans", "text"])
    for rec in cell_records(grid, view):
        cells.append([_xlsx_safe(rec["document"]), _xlsx_safe(rec["column"]), rec["found"], rec["score"],
                      pages_text(tuple(rec["pages"])) if rec["pages"] else "", rec["clause"] or "",
                      json.dumps(rec["spans"]), _xlsx_safe(rec["text"])])
    wb.save(path)


def write(grid: Grid, path: str | Path, view: Any | None = None) -> Path:
    """Write ``grid`` as the suffix of ``path`` says (.csv, .xlsx or .jsonl)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ExportError(f"{path}: the review is written as .csv, .xlsx or .jsonl, not {suffix or 'no suffix'}")
    if not path.parent.is_dir():
        raise ExportError(f"{path}: folder {path.parent} does not exist")
    {".csv": lambda: write_csv(grid, path), ".xlsx": lambda: write_xlsx(grid, path, view),
     ".jsonl": lambda: write_jsonl(grid, path, view)}[suffix]()
    return path


def read_grid(path: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """An exported CSV or XLSX grid back as ``{document: {column: fields}}``."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    else:
        from openpyxl import load_workbook

        ws = load_workbook(path, read_only=True)["Review"]
        rows = [[("" if v is None else str(v)) for v in row] for row in ws.iter_rows(values_only=True)]
    header = rows[0]
    return {row[0]: {h: parse_cell(v) for h, v in zip(header[1:], row[1:])} for row in rows[1:]}
