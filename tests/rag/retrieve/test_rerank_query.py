"""What the cross-encoder reads: inside the documents a question names, only what it asks."""

from __future__ import annotations

import numpy as np
import pytest

from rag.retrieve import RetrievalOptions, Retriever
from rag.retrieve.question_cache import ScoreCache
from rag.retrieve.rerank_budget import RerankPolicy


class _Recording:
    """Wraps a reranker and records the question of every pair it scores (no score cache)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.questions: list[str] = []
        self.policy = RerankPolicy(budget_s=None, cache=ScoreCache(0))

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def pair_ids(self, pairs):
        self.questions += [q for q, _ in pairs]
        return self.inner.pair_ids(pairs)


def _retriever(collection, encoder, reranker) -> Retriever:
    return Retriever(collection, encoder, reranker, RetrievalOptions(rerank=True, rerank_top=4, colbert=False))


def test_inside_the_named_document_the_reranker_reads_the_asked_part(contract_collection, tiny_encoder,
                                                                      tiny_reranker):
    rr = _Recording(tiny_reranker)
    r = _retriever(contract_collection, tiny_encoder, rr)
    res = r.search("In the Acme Beta NDA, how long does the agreement last?", top_k=4)
    assert res.trace.scoped_docs == ["acme-beta-nda.txt"]
    assert rr.questions and set(rr.questions) == {"how long does the agreement last?"}
    assert any("reranked inside the named document(s) for: how long does the agreement last?" in n
               for n in res.trace.notes)
    # the scores are the cross-encoder's on (asked part, span text)
    direct = tiny_reranker.score([("how long does the agreement last?", res.hits[0].text)])
    assert res.hits[0].scores["rerank"] == pytest.approx(float(np.asarray(direct)[0]), abs=1e-4)


def test_the_whole_question_is_read_when_asked_for_or_when_nothing_is_named(contract_collection, tiny_encoder,
                                                                             tiny_reranker):
    rr = _Recording(tiny_reranker)
    r = _retriever(contract_collection, tiny_encoder, rr)
    q = "In the Acme Beta NDA, how long does the agreement last?"
    res = r.search(q, top_k=4, rerank_query="question")
    assert set(rr.questions) == {q}
    assert not any("reranked inside" in n for n in res.trace.notes)
    rr.questions.clear()
    r.search("how long does the agreement last?", top_k=4, scope_documents=False)
    assert set(rr.questions) == {"how long does the agreement last?"}
    with pytest.raises(ValueError, match="rerank_query"):
        r.search(q, top_k=4, rerank_query="title")


def test_in_a_collection_of_one_contract_its_name_is_not_read_against_every_passage(tmp_path, tiny_encoder,
                                                                                     tiny_reranker):
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import discover, ingest
    from rag.store import ModelInfo
    from rag.store.milvus import open_backend_collection
    from tests.rag.retrieve.conftest import CHUNKING, SERVICES

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "Gamma_Delta_Software_Bank_MSA_20230502.txt").write_text(SERVICES, encoding="utf-8")
    info = ModelInfo(name=tiny_encoder.name, dim=tiny_encoder.dim, sparse="lexical")
    col = open_backend_collection(None, "one", data_dir=tmp_path / "data", create=True, info=info)
    assert not ingest(discover([tmp_path / "docs"]), col, tiny_encoder, chunking=ChunkingConfig(**CHUNKING)).failed
    rr = _Recording(tiny_reranker)
    r = _retriever(col, tiny_encoder, rr)
    # with one document every word's idf is low: naming it takes its title and file name, as
    # CUAD's questions do ("Consider the <title> (<file name>); ...")
    r.search("Consider the MASTER SERVICES AGREEMENT (Gamma_Delta_Software_Bank_MSA_20230502); "
             "who pays late interest?", top_k=4)
    assert set(rr.questions) == {"who pays late interest?"}
    rr.questions.clear()
    r.search("What interest is due on late payments?", top_k=4)  # names nothing: read as it is
    assert set(rr.questions) == {"What interest is due on late payments?"}
