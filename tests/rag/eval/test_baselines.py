"""bench/baselines.py: the plain baselines, whole corpus and told the right document."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bm25s")
pytest.importorskip("Stemmer")
pytest.importorskip("langchain_text_splitters")

from rag.eval.legalbench import Benchmark  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "bench_baselines", Path(__file__).resolve().parents[3] / "bench" / "baselines.py")
baselines = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(baselines)

WORDS = ["apple", "river", "stone", "cloud", "violet", "copper", "garden", "winter"]


def _embed(texts):
    """A toy bag-of-words embedder: enough to rank by shared words."""
    out = np.zeros((len(texts), len(WORDS)), np.float32)
    for i, t in enumerate(texts):
        for j, w in enumerate(WORDS):
            out[i, j] = t.lower().count(w)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def _doc(topic: str, filler: str) -> str:
    # three ~450-character paragraphs: RCTS makes one chunk of each
    paras = [f"{filler} " * 75, f"The {topic} {topic} clause. " + f"{filler} " * 70, f"{filler} " * 75]
    return "\n\n".join(p.strip() for p in paras)


def test_told_the_right_document_searches_only_its_chunks():
    texts = {"a.txt": _doc("copper", "stone"), "b.txt": _doc("copper", "cloud")}
    gold_start = texts["b.txt"].index("The copper")
    gold = [("b.txt", gold_start, gold_start + len("The copper copper clause."))]
    bench = Benchmark("fixture", ["copper clause"], [gold], ["a.txt", "b.txt"])
    results, n_chunks = baselines.run_baselines(bench, texts, _embed)
    assert n_chunks == 6
    assert set(results) == {"bm25", "dense", "hybrid", "bm25, right document", "dense, right document",
                            "hybrid, right document"}
    for name in ("bm25", "dense", "hybrid"):
        told = results[f"{name}, right document"][0]
        assert {f for f, _, _, _ in told} == {"b.txt"} and len(told) == 3
        # the chunk holding the gold sentence ranks first once the document is known
        f, s, e, _ = told[0]
        assert s <= gold[0][1] < gold[0][2] <= e
        # over the whole corpus both documents' chunks compete
        assert {f for f, _, _, _ in results[name][0]} == {"a.txt", "b.txt"}


def test_rcts_chunks_tile_the_text():
    text = "word " * 500
    spans = baselines.rcts_chunks(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert max(e - s for s, e in spans) <= 500


def test_rrf_fuses_by_reciprocal_rank():
    # 2: 1/62 + 1/61; 1: 1/61; 4: 1/62; 3: 1/63
    assert baselines.rrf([1, 2, 3], [2, 4]) == [2, 1, 4, 3]


def test_cache_embeds_each_text_once(tmp_path):
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return _embed(texts)

    run = baselines.cached(embed, tmp_path)
    first = run(["apple river", "stone"])
    again = baselines.cached(embed, tmp_path)(["stone", "cloud", "apple river"])
    assert calls == [["apple river", "stone"], ["cloud"]]
    assert np.allclose(again[0], first[1]) and np.allclose(again[2], first[0])
