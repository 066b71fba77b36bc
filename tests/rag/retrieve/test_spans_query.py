"""Inside a named document, spans are ranked by what the question asks, not by the words that named it."""

from __future__ import annotations

import pytest

from rag.retrieve import RetrievalOptions, Retriever
from rag.retrieve.scoping import DocumentScorer

NAMES = [
    "contractnli/NDA_ResConnect.txt",
    "contractnli/HNBA-2017-18-Confidentiality-Agreement.txt",
    "privacy_qa/Fiverr.txt",
    "cuad/ExactSciencesCorp_20180822_8-K_EX-10.1_11331629_EX-10.1_Promotion Agreement.txt",
]
HEADS = [
    "MUTUAL NON-DISCLOSURE AGREEMENT between ResConnect Inc. and the Recipient",
    "CONFIDENTIALITY AGREEMENT Hispanic National Bar Association",
    "Fiverr Privacy Policy",
    "COLOGUARD PROMOTION AGREEMENT between Exact Sciences Corporation and Pfizer",
]


def scorer() -> DocumentScorer:
    return DocumentScorer([10, 11, 12, 13], NAMES, HEADS)


@pytest.mark.parametrize("question, scope, asked", [
    ("Consider the Cologuard Promotion Agreement between Exact Sciences Corporation and Pfizer; who pays the fees?",
     13, "who pays the fees?"),
    ("In the Exact Sciences Promotion Agreement with Pfizer, what is the term?", 13, "what is the term?"),
    ('Consider "Fiverr"\'s privacy policy; who can see my information?', 12, "who can see my information?"),
    # a title with a comma: both of its parts name the document
    ("Consider the Promotion Agreement between Exact Sciences, Corporation and Pfizer; Cap On Liability",
     13, "Cap On Liability"),
    # capitalised words every document's head carries ("Agreement") do not name this one: that part stays
    ("Consider HNBA's Confidentiality Agreement; Does the Agreement allow independent development?",
     11, "Does the Agreement allow independent development?"),
])
def test_asked_part_drops_the_parts_that_name_the_document(question, scope, asked):
    s = scorer()
    assert s.select(question) == [scope]
    assert s.asked_part(question, [scope]) == asked


def test_asked_part_keeps_the_question_when_no_part_names_it_or_nothing_would_be_left():
    s = scorer()
    assert s.asked_part("what is the notice period?", [13]) == "what is the notice period?"
    # one part that both names the document and asks: nothing would be left without it
    assert s.asked_part("What does Pfizer pay under the Exact Sciences deal?", [13]) == \
        "What does Pfizer pay under the Exact Sciences deal?"
    # the other part is a single word: too little to rank by
    assert s.asked_part("Consider the Exact Sciences Promotion Agreement; fees?", [13]) == \
        "Consider the Exact Sciences Promotion Agreement; fees?"
    # naming another document's name is not naming this one
    assert s.asked_part("In the ResConnect NDA, who is the recipient?", [13]) == \
        "In the ResConnect NDA, who is the recipient?"


class _Recording:
    """Wraps an encoder and records the texts of every call."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, *args, **kwargs):
        self.calls.append(list(texts))
        return self.inner.encode(texts, *args, **kwargs)


def test_pipeline_ranks_spans_by_the_asked_part_in_one_batch_with_the_question(contract_collection, tiny_encoder):
    enc = _Recording(tiny_encoder)
    r = Retriever(contract_collection, enc, None, RetrievalOptions(rerank=False, colbert=False))
    q = "In the Acme Beta NDA, how long does the agreement last?"
    res = r.search(q, top_k=4)
    assert res.trace.scoped_docs == ["acme-beta-nda.txt"]
    assert res.hits and all(h.span is not None for h in res.hits)
    assert [q, "how long does the agreement last?"] in enc.calls
    assert any("spans ranked inside the named document(s) for: how long does the agreement last?" in n
               for n in res.trace.notes)
    # over the whole collection (nothing named) the question ranks the spans as it is
    enc.calls.clear()
    r.search("how long does the agreement last?", top_k=4, scope_documents=False)
    assert enc.calls[0] == ["how long does the agreement last?"]


def test_pipeline_span_query_question_keeps_the_whole_question(contract_collection, tiny_encoder):
    enc = _Recording(tiny_encoder)
    r = Retriever(contract_collection, enc, None, RetrievalOptions(rerank=False, colbert=False))
    q = "In the Acme Beta NDA, how long does the agreement last?"
    res = r.search(q, top_k=4, span_query="question")
    assert enc.calls[0] == [q] and res.hits
    assert not any("spans ranked" in n for n in res.trace.notes)
    with pytest.raises(ValueError, match="span_query"):
        r.search(q, top_k=4, span_query="title")


def test_span_stage_gets_the_asked_part_as_its_lexical_query_too(contract_collection, tiny_encoder, monkeypatch):
    import rag.retrieve.pipeline as pipeline

    seen = {}
    real = pipeline.rank_spans

    def spy(hits, entries, q_dense, q_sparse, *args):
        seen["sparse"] = dict(q_sparse or {})
        return real(hits, entries, q_dense, q_sparse, *args)

    monkeypatch.setattr(pipeline, "rank_spans", spy)
    r = Retriever(contract_collection, tiny_encoder, None, RetrievalOptions(rerank=False, colbert=False))
    asked = "how long does the agreement last?"
    r.search("In the Acme Beta NDA, " + asked, top_k=4)
    alone = tiny_encoder.encode([asked], dense=False, sparse=True, query=True).sparse[0]
    assert seen["sparse"] and set(seen["sparse"]) == set(alone)
    r.search("In the Acme Beta NDA, " + asked, top_k=4, span_query="question")
    assert set(seen["sparse"]) != set(alone)
