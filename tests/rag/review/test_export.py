"""CSV and XLSX grids read back to the same cells; JSON lines in original-file offsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.review import ReviewStore, cuad_columns, custom_column, review
from rag.review.cells import Cell
from rag.review.export import ExportError, format_cell, parse_cell, read_grid, write


@pytest.fixture
def crlf_grid(review_engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A grid over a .txt contract with CRLF line ends and a leading blank line (so stored text != file)."""
    from tests.rag.review.conftest import CONTRACT

    path = tmp_path / "crlf_supply.txt"
    text = CONTRACT.read_text(encoding="utf-8")
    path.write_bytes(("\r\n" + text.replace("\n", "\r\n")).encode("utf-8"))
    review_engine.ingest([path], "export")
    retriever = review_engine.retriever("export")
    cols = [c for c in cuad_columns() if c.name in ("Non-Compete", "Governing Law")]
    cols.append(custom_column("How much is the monthly fee?", "Fee"))
    grid = review(retriever, cols, store=ReviewStore(tmp_path / "r.sqlite"))
    return grid, retriever.collection.view(), path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_grid_round_trip(crlf_grid, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    grid, view, _ = crlf_grid
    out = write(grid, tmp_path / f"review{suffix}", view)
    back = read_grid(out)
    (doc_id, name), = grid.documents
    assert list(back) == [name]
    assert list(back[name]) == [c.name for c in grid.columns]
    for col in grid.columns:
        cell, read = grid.cell(doc_id, col.key), back[name][col.name]
        assert read["found"] == cell.found and read["score"] == pytest.approx(cell.score, abs=0.005)
        if cell.found:
            assert read["clause"] == cell.clause and read["text"] == cell.text and read["pages"] == cell.pages


def test_xlsx_has_one_row_per_cell(crlf_grid, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    grid, view, _ = crlf_grid
    ws = load_workbook(write(grid, tmp_path / "r.xlsx", view))["Cells"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("document", "column", "found", "score", "pages", "clause", "spans", "text")
    assert len(rows) == 1 + len(grid.columns)


def test_jsonl_spans_are_offsets_into_the_original_file(crlf_grid, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    grid, view, path = crlf_grid
    original = path.read_bytes().decode("utf-8")
    lines = [json.loads(x) for x in write(grid, tmp_path / "r.jsonl", view).read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(grid.columns)
    assert set(lines[0]) >= {"document", "column", "found", "score", "spans", "pages", "text"}
    law = next(x for x in lines if x["column"] == "Governing Law")
    assert law["found"] and law["spans"]
    s, e = law["spans"][0]
    assert "governed by and construed in accordance with the laws of the State of New York" in original[s:e]
    assert " ".join(original[s:e].split()) in law["text"]
    missing = next(x for x in lines if x["column"] == "Non-Compete")
    assert not missing["found"] and missing["spans"] == [] and missing["text"] == ""


def test_cells_format_and_parse() -> None:
    cell = Cell("a.pdf", 1, "k", True, 0.912, 0.8, [(0, 5)], (3, 4), "12.3", "He said · “no” here")
    assert parse_cell(format_cell(cell)) == {"found": True, "score": 0.91, "pages": (3, 4), "clause": "12.3",
                                             "text": "He said · “no” here"}
    missing = Cell("a.pdf", 1, "k", False, 0.04, 0.2)
    assert format_cell(missing) == "Not found (p=0.04)"
    with pytest.raises(ValueError):
        parse_cell("whatever")


def test_bad_output_paths(crlf_grid, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    grid, view, _ = crlf_grid
    with pytest.raises(ExportError, match="not .docx"):
        write(grid, tmp_path / "r.docx", view)
    with pytest.raises(ExportError, match="does not exist"):
        write(grid, tmp_path / "missing" / "r.csv", view)
