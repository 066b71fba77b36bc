"""How a review is scored: presence (AUPR, precision at a recall) and location (overlap, Jaccard).

AUPR is average precision (the area under the step precision-recall curve, as scikit-learn's
``average_precision_score``; ties are taken together). Precision at 80% recall is the best
precision among the thresholds that reach that recall (CUAD's "precision at 80% recall").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at every distinct threshold, highest threshold first."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order].astype(np.float64)
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the end of each run of tied scores
    tp, fp = tp[last], fp[last]
    return tp / (tp + fp), tp / max(y.sum(), 1.0)


def average_precision(scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if labels.sum() == 0:
        return float("nan")
    precision, recall = _curve(scores, labels)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def precision_at_recall(scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray,
                        recall: float = 0.8) -> float:
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if labels.sum() == 0:
        return float("nan")
    precision, rec = _curve(scores, labels)
    ok = rec >= recall - 1e-12
    return float(precision[ok].max()) if ok.any() else 0.0


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def jaccard(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = overlap(a, b)
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def location_match(cited: Sequence[tuple[int, int]], gold: Sequence[tuple[int, int]]) -> tuple[bool, float]:
    """Whether any cited span overlaps a gold span, and the best Jaccard of a cited and a gold span."""
    best = max((jaccard(c, g) for c in cited for g in gold), default=0.0)
    hit = any(overlap(c, g) > 0 for c in cited for g in gold)
    return hit, best
