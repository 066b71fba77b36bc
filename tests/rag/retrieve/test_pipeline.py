"""Each stage of the query pipeline on the tiny BGE-M3 checkpoint over three contracts."""

from __future__ import annotations

import numpy as np
import pytest

from rag.retrieve import RetrievalOptions, Retriever

#: the chunk-level stages; span ranking on top of them is tested in test_spans.py
NO_EXTRAS = dict(rerank=False, colbert=False, spans=False)


@pytest.fixture()
def retriever(contract_collection, tiny_encoder):
    return Retriever(contract_collection, tiny_encoder, None, RetrievalOptions(**NO_EXTRAS))


def _doc(hit):
    return hit.chunk.doc_name


def test_hits_carry_provenance_scores_and_timings(retriever, contract_collection):
    res = retriever.search("Who may terminate by giving written notice?", top_k=5)
    assert res.hits, "the collection has matching text"
    view = contract_collection.view()
    for h in res.hits:
        doc = view.document(h.chunk.doc_id)
        assert doc.text[h.chunk.start:h.chunk.end] == h.chunk.text
        assert {"dense", "sparse", "fused"} <= set(h.scores)
        assert h.score == pytest.approx(h.scores["fused"])
    assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
    for stage in ("scope", "encode", "search", "fuse"):
        assert stage in res.trace.timings


def test_weighted_fusion_is_dense_plus_point_three_sparse(retriever):
    english = ["acme-beta-nda.txt", "gamma-delta-msa.txt"]
    res = retriever.search("archival copy legal department", top_k=8, documents=english)
    assert res.hits
    for h in res.hits:
        assert h.scores["fused"] == pytest.approx(h.scores["dense"] + 0.3 * h.scores["sparse"], abs=1e-6)


def test_rrf_fusion_option(retriever):
    res = retriever.search("archival copy legal department", top_k=8, fusion="rrf")
    assert all(h.scores["fused"] <= 2 / 61 + 1e-9 for h in res.hits)


def test_sparse_scores_match_the_lexical_matching_score(retriever, tiny_encoder, contract_collection):
    from rag.models.scoring import lexical_matching_score

    q = "nightly backups data centres"
    res = retriever.search(q, top_k=3, use_dense=False)
    assert res.hits
    qs = tiny_encoder.encode([q], dense=False, sparse=True, query=True).sparse[0]
    for h in res.hits:
        ds = _stored_sparse(contract_collection, tiny_encoder, h)
        assert h.scores["sparse"] == pytest.approx(lexical_matching_score(qs, ds), rel=1e-4)


def _stored_sparse(collection, encoder, hit):
    """The lexical weights ingest stored for a hit's chunk: prepare its document again the same
    way (embedded text, plus the document's title and parties: ChunkingConfig.identity)."""
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import prepare
    from tests.rag.retrieve.conftest import CHUNKING

    doc = collection.view().document(hit.chunk.doc_id)
    p = prepare(doc, doc.text.encode(), encoder, sparse_kind="lexical", chunking=ChunkingConfig(**CHUNKING))
    return next(s for c, s in zip(p.chunks, p.sparse) if (c.start, c.end) == (hit.chunk.start, hit.chunk.end))


def test_exact_clause_lookup_ranks_the_clause_first(retriever):
    res = retriever.search("What does Section 3.3 of the Acme NDA say?", top_k=5)
    first = res.hits[0]
    assert first.via == "clause" and first.scores == {"lookup": 1.0}
    assert "3.3" in first.chunk.text and "archival copy" in first.chunk.text
    assert _doc(first) == "acme-beta-nda.txt"


def test_chinese_clause_lookup(retriever):
    res = retriever.search("第三条是怎么规定的？", top_k=3)
    assert res.hits[0].via == "clause"
    assert "不可抗力" in res.hits[0].chunk.text


