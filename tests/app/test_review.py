"""Clause review page: the grid, opening a cell's page, a custom column, the filter, the exports."""

from __future__ import annotations

#: as in app_pages/review.py (a page script runs when imported, so its names are repeated here)
DEFAULT_COLUMNS = ("Governing Law", "Cap on Liability", "Change of Control", "Anti-Assignment",
                   "Termination for Convenience", "Renewal Term", "Insurance", "Non-Compete")
NOT_FOUND = "— not found"


def _page(samples_app):  # type: ignore[no-untyped-def]
    at = samples_app.run()
    at.switch_page("app_pages/review.py").run()
    assert not at.exception, at.exception
    return at


def test_grid_of_documents_by_columns_and_a_cell_opens_its_page(samples_app, plain) -> None:  # type: ignore[no-untyped-def]
    at = _page(samples_app)
    grid = at.dataframe[0].value
    assert list(grid.columns) == ["Document", *DEFAULT_COLUMNS]
    assert len(grid) == 3, "one row per sample contract"
    cells = [v for c in DEFAULT_COLUMNS for v in grid[c]]
    assert all(v == NOT_FOUND or (v.startswith(("✓ p.", "✓ pp.")) and "“" in v) for v in cells), cells
    assert any("3 contract(s) × 8 column(s)" in c.value for c in at.caption)

    doc = at.selectbox(key="review-grid-samples-doc")
    msa = next(i for i, label in enumerate(doc.options) if label.startswith("master-services"))
    doc.select_index(msa).run()
    at.selectbox(key="review-grid-samples-col").select("Governing Law").run()
    assert not at.exception
    assert any("Governing Law" in plain(m.value) and "master-services" in plain(m.value) for m in at.markdown)
    assert at.text, "the cited passage is quoted"
    assert at.get("component_instance"), "the cited page opens in the PDF viewer"


def test_add_a_custom_column_and_filter(samples_app, plain) -> None:  # type: ignore[no-untyped-def]
    at = _page(samples_app)
    at.text_input(key="review-new-question-samples").input("Which party pays for insurance?")
    at.text_input(key="review-new-name-samples").input("Insurance paid by")
    next(b for b in at.button if b.label == "Add column").click().run()
    assert not at.exception, at.exception
    assert "Insurance paid by" in at.multiselect(key="review-columns-samples").value
    assert "Insurance paid by" in list(at.dataframe[0].value.columns)

    at.selectbox(key="review-filter-samples").select("Insurance paid by").run()
    assert not at.exception
    shown = [plain(c.value) for c in at.caption if "contract(s) where Insurance paid by is" in plain(c.value)]
    assert shown, [c.value for c in at.caption]
    n = int(shown[0].split(" of ")[0])
    assert len(at.dataframe[0].value) == n


def test_exports_are_offered(samples_app) -> None:  # type: ignore[no-untyped-def]
    at = _page(samples_app)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download CSV", "Download Excel (XLSX)"]
