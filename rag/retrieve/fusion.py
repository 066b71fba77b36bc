"""Fusing the dense and sparse channels into one ranking.

Two methods, both over the union of the channels' candidates:
- ``weighted``: BGE-M3's weighted sum ``w_dense * dense + w_sparse * sparse`` (the official
  evaluations used 1 / 0.3). M3's lexical scores live on the same small scale as cosine
  similarities, so they are used raw. BM25 scores are unbounded, so the BM25 fallback channel
  is first divided by the best BM25 score among the candidates (its scale then matches a
  cosine's 0..1). A candidate that one channel did not return gets that channel's exact score
  when the caller can compute it, else 0.
- ``rrf``: reciprocal-rank fusion, ``sum 1 / (k + rank)`` over the channels (k = 60).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Channel:
    """One channel's scores for the candidate ids (``nan`` where the channel has no score)."""

    name: str
    scores: np.ndarray  # float, aligned with the candidate ids
    weight: float
    normalise_by_max: bool = False


def weighted_sum(channels: list[Channel]) -> np.ndarray:
    """Weighted sum of channel scores; missing (nan) scores count as 0."""
    total = np.zeros_like(channels[0].scores, dtype=np.float64)
    for ch in channels:
        s = np.nan_to_num(ch.scores.astype(np.float64), nan=0.0)
        if ch.normalise_by_max:
            top = s.max(initial=0.0)
            if top > 0:
                s = s / top
        total += ch.weight * s
    return total


def reciprocal_rank(channels: list[Channel], k: int = 60) -> np.ndarray:
    """RRF: each channel adds ``weight / (k + rank)``, ranks 1-based over its own scored ids."""
    total = np.zeros_like(channels[0].scores, dtype=np.float64)
    for ch in channels:
        s = ch.scores.astype(np.float64)
        scored = ~np.isnan(s)
        order = np.argsort(-np.where(scored, s, -np.inf), kind="stable")
        ranks = np.empty(len(s), dtype=np.float64)
        ranks[order] = np.arange(1, len(s) + 1)
        total += np.where(scored, ch.weight / (k + ranks), 0.0)
    return total


def fuse(channels: list[Channel], method: str = "weighted", rrf_k: int = 60) -> np.ndarray:
    """Fused scores for the candidates, by ``method`` (``weighted`` or ``rrf``)."""
    if not channels:
        raise ValueError("fuse needs at least one channel")
    if method == "weighted":
        return weighted_sum(channels)
    if method == "rrf":
        return reciprocal_rank(channels, rrf_k)
    raise ValueError(f"unknown fusion method {method!r}: use 'weighted' or 'rrf'")
