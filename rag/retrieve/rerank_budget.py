"""How many fused candidates the cross-encoder scores: as many as fit a latency budget.

Why: a cross-encoder's cost is close to linear in the tokens it reads, and how fast those tokens go
depends on the machine (a GPU scores 20 candidates in tens of milliseconds, a shared 2-core CPU
needs many seconds for full-length passages with bge-reranker-v2-m3). A fixed candidate count is
therefore either slow on a CPU or wasteful on a GPU. The policy keeps a running estimate of the
reranker's seconds per token, measured on its own recent calls, and scores the longest prefix of
the fused ranking whose predicted cost fits ``budget_s`` (at least ``min_candidates``). Before the
first measurement it scores ``min_candidates`` first, measures, then spends the rest of the budget.

Scores already known for the same question and passage (:mod:`rag.retrieve.question_cache`) cost
nothing and are not recomputed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.retrieve.question_cache import ScoreCache


@dataclass
class RerankReport:
    """What one call did: candidates offered, scored (prefix length), computed, from cache, seconds."""

    offered: int = 0
    scored: int = 0
    computed: int = 0
    cached: int = 0
    tokens: int = 0
    seconds: float = 0.0
    predicted_s: float | None = None


@dataclass
class RerankPolicy:
    """Latency budget (seconds; ``None`` or 0 scores every candidate), floor, and score cache.

    ``seconds_per_token`` is learned from the reranker's own calls (exponential moving average).
    """

    budget_s: float | None = 1.5
    min_candidates: int = 3
    cache: ScoreCache = field(default_factory=ScoreCache)
    seconds_per_token: float | None = None
    smoothing: float = 0.5
    last: RerankReport = field(default_factory=RerankReport)
    #: the clock the budget is measured with (injectable so tests never depend on timing)
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Any) -> RerankPolicy:
        budget = float(settings.rerank_budget_s)
        return cls(budget_s=budget if budget > 0 else None, min_candidates=int(settings.rerank_min_candidates),
                   cache=ScoreCache(int(settings.rerank_cache_size)))

    def observe(self, tokens: int, seconds: float) -> None:
        """Fold one measured call into the seconds-per-token estimate."""
        if tokens <= 0 or seconds <= 0:
            return
        rate = seconds / tokens
        with self._lock:
            old = self.seconds_per_token
            self.seconds_per_token = rate if old is None else (1 - self.smoothing) * old + self.smoothing * rate

    def affordable(self, costs: Sequence[int], spent_s: float = 0.0, start: int = 0) -> int:
        """Length of the prefix (from index ``start`` on, counted from 0) whose predicted cost fits.

        ``costs[i]`` is candidate ``i``'s tokens, 0 when its score is cached. Always at least
        ``min_candidates`` (and ``start``); everything when there is no budget or no estimate yet.
        """
        n = len(costs)
        if not self.budget_s or self.seconds_per_token is None:
            return n
        k, total = start, spent_s
        while k < n:
            total += costs[k] * self.seconds_per_token
            if total > self.budget_s and k >= self.min_candidates:
                break
            k += 1
        return max(k, min(self.min_candidates, n))


def policy_for(reranker: Any) -> RerankPolicy:
    """The reranker's policy; built from the settings (``RAG_RERANK_BUDGET_S`` ...) on first use."""
    policy = getattr(reranker, "policy", None)
    if policy is None:
        from rag.config import load_settings

        policy = RerankPolicy.from_settings(load_settings())
        reranker.policy = policy
    return policy


def rerank_prefix(reranker: Any, question: str, passages: Sequence[str],
                  policy: RerankPolicy | None = None) -> np.ndarray:
    """Cross-encoder scores of the first ``k`` passages (fused order), ``k`` chosen by the policy.

    The returned array's length is ``k``; the caller keeps the remaining candidates in fused order.
    """
    passages = list(passages)
    if not passages:
        return np.zeros(0, dtype=np.float64)
    if not hasattr(reranker, "pair_ids"):  # a plain scorer: no token counts to budget with
        return np.asarray(reranker.score([(question, p) for p in passages]), dtype=np.float64)
    policy = policy or policy_for(reranker)
    model = f"{reranker.name}|{getattr(reranker, 'dtype', '')}|{getattr(reranker, 'max_length', '')}"
    known = policy.cache.get_many(model, question, passages)
    todo = [(question, p) for p, s in zip(passages, known) if s is None]
    rows = reranker.pair_ids(todo) if todo else []
    row_of = iter(rows)
    costs = [0 if s is not None else len(next(row_of)) for s in known]
    todo_rows = {i: r for i, r in zip((i for i, s in enumerate(known) if s is None), rows)}
    report = RerankReport(offered=len(passages), cached=sum(s is not None for s in known))
    scores = np.array([np.nan if s is None else s for s in known], dtype=np.float64)
    started = policy.clock()

    def compute(lo: int, hi: int) -> None:
        idx = [i for i in range(lo, hi) if i in todo_rows]
        if not idx:
            return
        t0 = policy.clock()
        got = reranker.score_ids([todo_rows[i] for i in idx])
        spent = policy.clock() - t0
        tokens = sum(costs[i] for i in idx)
        policy.observe(tokens, spent)
        scores[idx] = got
        policy.cache.put_many(model, question, [passages[i] for i in idx], got)
        report.computed += len(idx)
        report.tokens += tokens

    k = 0
    while policy.budget_s and policy.seconds_per_token is None and k < len(passages):
        # no estimate yet: score the floor, measure, then spend what is left of the budget
        hi = min(len(passages), k + max(policy.min_candidates, 1))
        compute(k, hi)
        k = hi
    end = policy.affordable(costs, spent_s=policy.clock() - started, start=k)
    if policy.seconds_per_token is not None and policy.budget_s:
        report.predicted_s = (policy.clock() - started) + sum(costs[k:end]) * policy.seconds_per_token
    compute(k, end)
    report.scored = end
    report.seconds = policy.clock() - started
    policy.last = report
    return scores[:end]
