"""Cross-encoder reranker (bge-reranker-v2-m3, -base, -large): one logit per (query, passage).

Pairs are built as FlagEmbedding's ``BaseReranker`` builds them: the query is cut to 3/4 of
``max_length`` and the passage to ``max_length`` (both without special tokens), then joined with
the tokenizer's pair template and the passage alone trimmed so the pair fits ``max_length``.
Batches are length-sorted under a token budget and scores come back in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.models.batching import pad_batch, plan_batches


class Reranker:
    """A loaded cross-encoder. Build it with :func:`rag.models.load_reranker`.

    ``max_length``: tokens per pair (default 512); ``query_max_length``: tokens kept of the query
    (default ``max_length * 3 // 4``); ``passage_max_length``: optional cap on passage tokens.
    """

    def __init__(
        self,
        *,
        name: str,
        folder: Path,
        model: Any,
        tokenizer: Any,
        device: str,
        dtype: str,
        max_length: int,
        query_max_length: int | None = None,
        passage_max_length: int | None = None,
        tokens_per_batch: int,
    ) -> None:
        self.name = name
        self.folder = folder
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.dtype = dtype
        self.max_length = max_length
        self.query_max_length = query_max_length or max_length * 3 // 4
        self.passage_max_length = passage_max_length
        #: padded tokens per forward batch; the factory picks it for the device and the model's width
        #: (rag.models.batching.default_tokens_per_batch)
        self.tokens_per_batch = tokens_per_batch
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._prefix, self._middle, self._suffix = _pair_template(tokenizer)
        #: latency budget, candidate floor and score cache of the retrieval pipeline's rerank stage,
        #: set on first use by :func:`rag.retrieve.rerank_budget.policy_for`
        self.policy: Any = None

    def __repr__(self) -> str:
        return (
            f"Reranker(name={self.name!r}, max_length={self.max_length}, device={self.device!r}, dtype={self.dtype!r})"
        )

    def pair_ids(self, pairs: Sequence[tuple[str, str]], *, max_passage_tokens: int | None = None) -> list[list[int]]:
        """Token ids of each (query, passage) pair as the model sees them."""
        if not pairs:
            return []
        queries = [q for q, _ in pairs]
        passages = [p for _, p in pairs]
        cap = min(x for x in (self.max_length, self.passage_max_length, max_passage_tokens) if x is not None)
        q_ids = self._ids(queries, self.query_max_length)
        p_ids = self._ids(passages, cap)
        n_special = len(self._prefix) + len(self._middle) + len(self._suffix)
        rows = []
        for q, p in zip(q_ids, p_ids):
            room = self.max_length - n_special - len(q)
            if len(p) > room > 0:
                p = p[:room]
            rows.append(self._prefix + q + self._middle + p + self._suffix)
        return rows

    def score(
        self,
        pairs: Sequence[tuple[str, str]],
        normalize: bool = False,
        *,
        batch_size: int | None = None,
        max_passage_tokens: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Relevance of each pair, ``[n]`` float32: raw logits, or sigmoid scores with ``normalize=True``."""
        pairs = list(pairs)
        for pair in pairs:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise TypeError(f"pairs must be (query, passage) string tuples, got {pair!r}")
        scores = np.zeros(len(pairs), dtype=np.float32)
        if not pairs:
            return scores
        scores = self.score_ids(self.pair_ids(pairs, max_passage_tokens=max_passage_tokens),
                                batch_size=batch_size, progress=progress)
        if normalize:
            scores = (1.0 / (1.0 + np.exp(-scores.astype(np.float64)))).astype(np.float32)
        return scores

    def score_ids(
        self,
        rows: Sequence[Sequence[int]],
        *,
        batch_size: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Raw logits ``[n]`` float32 of pairs already tokenized by :meth:`pair_ids`.

        Rows go through the model in length-sorted batches under ``tokens_per_batch`` padded tokens
        (FlagEmbedding pads fixed batches of 128 to their longest row and runs the first one twice).
        """
        import torch

        scores = np.zeros(len(rows), dtype=np.float32)
        done = 0
        with torch.inference_mode():
            for batch in plan_batches([len(r) for r in rows], max_tokens=self.tokens_per_batch, max_batch=batch_size):
                ids, mask = pad_batch([rows[i] for i in batch], self._pad_id)
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                scores[batch] = logits[:, 0].float().cpu().numpy()
                done += len(batch)
                if progress is not None:
                    progress(done, len(rows))
        return scores

    def _ids(self, texts: list[str], max_length: int) -> list[list[int]]:
        return self.tokenizer(
            texts, add_special_tokens=False, truncation=True, max_length=max_length, return_attention_mask=False
        )["input_ids"]


def _pair_template(tokenizer: Any) -> tuple[list[int], list[int], list[int]]:
    """Special tokens before, between and after a pair, read off the tokenizer's own pair encoding.

    XLM-R gives ``<s> A </s></s> B </s>``, BERT ``[CLS] A [SEP] B [SEP]``.
    """
    enc = tokenizer("a", "b", add_special_tokens=True)
    seq = enc.sequence_ids()
    ids = enc["input_ids"]
    prefix, middle, suffix = [], [], []
    seen = set()
    for token, which in zip(ids, seq):
        if which is None:
            (prefix if not seen else middle if seen == {0} else suffix).append(token)
        else:
            seen.add(which)
    return prefix, middle, suffix
