"""rag.eval.legalbench: offsets back to the original files, and scores at @k and at budgets."""

import pytest

from ingest.canonical import clean_text
from rag.eval.legalbench import Benchmark, OffsetMap, hit_span, score


def test_offset_map_undoes_known_canonicalization_changes():
    # CRLF and CR line ends, a NUL, a form feed, a Unicode line separator and a byte-order mark
    original = "\ufeffAlpha\r\nBeta\x00 gamma\rDelta\x0cEpsilon\u2028zeta\x07\x07 eta"
    canonical = clean_text(original[1:])
    assert canonical == "Alpha\nBeta gamma\nDelta\nEpsilon\nzeta eta"
    m = OffsetMap(canonical, original)
    assert not m.aligned  # mapped by the canonicaliser, not by an alignment
    for word in ("Alpha", "Beta", "gamma", "Delta", "Epsilon", "zeta", "eta"):
        s = canonical.index(word) if word != "eta" else canonical.rindex("eta")
        e = s + len(word)
        assert original[m(s):m.end(e)] == word
    # a span across changed characters covers exactly the original characters between
    s, e = canonical.index("Beta"), canonical.index("gamma") + 5
    assert original[m(s):m.end(e)] == "Beta\x00 gamma"
    s, e = canonical.index("zeta"), len(canonical)
    assert original[m(s):m.end(e)] == "zeta\x07\x07 eta"
    assert m.end(len(canonical)) == len(original)


def test_offset_map_identity_and_fallback():
    assert OffsetMap("same text", "same text")(4) == 4
    # a stored text that is not the original's canonical form still maps (by alignment)
    m = OffsetMap("Hello world", "Hello, world")
    assert m.aligned
    assert m(6) == 7


def test_score_reports_k_and_budget_figures():
    bench = Benchmark("fixture", ["q"], [[("a.txt", 100, 200)]], ["a.txt"])
    # two 1,000-character spans: the second holds the gold; at 1,000 characters only the first is read
    ranked = [[("a.txt", 1000, 2000, 0.9), ("a.txt", 0, 1000, 0.5)]]
    out = score(ranked, bench)
    assert out["R@1"] == 0 and out["R@2"] == pytest.approx(100)
    assert out["R@1000ch"] == 0 and out["P@1000ch"] == 0
    assert out["R@2000ch"] == pytest.approx(100)
    assert out["P@2000ch"] == pytest.approx(100 * 100 / 2000)
    assert out["P@4000ch"] == pytest.approx(100 * 100 / 2000)  # the list ran out: 2,000 read


class _Chunk:
    start, end, doc_name = 10, 90, "a.txt"


class _Hit:
    chunk = _Chunk()


def test_hit_span_prefers_a_hits_own_span():
    h = _Hit()
    assert hit_span(h) == (10, 90)
    h.span = (20, 40)
    assert hit_span(h) == (20, 40)


def test_paired_benchmark_asks_its_questions_over_the_other_benchmarks_documents(tmp_path):
    import json

    from rag.eval.legalbench import load_paired

    def bench(name, tests):
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps({"tests": [{"query": q, "snippets": [{"file_path": f, "span": [0, 5]}]}
                                           for q, f in tests]}))
        return p

    by_stem = bench("stems", [("q1 a", "a.txt"), ("q2 b", "b.txt"), ("q3 c", "c.txt"), ("q4 d", "d.txt")])
    by_party = bench("parties", [("p1 a", "a.txt"), ("p2 b", "b.txt"), ("p3 c", "c.txt"), ("p4 d", "d.txt")])
    got = load_paired(by_party, 2, by_stem)
    assert got.files == ["a.txt", "c.txt"]  # the stems benchmark's even spread of 2
    assert got.queries == ["p1 a", "p3 c"]
    assert load_paired(by_party, None, None).files == ["a.txt", "b.txt", "c.txt", "d.txt"]
