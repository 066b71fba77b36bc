"""The rerank stage's latency budget and score cache, on a fake cross-encoder with a fake clock."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rag.config import Settings, load_settings
from rag.retrieve.question_cache import ScoreCache
from rag.retrieve.rerank_budget import RerankPolicy, policy_for, rerank_prefix


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeReranker:
    """Scores a pair by its passage's length; costs ``rate`` seconds per token on the fake clock."""

    name = "fake"

    def __init__(self, clock: FakeClock, rate: float = 0.01) -> None:
        self.clock, self.rate = clock, rate
        self.scored: list[int] = []  # token counts of every row computed, in call order
        self.policy = None

    def pair_ids(self, pairs):
        return [[0] * (len(q.split()) + len(p.split()) + 4) for q, p in pairs]

    def score_ids(self, rows):
        self.scored += [len(r) for r in rows]
        self.clock.now += self.rate * sum(len(r) for r in rows)
        return np.array([float(len(r)) for r in rows], dtype=np.float32)


def passages(n: int, words: int = 95) -> list[str]:
    return [" ".join([f"w{i}"] * words) for i in range(n)]  # with the one-word question "q": 95 + 1 + 4 specials = 100 tokens


def make(budget: float | None, rate: float = 0.01, min_candidates: int = 3, cache: int = 100):
    clock = FakeClock()
    policy = RerankPolicy(budget_s=budget, min_candidates=min_candidates, cache=ScoreCache(cache), clock=clock)
    return FakeReranker(clock, rate), policy


def test_without_budget_every_candidate_is_scored() -> None:
    rr, policy = make(None)
    got = rerank_prefix(rr, "q", passages(20), policy)
    assert len(got) == 20 and policy.last.computed == 20


def test_first_call_measures_on_the_floor_then_fills_the_budget() -> None:
    rr, policy = make(budget=5.0, rate=0.01)  # 100 tokens = 1 s per candidate
    got = rerank_prefix(rr, "q", passages(20), policy)
    assert rr.scored[:3] == [100, 100, 100]  # the floor, measured first
    assert len(got) == 5 and policy.last.scored == 5  # 5 s of budget at 1 s a candidate
    assert policy.seconds_per_token == pytest.approx(0.01)
    assert policy.last.seconds == pytest.approx(5.0)


def test_later_calls_use_the_learned_rate_and_adapt_to_a_faster_machine() -> None:
    rr, policy = make(budget=5.0, rate=0.01)
    rerank_prefix(rr, "q", passages(20), policy)
    rr.rate = 0.002  # five times faster (e.g. a lighter load): the estimate follows
    for i in range(6):
        rerank_prefix(rr, f"another question {i}", passages(20), policy)
    assert policy.last.scored == 20
    assert policy.last.seconds <= 5.0


def test_never_fewer_than_the_floor_even_over_budget() -> None:
    rr, policy = make(budget=0.5, rate=0.01, min_candidates=3)
    rerank_prefix(rr, "q", passages(20), policy)
    got = rerank_prefix(rr, "q2", passages(20), policy)
    assert len(got) == 3


def test_a_repeated_question_is_answered_from_the_cache() -> None:
    rr, policy = make(budget=5.0)
    first = rerank_prefix(rr, "What is the notice period?", passages(4), policy)
    computed = len(rr.scored)
    again = rerank_prefix(rr, "What is the  notice period? ", passages(4), policy)  # whitespace differs
    assert len(rr.scored) == computed  # nothing recomputed
    assert policy.last.cached == len(again) and policy.last.computed == 0
    np.testing.assert_array_equal(first, again[: len(first)])


def test_cached_candidates_cost_nothing_so_more_fit() -> None:
    rr, policy = make(budget=5.0)
    rerank_prefix(rr, "q", passages(20), policy)  # scores 5, caches them
    got = rerank_prefix(rr, "q", passages(20), policy)
    assert len(got) == 10 and policy.last.cached == 5 and policy.last.computed == 5


def test_scores_come_back_in_candidate_order() -> None:
    rr, policy = make(None)
    texts = [" ".join(["x"] * n) for n in (5, 50, 20)]
    got = rerank_prefix(rr, "q", texts, policy)
    np.testing.assert_array_equal(got, [5 + 1 + 4, 50 + 1 + 4, 20 + 1 + 4])


def test_cache_capacity_and_disabling() -> None:
    cache = ScoreCache(2)
    cache.put_many("m", "q", ["a", "b", "c"], [1.0, 2.0, 3.0])
    assert cache.get_many("m", "q", ["a", "b", "c"]) == [None, 2.0, 3.0]
    assert cache.get_many("other model", "q", ["b"]) == [None]
    off = ScoreCache(0)
    off.put_many("m", "q", ["a"], [1.0])
    assert len(off) == 0
    with pytest.raises(ValueError):
        ScoreCache(-1)


def test_policy_comes_from_the_settings_once() -> None:
    s = replace(Settings(), rerank_budget_s=0.0, rerank_min_candidates=7, rerank_cache_size=9)
    policy = RerankPolicy.from_settings(s)
    assert policy.budget_s is None and policy.min_candidates == 7 and policy.cache.capacity == 9
    rr, _ = make(None)
    built = policy_for(rr)
    assert policy_for(rr) is built  # kept on the reranker


def test_settings_read_from_the_environment() -> None:
    s = load_settings({"RAG_RERANK_BUDGET_S": "0.8", "RAG_RERANK_MIN_CANDIDATES": "2", "RAG_RERANK_CACHE_SIZE": "0"})
    assert (s.rerank_budget_s, s.rerank_min_candidates, s.rerank_cache_size) == (0.8, 2, 0)
    with pytest.raises(ValueError, match="RAG_RERANK_BUDGET_S"):
        load_settings({"RAG_RERANK_BUDGET_S": "-1"})


def test_a_plain_scorer_without_token_counts_scores_everything() -> None:
    class Plain:
        def score(self, pairs):
            return [float(len(p)) for _, p in pairs]

    assert list(rerank_prefix(Plain(), "q", ["ab", "abc"])) == [2.0, 3.0]
