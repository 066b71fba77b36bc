import numpy as np
import pytest

from rag.review.metrics import average_precision, jaccard, location_match, precision_at_recall


def test_average_precision_by_hand() -> None:
    # ranks: + - + -  -> AP = (1/1 + 2/3) / 2
    assert average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([0.5, 0.5], [1, 0]) == pytest.approx(0.5)  # a tie counts together
    assert np.isnan(average_precision([0.1, 0.2], [0, 0]))


def test_average_precision_matches_scikit_learn() -> None:
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    for _ in range(5):
        s = rng.integers(0, 15, 120).astype(float)
        y = rng.integers(0, 2, 120)
        assert average_precision(s, y) == pytest.approx(sklearn.average_precision_score(y, s))


def test_precision_at_recall() -> None:
    # 5 positives; 80% recall needs 4 of them: best precision among thresholds reaching it
    scores = [9, 8, 7, 6, 5, 4, 3, 2]
    labels = [1, 1, 0, 1, 1, 0, 0, 1]
    assert precision_at_recall(scores, labels, 0.8) == pytest.approx(4 / 5)
    assert precision_at_recall(scores, labels, 1.0) == pytest.approx(5 / 8)


def test_location() -> None:
    assert jaccard((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert location_match([(0, 10)], [(20, 30)]) == (False, 0.0)
    hit, best = location_match([(0, 10), (20, 30)], [(22, 30)])
    assert hit and best == pytest.approx(0.8)


def test_calibration_fit_is_increasing_and_separates() -> None:
    from rag.review.calibration import fit_logistic

    raw = np.r_[np.linspace(0.2, 0.5, 30), np.linspace(0.45, 0.9, 30)]
    y = np.r_[np.zeros(30), np.ones(30)]
    cal = fit_logistic(raw, y)
    assert cal.a > 0 and cal.probability(0.9) > 0.9 and cal.probability(0.2) < 0.1
    assert 0.4 < cal.threshold < 0.55
    # nearly every contract has it and the scores say nothing: a constant near the base rate
    flat = fit_logistic(np.r_[np.linspace(0.8, 0.2, 62), [0.9, 0.95]], np.r_[np.ones(62), [0, 0]])
    assert flat.a > 0 and 0.9 < flat.probability(0.5) < 0.99
