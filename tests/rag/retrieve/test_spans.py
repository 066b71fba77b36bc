"""Small to big: spans ranked inside chunks, neighbours merged, the chunk kept as context."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ingest.units import Unit
from rag.documents import StoredChunk
from rag.retrieve import RetrievalOptions, Retriever
from rag.retrieve.hits import Hit
from rag.retrieve.spans import SpanWeights, _Entry, bm25_scores, rank_spans

TEXT = "Alpha one. Beta two. Gamma three. Delta four."  # four 10-12 character units


def _chunk(cid: int = 1, start: int = 0, text: str = TEXT) -> StoredChunk:
    return StoredChunk(cid, 7, "doc.txt", start, start + len(text), text, "1", ("1 Heading",), (1, 1))


def _units(text: str = TEXT, base: int = 0) -> list[Unit]:
    out, pos = [], 0
    for part in text.split(". "):
        part = part if part.endswith(".") else part + "."
        i = text.index(part, pos)
        out.append(Unit(base + i, base + i + len(part)))
        pos = i + len(part)
    return out


def _entry(units: list[Unit], sims: list[float]) -> _Entry:
    """Unit vectors whose dot product with the query e0 is ``sims``."""
    vecs = np.array([[s, math.sqrt(max(0.0, 1 - s * s))] for s in sims], dtype=np.float32)
    return _Entry(units, vecs, [{} for _ in units])


Q = np.array([1.0, 0.0], dtype=np.float32)
ONLY_DENSE = SpanWeights(dense=1.0, sparse=0.0, parent=0.0, merge_chars=0)  # no merging
MERGING = SpanWeights(dense=1.0, sparse=0.0, parent=0.0, merge_window=1)


def _pages(doc_id: int, start: int, end: int) -> tuple[int, int]:
    return (1, 1)


def test_units_rank_by_their_own_score_and_point_into_the_chunk():
    chunk = _chunk()
    hits = rank_spans([Hit(chunk, 1.0, {"fused": 1.0})], [_entry(_units(), [0.1, 0.9, 0.2, 0.5])],
                      Q, None, "bm25", ONLY_DENSE, _pages)
    assert [h.text for h in hits] == ["Beta two.", "Delta four.", "Gamma three.", "Alpha one."]
    for h in hits:
        assert h.chunk is chunk and TEXT[h.start:h.end] == h.text
        assert h.scores["fused"] == 1.0 and "span_dense" in h.scores


def test_neighbouring_hits_in_one_chunk_are_merged_not_listed_twice():
    chunk = _chunk()
    # units 1 and 2 (Beta, Gamma) rank first and second: one hit covering both
    hits = rank_spans([Hit(chunk, 1.0)], [_entry(_units(), [0.1, 0.9, 0.8, 0.0])], Q, None, "bm25",
                      MERGING, _pages)
    assert [h.text for h in hits] == ["Beta two. Gamma three.", "Alpha one.", "Delta four."]
    assert hits[0].score == pytest.approx(0.9, abs=1e-6)
    spans = [(h.start, h.end) for h in hits]
    assert len(set(spans)) == len(spans)
    covered = sorted(spans)
    for (a, b), (c, d) in zip(covered, covered[1:]):
        assert b <= c  # no character listed twice


def test_merging_stops_at_the_size_cap_and_the_rank_window():
    chunk = _chunk()
    capped = rank_spans([Hit(chunk, 1.0)], [_entry(_units(), [0.1, 0.9, 0.8, 0.0])], Q, None, "bm25",
                        SpanWeights(dense=1.0, sparse=0.0, parent=0.0, merge_chars=12), _pages)
    assert [h.text for h in capped[:2]] == ["Beta two.", "Gamma three."]
    # Alpha (rank 4) is next to Beta (rank 1), but ranks too far below it to be pulled forward
    far = rank_spans([Hit(chunk, 1.0)], [_entry(_units(), [0.2, 0.9, 0.5, 0.4])], Q, None, "bm25",
                     SpanWeights(dense=1.0, sparse=0.0, parent=0.0, merge_window=1), _pages)
    assert far[0].text == "Beta two. Gamma three."
    assert [h.text for h in far][1:] == ["Delta four.", "Alpha one."]


def test_units_of_different_chunks_are_never_merged():
    a, b = _chunk(1, 0), _chunk(2, 100)
    hits = rank_spans([Hit(a, 1.0), Hit(b, 0.5)],
                      [_entry(_units(), [0.0, 0.0, 0.0, 0.9]), _entry(_units(base=100), [0.8, 0.0, 0.0, 0.0])],
                      Q, None, "bm25", ONLY_DENSE, _pages)
    assert hits[0].chunk.id == 1 and hits[0].text == "Delta four."
    assert hits[1].chunk.id == 2 and hits[1].text == "Alpha one."


def test_the_parent_score_lifts_units_of_better_chunks():
    a, b = _chunk(1, 0), _chunk(2, 100)
    entries = [_entry(_units(), [0.5, 0.0, 0.0, 0.0]), _entry(_units(base=100), [0.6, 0.0, 0.0, 0.0])]
    flat = rank_spans([Hit(a, 1.0), Hit(b, 0.2)], entries, Q, None, "bm25", ONLY_DENSE, _pages)
    lifted = rank_spans([Hit(a, 1.0), Hit(b, 0.2)], entries, Q, None, "bm25",
                        SpanWeights(dense=1.0, sparse=0.0, parent=0.5), _pages)
    assert flat[0].chunk.id == 2 and lifted[0].chunk.id == 1
    assert lifted[0].score == pytest.approx(0.5 + 0.5 * 1.0, abs=1e-6)


def test_bm25_scores_by_hand():
    # two docs, the query term in the first only: idf = ln(1 + (2 - 1 + .5) / (1 + .5)) = ln 2
    docs = [{1: 2.0, 2: 1.0}, {2: 1.0}]
    got = bm25_scores({1: 1.0}, docs)
    avg = 2.0
    want = math.log(2) * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / avg))
    assert got[0] == pytest.approx(want) and got[1] == 0.0


def test_a_span_outside_its_chunk_is_refused():
    with pytest.raises(ValueError, match="outside its chunk"):
        Hit(_chunk(), 1.0, span=(5, 500))


# -- through the pipeline, on the tiny BGE-M3 checkpoint ------------------------------------------------

@pytest.fixture()
def retriever(contract_collection, tiny_encoder):
    return Retriever(contract_collection, tiny_encoder, None, RetrievalOptions(rerank=False, colbert=False))


def test_pipeline_returns_spans_with_their_chunk_as_context(retriever, contract_collection):
    res = retriever.search("archival copy kept by the legal department", top_k=8,
                           documents=["acme-beta-nda.txt"], span_weights=SpanWeights(merge_chars=0))
    assert res.hits and "spans" in res.trace.timings
    view = contract_collection.view()
    for h in res.hits:
        doc = view.document(h.chunk.doc_id)
        assert h.chunk.start <= h.start < h.end <= h.chunk.end
        assert doc.text[h.start:h.end] == h.text
        assert {"span_dense", "span", "fused"} <= set(h.scores)
    assert any(h.is_span for h in res.hits)
    # no character is listed twice within one chunk
    by_chunk: dict[int, list[tuple[int, int]]] = {}
    for h in res.hits:
        by_chunk.setdefault(h.chunk.id, []).append((h.start, h.end))
    for spans in by_chunk.values():
        spans.sort()
        assert all(b <= c for (_, b), (c, _) in zip(spans, spans[1:]))


def test_clause_lookup_still_returns_the_whole_clause(retriever):
    res = retriever.search("What does Section 3.3 of the Acme NDA say?", top_k=3)
    assert res.hits[0].via == "clause" and res.hits[0].span is None
    assert res.hits[0].text == res.hits[0].chunk.text


def test_spans_off_gives_chunks(retriever):
    res = retriever.search("late payment interest", top_k=4, spans=False)
    assert res.hits and all(h.span is None for h in res.hits)


class _CountingEncoder:
    """Stands in for an encoder: unit vectors, and a record of what it was asked to embed."""

    tokenizer = None

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts, dense=True, sparse=False, colbert=False, **kw):
        from types import SimpleNamespace

        self.calls.append(list(texts))
        return SimpleNamespace(dense=np.ones((len(texts), 2), np.float32) / np.sqrt(2), sparse=None)


def test_units_are_embedded_once_with_title_and_heading_path_and_the_cache_is_bounded():
    from rag.retrieve.spans import UnitIndex

    enc = _CountingEncoder()
    index = UnitIndex(enc, "bm25", max_chunks=2)
    a, b, c = _chunk(1, 0), _chunk(2, 100), _chunk(3, 200)
    text = " " * 300
    for ch in (a, b, c):
        text = text[: ch.start] + ch.text + text[ch.end:]
    got = index.entries([a, b], lambda d: text, lambda d: [])
    assert [len(e.units) for e in got] == [len(got[0].units)] * 2 and len(enc.calls) == 1
    assert enc.calls[0][0].startswith("doc\n\n")  # the document's title, as chunks are embedded
    index.entries([b, a], lambda d: text, lambda d: [])
    assert len(enc.calls) == 1  # cached
    index.entries([c], lambda d: text, lambda d: [])
    assert set(index._entries) == {1, 3}  # least recently used chunk 2 evicted


@pytest.mark.parametrize("drop", ["sparse", "both"])
def test_words_naming_the_document_are_dropped_inside_it(retriever, drop):
    q = "In the Acme Robotics and Beta Logistics agreement, who keeps an archival copy?"
    res = retriever.search(q, top_k=4, drop_naming_words=drop)
    assert res.trace.scoped_docs == ["acme-beta-nda.txt"]
    note = [n for n in res.trace.notes if n.startswith("ranked inside the named document(s)")]
    assert note and "Acme" not in note[0] and "archival copy" in note[0] and drop in note[0]
    assert res.hits and all(h.chunk.doc_name == "acme-beta-nda.txt" for h in res.hits)
    plain = retriever.search(q, top_k=4, drop_naming_words="none")
    assert not [n for n in plain.trace.notes if n.startswith("ranked inside")]
    with pytest.raises(ValueError, match="drop_naming_words"):
        retriever.search(q, top_k=4, drop_naming_words="yes")
