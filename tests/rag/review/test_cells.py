"""Which units a cell cites: the combined score, with the retriever's best span hit breaking near ties."""

import numpy as np

from rag.review.cells import ScoringConfig, Signals, cite_scores, pick_spans
from rag.review.units import Units

UNITS = Units(np.array([0, 100, 200]), np.array([90, 190, 290]))


def _signals(hit_spans: list[tuple[int, int]]) -> Signals:
    query = np.array([0.50, 0.49, 0.10])
    return Signals(query=query, proto=None, hybrid=np.zeros(3, dtype=bool), hit_spans=hit_spans)


def test_the_retrievers_best_span_decides_between_near_equal_units() -> None:
    config = ScoringConfig(max_spans=1)
    plain = _signals([])
    assert pick_spans(UNITS, cite_scores(UNITS, plain, config), config) == [(0, 90)]
    helped = _signals([(120, 160), (0, 90)])  # best hit inside the second unit
    assert pick_spans(UNITS, cite_scores(UNITS, helped, config), config) == [(100, 190)]
    # the found/not-found score is the combined one, untouched by the citation bonus
    assert helped.combined(config).max() == plain.combined(config).max()


def test_a_clearly_better_unit_keeps_its_place_and_the_bonus_can_be_turned_off() -> None:
    sig = _signals([(200, 290)])
    config = ScoringConfig(max_spans=1)
    assert pick_spans(UNITS, cite_scores(UNITS, sig, config), config) == [(0, 90)]  # 0.10 + 0.05 < 0.50
    off = ScoringConfig(max_spans=1, cite_hit_weight=0.0)
    assert np.array_equal(cite_scores(UNITS, _signals([(120, 160)]), off), _signals([]).combined(off))
