"""Questions about the document's own date: recognised, and answered from where it is stated."""

from __future__ import annotations

import pytest

from rag.documents import StoredChunk
from rag.retrieve import RetrievalOptions, Retriever
from rag.retrieve.document_facts import asked_date, date_hits


@pytest.mark.parametrize("question", [
    "The date of the contract",
    "What is the date of this Agreement?",
    "What's the agreement's date?",
    "When was the contract signed?",
    "When was this lease executed?",
    "On what day was the agreement entered into?",
    "How is the document dated?",
    "合同的签订日期是什么？",
    "这份协议是什么时候签署的？",
    "When was it signed?",
    "What is its date?",
    "When did the parties sign the contract?",
    "What is the execution date?",
    "What year was the agreement signed?",
    "When was the Termination Agreement signed?",  # a title's words are no other date
    "What is the date of the Renewal Agreement?",
    "When was the agreement between Acme Shipping LLC and Payment Co signed?",
])
def test_questions_about_the_agreement_date(question: str) -> None:
    assert asked_date(question) == "agreement"


@pytest.mark.parametrize("question", [
    "The date when the contract is effective",
    "What is the effective date?",
    "When does this agreement take effect?",
    "When does the contract come into force?",
    "From what date is the licence in effect?",
    "What is the commencement date?",
    "本合同何时生效？",
    "合同的生效日期是哪天？",
    "When does it take effect?",
    "From when is the agreement binding?",
    "When does the Payment Services Agreement take effect?",
])
def test_questions_about_the_effective_date(question: str) -> None:
    assert asked_date(question) == "effective"


@pytest.mark.parametrize("question", [
    "On what date will the contract's initial term expire?",
    "When can the agreement be terminated?",
    "What is the renewal term after the initial term expires?",
    "When must the customer pay the fees?",
    "By what date must notice of non-renewal be given?",
    "Who signed the agreement?",  # who, not when
    "Which law governs the contract?",
    "What are the delivery dates?",
    "合同什么时候到期？",
    "甲方应在何时支付服务费用？",
    # the date as a reference point, a deadline, a date given, another document
    "Can the agreement be amended after the effective date?",
    "What must happen within 30 days of the effective date?",
    "What day must the agreement be signed by?",
    "What governing law applies to the agreement dated March 1, 2019?",
    "What is the date of the last amendment to the agreement?",
    "What is the date of the agreement referenced in Section 5?",
    "When was the underlying license agreement dated?",
])
def test_other_questions_are_not_about_the_documents_date(question: str) -> None:
    assert asked_date(question) is None


def _chunk(cid: int, start: int, end: int, text: str) -> StoredChunk:
    return StoredChunk(id=cid, doc_id=1, doc_name="supply.txt", start=start, end=end, text=text[start:end],
                       pages=(1, 1), clause=None, heading_path=())


def test_the_date_is_cited_inside_the_chunk_that_holds_it() -> None:
    text = ("SUPPLY AGREEMENT\n\nThis Agreement is entered into as of March 3, 2021 by A and B.\n\n"
            "1. Term. This Agreement starts on the date first written above.")
    cut = text.index("1. Term")
    chunks = [_chunk(10, 0, cut, text), _chunk(11, cut, len(text), text)]
    hits = date_hits("What is the date of this agreement?", [1, 1], lambda d: text, lambda d: chunks,
                     lambda d, s, e: (1, 1))
    assert len(hits) == 1  # a document named twice is answered once
    hit = hits[0]
    assert hit.via == "fact" and hit.chunk.id == 10 and hit.text == "March 3, 2021" and hit.pages == (1, 1)
    assert date_hits("Who are the parties?", [1], lambda d: text, lambda d: chunks, lambda d, s, e: None) == []
    assert date_hits("What is the date of this agreement?", [1], lambda d: "No date here.",
                     lambda d: chunks, lambda d, s, e: None) == []


def test_a_date_cut_by_a_chunk_boundary_is_left_to_search() -> None:
    text = "SUPPLY AGREEMENT made as of March 3, 2021 by A and B."
    cut = text.index("3, 2021")
    chunks = [_chunk(10, 0, cut, text), _chunk(11, cut, len(text), text)]
    assert date_hits("What is the date of this agreement?", [1], lambda d: text, lambda d: chunks,
                     lambda d, s, e: None) == []


def test_an_effective_date_is_quoted_only_where_the_contract_words_it_so() -> None:
    signed = "SUPPLY AGREEMENT made as of March 3, 2021 by A and B. It takes effect at the Closing."
    worded = "SUPPLY AGREEMENT, effective as of March 3, 2021, between A and B."
    for text, want in ((signed, []), (worded, ["March 3, 2021"])):
        chunks = [_chunk(10, 0, len(text), text)]
        hits = date_hits("When does the agreement take effect?", [1], lambda d: text, lambda d: chunks,
                         lambda d, s, e: None)
        assert [h.text for h in hits] == want


@pytest.fixture()
def retriever(contract_collection, tiny_encoder):
    return Retriever(contract_collection, tiny_encoder, None, RetrievalOptions(rerank=False, colbert=False))


def test_a_question_about_the_named_documents_date_gets_the_date_first(retriever, contract_collection) -> None:
    res = retriever.search("What is the date of this agreement?", documents=["gamma-delta-msa.txt"], top_k=50)
    first = res.hits[0]
    assert first.via == "fact" and first.text == "2 May 2023" and first.scores == {"fact": 1.0}
    text = contract_collection.view().document(first.chunk.doc_id).text
    assert text[first.start:first.end] == "2 May 2023"
    assert any("own date" in n for n in res.trace.notes)
    # the rest of the preamble is still ranked as usual, behind the date
    assert any(h.via == "search" and h.chunk.id == first.chunk.id for h in res.hits[1:])


def test_the_date_route_needs_a_named_document_and_can_be_switched_off(retriever) -> None:
    assert all(h.via != "fact" for h in retriever.search("What is the date?", top_k=6).hits)  # no document named
    many = ["gamma-delta-msa.txt", "acme-beta-nda.txt", "技术服务合同.txt"]
    res = retriever.search("What is the date of this agreement?", documents=many, top_k=6)
    assert [h.text for h in res.hits if h.via == "fact"] == ["2 May 2023"]
    assert "document_facts" in res.trace.timings
    res = retriever.search("What is the date of this agreement?", documents=["gamma-delta-msa.txt"], top_k=6,
                           document_facts=False)
    assert all(h.via != "fact" for h in res.hits)
    res = retriever.search("What is the date of this agreement?", documents=["acme-beta-nda.txt"], top_k=6)
    assert all(h.via != "fact" for h in res.hits)  # that contract states no date


def test_in_a_collection_of_one_contract_this_agreement_is_that_contract(tmp_path, tiny_encoder) -> None:
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import discover, ingest
    from rag.store import ModelInfo
    from rag.store.milvus import open_backend_collection
    from tests.rag.retrieve.conftest import CHUNKING, SERVICES

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "msa.txt").write_text(SERVICES, encoding="utf-8")
    info = ModelInfo(name=tiny_encoder.name, dim=tiny_encoder.dim, sparse="lexical")
    col = open_backend_collection(None, "one", data_dir=tmp_path / "data", create=True, info=info)
    assert not ingest(discover([tmp_path / "docs"]), col, tiny_encoder, chunking=ChunkingConfig(**CHUNKING)).failed
    r = Retriever(col, tiny_encoder, None, RetrievalOptions(rerank=False, colbert=False))
    first = r.search("When was the contract signed?", top_k=4).hits[0]
    assert first.via == "fact" and first.text == "2 May 2023"
