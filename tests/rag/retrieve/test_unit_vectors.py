"""Unit vectors on disk: filled at ingest, read by the first question, content-addressed."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.units import Unit
from rag.retrieve import RetrievalOptions, Retriever
from rag.retrieve.unit_vectors import (
    FILE_NAME,
    ChunkKey,
    UnitVectors,
    UnitVectorStore,
    model_key,
    store_for,
)


def _uv(n: int, dim: int = 4, lexical: bool = True) -> UnitVectors:
    rng = np.random.default_rng(n)
    dense = rng.normal(size=(n, dim)).astype(np.float16).astype(np.float32)
    units = [Unit(10 * i, 10 * i + 8, ("1 Definitions", "1.1"), "1.1") for i in range(n)]
    sparse = [{7: 0.25 * (i + 1), 12: 0.5} for i in range(n)] if lexical else []
    return UnitVectors(units, dense, sparse)


def test_store_round_trip_and_keys(tmp_path):
    store = UnitVectorStore(tmp_path / FILE_NAME)
    a, b = ChunkKey("h1", "Acme NDA", 0, 40), ChunkKey("h1", "Acme NDA", 40, 80)
    store.put([(a, _uv(3)), (b, _uv(2))], "m", "v", "lexical")
    got = store.get([a, b, ChunkKey("h2", "Acme NDA", 0, 40)], "m", "v", "lexical")
    assert set(got) == {a, b}  # another document's content is another key
    assert got[a].units == _uv(3).units
    np.testing.assert_array_equal(got[a].dense, _uv(3).dense)
    assert got[a].sparse == _uv(3).sparse
    # another model, unit version or title is a miss, never a wrong vector
    assert not store.get([a], "other", "v", "lexical")
    assert not store.get([a], "m", "v2", "lexical")
    assert not store.get([ChunkKey("h1", "Renamed", 0, 40)], "m", "v", "lexical")
    # BM25 collections store no sparse weights: the caller recomputes term counts from the text
    store.put([(a, _uv(3, lexical=False))], "m", "v", "bm25")
    assert store.get([a], "m", "v", "bm25")[a].sparse == []


def test_no_folder_means_memory_only():
    class NoFolder:
        path = None

    assert store_for(NoFolder()) is None


class _Counting:
    """Wraps an encoder and counts the texts it embeds (question excluded)."""

    def __init__(self, encoder):
        self._enc = encoder
        self.embedded = 0

    def __getattr__(self, name):
        return getattr(self._enc, name)

    def encode(self, texts, *args, query=False, **kw):
        if not query:
            self.embedded += len(texts)
        return self._enc.encode(texts, *args, query=query, **kw)


def test_ingest_fills_the_store_and_the_first_question_embeds_nothing(tmp_path, contract_files, tiny_encoder):
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import discover, ingest
    from rag.store import ModelInfo, create_collection

    info = ModelInfo(name=tiny_encoder.name, dim=tiny_encoder.dim, sparse="lexical")
    col = create_collection(tmp_path, "c", info)
    report = ingest(discover([contract_files]), col, tiny_encoder,
                    chunking=ChunkingConfig(target_tokens=64, max_tokens=128, min_tokens=16))
    assert not report.failed
    store = store_for(col)
    assert store is not None and (col.path / FILE_NAME).is_file()
    assert store.count() == sum(f.chunks for f in report.files)  # every chunk of every document

    enc = _Counting(tiny_encoder)
    retriever = Retriever(col, enc, None, RetrievalOptions(rerank=False, colbert=False))
    res = retriever.search("archival copy kept by the legal department", top_k=8)
    assert res.hits and any(h.span is not None for h in res.hits)  # ranked by the span stage, from its units
    assert enc.embedded == 0  # all from disk
    index = retriever._cache._units  # type: ignore[union-attr]
    assert index.loaded > 0 and index.embedded == 0

    # a collection built before the store existed: embedded on first use, then read from disk
    (col.path / FILE_NAME).unlink()
    for suffix in ("-wal", "-shm"):
        (col.path / (FILE_NAME + suffix)).unlink(missing_ok=True)
    cold = Retriever(col, _Counting(tiny_encoder), None, RetrievalOptions(rerank=False, colbert=False))
    first = cold.search("archival copy kept by the legal department", top_k=8)
    assert cold.encoder.embedded > 0
    warm = Retriever(col, _Counting(tiny_encoder), None, RetrievalOptions(rerank=False, colbert=False))
    again = warm.search("archival copy kept by the legal department", top_k=8)
    assert warm.encoder.embedded == 0
    # the same ranking whether the vectors were embedded now or read back (float16 both ways)
    assert [(h.start, h.end) for h in again.hits] == [(h.start, h.end) for h in first.hits]
    assert [h.score for h in again.hits] == pytest.approx([h.score for h in first.hits], abs=1e-6)
    assert [(h.start, h.end) for h in res.hits] == [(h.start, h.end) for h in first.hits]


def test_model_key_names_the_encoder(tiny_encoder):
    assert tiny_encoder.name in model_key(tiny_encoder, "lexical")
    assert model_key(tiny_encoder, "lexical") != model_key(tiny_encoder, "bm25")


def test_a_failing_unit_store_never_fails_the_file(tmp_path, contract_files, tiny_encoder, monkeypatch, caplog):
    import rag.retrieve.unit_vectors as uv
    from ingest.pipeline import discover, ingest
    from rag.store import ModelInfo, create_collection

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(uv, "fill_document", broken)
    col = create_collection(tmp_path, "c", ModelInfo(name=tiny_encoder.name, dim=tiny_encoder.dim, sparse="lexical"))
    report = ingest(discover([contract_files]), col, tiny_encoder)
    assert not report.failed and report.count("added") == 3
    assert "unit vectors not stored (disk full)" in caplog.text


def test_ingest_reports_the_unit_pass_after_each_commit(tmp_path, contract_files, tiny_encoder):
    """Progress bars follow the second embedding pass too (with BGE-M3 on a CPU the longer one):
    per file, its chunk batches, then, once it is committed and searchable, its units' batches."""
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import discover, ingest
    from rag.store import ModelInfo, create_collection

    info = ModelInfo(name=tiny_encoder.name, dim=tiny_encoder.dim, sparse="lexical")
    col = create_collection(tmp_path, "c", info)
    events: list[tuple] = []

    def on_units(name, done, total):
        searchable = {d.name for d in col.view().documents()}
        events.append(("units", name, done, total, name in searchable))

    report = ingest(discover([contract_files]), col, tiny_encoder,
                    chunking=ChunkingConfig(target_tokens=64, max_tokens=128, min_tokens=16),
                    on_file=lambda i, n, name: events.append(("file", name)),
                    on_batch=lambda done, total: events.append(("chunks", done, total)),
                    on_units=on_units)
    added = [f for f in report.files if f.status == "added"]
    assert len(added) >= 2
    for f in added:
        start = events.index(("file", f.name))
        end = next((i for i, e in enumerate(events) if i > start and e[0] == "file"), len(events))
        kinds = [e[0] for e in events[start + 1:end]]
        assert kinds and kinds == sorted(kinds)  # all "chunks" batches, then all "units" batches
        units = [e for e in events[start + 1:end] if e[0] == "units"]
        assert units and all(e[1] == f.name and e[4] for e in units)  # committed before its units
        assert units[-1][2] == units[-1][3] > 0  # the bar ends full
    assert store_for(col).count() == sum(f.chunks for f in report.files)
