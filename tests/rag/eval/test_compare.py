"""rag.eval.compare: dev / held-out halves as bench/span_tuning.py cuts them, paired differences."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from rag.eval.compare import compare, paired, read_dump, split
from rag.eval.legalbench import Benchmark


def test_the_halves_are_span_tunings():
    path = Path(__file__).resolve().parents[3] / "bench" / "span_tuning.py"
    spec = importlib.util.spec_from_file_location("span_tuning_for_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for n in (7, 150, 977):
        assert split(n) == module.split(n)
        dev, held = split(n)
        assert sorted(dev + held) == list(range(n)) and len(dev) == n // 2


def test_paired_difference_and_interval():
    mean, lo, hi, better, worse = paired([0.0, 0.5, 1.0, 1.0], [1.0, 0.5, 1.0, 0.0])
    assert mean == 0.0 and lo < 0 < hi and (better, worse) == (1, 1)
    mean, lo, hi, better, worse = paired([0.0] * 20, [1.0] * 20)
    assert mean == lo == hi == 1.0 and (better, worse) == (20, 0)
    with pytest.raises(ValueError):
        paired([1.0], [1.0, 0.0])


def _dump(path: Path, spans: list[list[tuple[str, int, int]]]) -> Path:
    path.write_text("\n".join(json.dumps({"query_index": i, "retrieved": [
        {"file_path": f, "span": [s, e], "score": 1.0} for f, s, e in r]}) for i, r in enumerate(spans)) + "\n")
    return path


def test_compare_reads_dumps_and_scores_both(tmp_path):
    bench = Benchmark("fixture", ["q1", "q2"], [[("a.txt", 0, 100)], [("b.txt", 0, 100)]], ["a.txt", "b.txt"])
    before = _dump(tmp_path / "before.jsonl", [[("b.txt", 0, 100)], [("b.txt", 0, 100)]])
    after = _dump(tmp_path / "after.jsonl", [[("a.txt", 0, 100)], [("b.txt", 0, 100)]])
    assert read_dump(after)[0] == [("a.txt", 0, 100)]
    (row,) = compare(bench, before, after, [2000])
    assert row["before_all"] == 50.0 and row["after_all"] == 100.0
    assert row["diff"] == 50.0 and (row["better"], row["worse"]) == (1, 0)
    with pytest.raises(ValueError, match="not the same run"):
        compare(Benchmark("x", ["q"], [[("a.txt", 0, 1)]]), before, after, [2000])
