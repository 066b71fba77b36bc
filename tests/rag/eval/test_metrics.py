import pytest

from rag.eval.metrics import char_precision_recall, merge_spans, mrr_at, ndcg_at, recall_at


def test_merge_spans_unions_overlaps_per_file():
    got = merge_spans([("a", 0, 10), ("a", 5, 20), ("b", 0, 5), ("a", 30, 40), ("a", 20, 25)])
    assert got == {"a": [(0, 25), (30, 40)], "b": [(0, 5)]}


def test_precision_recall_hand_computed():
    gold = [("a", 100, 200)]  # 100 gold characters
    retrieved = [("a", 150, 250), ("b", 0, 100), ("a", 0, 120)]
    p1, r1 = char_precision_recall(retrieved, gold, 1)
    assert (p1, r1) == pytest.approx((50 / 100, 50 / 100))
    p2, r2 = char_precision_recall(retrieved, gold, 2)
    assert (p2, r2) == pytest.approx((50 / 200, 0.5))
    p3, r3 = char_precision_recall(retrieved, gold, 3)
    # a: [0,120) + [150,250) = 220 chars, b: 100 chars; gold covered [100,120) + [150,200) = 70
    assert (p3, r3) == pytest.approx((70 / 320, 0.7))


def test_a_clause_and_its_own_subclause_earn_nothing_twice():
    gold = [("a", 0, 100)]
    once = char_precision_recall([("a", 0, 100)], gold, 2)
    twice = char_precision_recall([("a", 0, 100), ("a", 20, 60)], gold, 2)
    assert once == twice == (1.0, 1.0)


def test_empty_retrieval_scores_zero():
    assert char_precision_recall([], [("a", 0, 10)], 4) == (0.0, 0.0)


def test_beir_metrics_hand_computed():
    rel = {"d1": 1.0, "d3": 1.0}
    ranked = ["d2", "d1", "d3"]
    assert mrr_at(ranked, rel, 10) == 0.5
    assert recall_at(ranked, rel, 2) == 0.5 and recall_at(ranked, rel, 3) == 1.0
    import math
    dcg = 1 / math.log2(3) + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3)
    assert ndcg_at(ranked, rel, 10) == pytest.approx(dcg / idcg)


def test_budget_hand_computed():
    from rag.eval.metrics import char_precision_recall_at_budget, read_within_budget

    gold = [("a", 100, 200)]  # 100 gold characters
    retrieved = [("a", 150, 250), ("a", 150, 250), ("b", 0, 100), ("a", 0, 120)]
    # budget 60: a[150,210) read (cut); covers gold [150,200) = 50 -> P 50/60, R 0.5
    assert char_precision_recall_at_budget(retrieved, gold, 60) == pytest.approx((50 / 60, 0.5))
    # budget 250: a[150,250) 100, duplicate costs 0, b[0,100) 100, then a[0,50) 50 of [0,120)
    # read 250, gold covered 50 -> P 50/250, R 0.5
    assert read_within_budget(retrieved, 250) == {"a": [(0, 50), (150, 250)], "b": [(0, 100)]}
    assert char_precision_recall_at_budget(retrieved, gold, 250) == pytest.approx((50 / 250, 0.5))
    # budget 1000: everything, 320 chars read, gold covered [100,120)+[150,200) = 70
    assert char_precision_recall_at_budget(retrieved, gold, 1000) == pytest.approx((70 / 320, 0.7))
    # overlap only charges the unread part: [0,100) then [50,150) costs 50 -> [0,150) at budget 150
    assert read_within_budget([("a", 0, 100), ("a", 50, 150)], 150) == {"a": [(0, 150)]}
