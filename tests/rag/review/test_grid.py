"""Cells on synthetic contracts with known clauses, with the real MiniLM model (no reranker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.review import ReviewStore, cuad_columns, custom_column, review
from tests.rag.review.conftest import CONTRACT

COLUMNS = {c.name: c for c in cuad_columns()}
PICK = ["Governing Law", "Insurance", "Anti-Assignment", "Source Code Escrow", "Non-Compete"]


def _cols(*names: str) -> list:
    return [COLUMNS[n] for n in names]


def test_found_not_found_and_two_clauses_of_one_type(review_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    retriever = review_engine.retriever("contracts")
    grid = review(retriever, _cols(*PICK), store=ReviewStore(tmp_path / "r.sqlite"))
    (doc_id, name), = grid.documents
    text = CONTRACT.read_text(encoding="utf-8")
    law = grid.cell(doc_id, COLUMNS["Governing Law"].key)
    assert law.found and law.clause == "8" and "laws of the State of New York" in law.text
    assert law.score > 0.5 and law.pages is None  # a .txt file has no pages
    insurance = grid.cell(doc_id, COLUMNS["Insurance"].key)
    assert insurance.found and insurance.clause == "5" and "product liability insurance" in insurance.text
    escrow = grid.cell(doc_id, COLUMNS["Source Code Escrow"].key)
    assert not escrow.found and escrow.score < 0.5
    # the contract restricts assignment twice (4.1 and 7.1): both clauses are cited
    assign = grid.cell(doc_id, COLUMNS["Anti-Assignment"].key)
    assert assign.found
    cited = " ".join(" ".join(text[s:e].split()) for s, e in assign.spans)
    assert "Neither party may assign" in cited and "Buyer may not assign this Agreement to any of its Affiliates" in cited
    # spans are offsets into the document's text and the quote is that text
    s, e = law.spans[0]
    assert " ".join(text[s:e].split()) in law.text


def test_a_clause_type_never_uses_examples_from_the_document_itself(review_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from rag.review import prototypes

    ex = prototypes.examples()
    i = int(ex.of(COLUMNS["Governing Law"].key)[0])
    mask = prototypes.same_document_mask(ex, ex.contracts[i], "unrelated text")
    assert mask[i] and sum(mask) == sum(c == ex.contracts[i] for c in ex.contracts)
    # the same contract uploaded under another name: recognised by its text
    body = "Preamble.\n" + ex.texts[i] + "\nMore terms."
    mask = prototypes.same_document_mask(ex, "renamed-upload.pdf", body)
    assert mask[i]
    assert not prototypes.same_document_mask(ex, "other.pdf", "nothing alike")[i]


def test_only_new_documents_and_new_columns_are_computed(review_engine, services_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    review_engine.ingest([CONTRACT], "incremental")
    retriever = review_engine.retriever("incremental")
    store = ReviewStore(tmp_path / "r.sqlite")
    cols = _cols("Governing Law", "Non-Compete", "Termination for Convenience")
    calls: list[tuple[int, int]] = []
    first = review(retriever, cols, store=store, progress=lambda d, n: calls.append((d, n)))
    assert first.computed == 3 and calls[-1] == (3, 3)
    assert review(retriever, cols, store=store).computed == 0  # nothing new: all from the store

    review_engine.ingest([services_file], "incremental")
    retriever = review_engine.retriever("incremental")
    second = review(retriever, cols, store=store)
    assert second.computed == 3 and len(second.documents) == 2  # only the new document's row
    services = next(d for d, n in second.documents if n == services_file.name)
    noncompete = second.cell(services, COLUMNS["Non-Compete"].key)
    assert "shall not provide services to any competitor" in noncompete.text.split(" … ")[0]
    law = second.cell(services, COLUMNS["Governing Law"].key)
    assert not law.found and law.score < noncompete.score
    # the stored row of the first document is the same as computed
    old = next(d for d, n in second.documents if n == CONTRACT.name)
    assert second.cell(old, cols[0].key).spans == first.cell(old, cols[0].key).spans

    extra = custom_column("Which party must maintain insurance?")
    third = review(retriever, cols + [extra], store=store)
    assert third.computed == 2  # only the new column, for both documents
    assert third.cell(old, extra.key).clause == "5"


def test_bad_requests_say_what_is_wrong(review_engine) -> None:  # type: ignore[no-untyped-def]
    retriever = review_engine.retriever("contracts")
    with pytest.raises(ValueError, match="at least one column"):
        review(retriever, [])
    with pytest.raises(ValueError, match="twice"):
        review(retriever, _cols("Insurance", "Insurance"))
    with pytest.raises(KeyError, match="no document"):
        review(retriever, _cols("Insurance"), documents=["missing.pdf"])


def test_a_date_column_cites_the_preamble_date(review_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    retriever = review_engine.retriever("contracts")
    grid = review(retriever, _cols("Agreement Date"), store=ReviewStore(tmp_path / "r.sqlite"))
    (doc_id, _), = grid.documents
    cell = grid.cell(doc_id, COLUMNS["Agreement Date"].key)
    text = CONTRACT.read_text(encoding="utf-8")
    s, e = cell.spans[0]
    assert text[s:e] == "March 3, 2021" and cell.text.startswith("March 3, 2021")