def test_schedule_lookup(retriever):
    res = retriever.search("show me Schedule 2", top_k=3)
    assert res.hits[0].via == "clause" and "nightly backups" in res.hits[0].chunk.text


def test_question_naming_a_document_is_searched_inside_it(retriever):
    res = retriever.search("In the Acme/Beta NDA, how long does the agreement last?", top_k=8)
    assert res.trace.scoped_docs == ["acme-beta-nda.txt"]
    assert {_doc(h) for h in res.hits} == {"acme-beta-nda.txt"}


def test_selected_documents_restrict_the_search(retriever):
    res = retriever.search("payment", top_k=20, documents=["gamma-delta-msa.txt"])
    assert {_doc(h) for h in res.hits} == {"gamma-delta-msa.txt"}
    with pytest.raises(KeyError, match="no document"):
        retriever.search("payment", documents=["missing.pdf"])


def test_cross_lingual_sparse_weight_is_lowered(retriever):
    res = retriever.search("哪些情况属于不可抗力 force majeure?", top_k=10)
    for h in res.hits:
        factor = 1.0 if _doc(h) == "技术服务合同.txt" else 0.1
        assert h.scores["fused"] == pytest.approx(h.scores["dense"] + 0.3 * factor * h.scores["sparse"], abs=1e-6)


def test_colbert_rescoring_uses_stored_vectors(contract_collection, tiny_encoder):
    from rag.models.scoring import colbert_score

    r = Retriever(contract_collection, tiny_encoder, None, RetrievalOptions(rerank=False, colbert=True, spans=False))
    q = "return or destroy confidential information"
    res = r.search(q, top_k=5, scope_documents=False, clause_lookup=False)
    qv = tiny_encoder.encode([q], dense=False, sparse=False, colbert=True, query=True).colbert[0]
    stored = contract_collection.view().colbert([h.chunk.id for h in res.hits])
    for h, vecs in zip(res.hits, stored):
        assert h.scores["colbert"] == pytest.approx(float(colbert_score(qv, vecs)), abs=1e-3)
        want = (0.4 * h.scores["dense"] + 0.2 * h.scores["sparse"] + 0.4 * h.scores["colbert"]) / 1.0
        assert h.score == pytest.approx(want, abs=1e-6)
    assert "colbert" in res.trace.timings


def test_reranking_orders_by_the_cross_encoder(contract_collection, tiny_encoder, tiny_reranker):
    r = Retriever(contract_collection, tiny_encoder, tiny_reranker, RetrievalOptions(rerank=True, rerank_top=6))
    q = "late payment interest"
    res = r.search(q, top_k=6, scope_documents=False, clause_lookup=False)
    scores = [h.scores["rerank"] for h in res.hits]
    assert scores == sorted(scores, reverse=True)
    assert all(h.span is not None for h in res.hits)  # spans are on: the reranker scores the span
    direct = tiny_reranker.score([(q, res.hits[0].text)])
    assert scores[0] == pytest.approx(float(np.asarray(direct)[0]), abs=1e-4)
    assert "rerank" in res.trace.timings


def test_definitions_and_parent_heading_are_attached(retriever):
    res = retriever.search("Section 3.3", top_k=1)
    hit = res.hits[0]
    assert hit.via == "clause" and hit.chunk.text.lstrip().startswith("3.3")
    assert "Confidential Information" in dict(hit.definitions)
    assert "means any information" in dict(hit.definitions)["Confidential Information"]
    assert ("parent 3", "3. Term and Termination") in hit.context


def test_empty_question_and_empty_collection(retriever, tmp_path, tiny_encoder):
    from rag.store import ModelInfo, create_collection

    assert retriever.search("   ").hits == []
    empty = create_collection(tmp_path, "empty", ModelInfo(name=tiny_encoder.name, dim=tiny_encoder.dim,
                                                           sparse="lexical"))
    assert Retriever(empty, tiny_encoder).search("anything").hits == []
