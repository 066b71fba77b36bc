"""Reranker scores of questions already asked: a repeated question costs no cross-encoder pass.

Why: on a CPU the cross-encoder is most of the time to the first source (about a second per
512-token pair with bge-reranker-v2-m3 on 2 cores), and users repeat and rephrase-back questions.
A score depends only on the model, the question and the passage text, so the key is exactly
that: a changed chunk (re-ingested document) has another text and is scored again, and nothing
needs invalidating when a collection changes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence


def _key(model: str, question: str, passage: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in (model, " ".join(question.split()), passage):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


class ScoreCache:
    """A thread-safe LRU of ``(model, question, passage) -> score``; ``capacity=0`` disables it.

    Questions are compared after collapsing whitespace, passages exactly.
    """

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 0:
            raise ValueError(f"cache capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self._data: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def get_many(self, model: str, question: str, passages: Sequence[str]) -> list[float | None]:
        """The cached score of each passage, ``None`` where there is none."""
        out: list[float | None] = []
        with self._lock:
            for p in passages:
                k = _key(model, question, p)
                score = self._data.get(k)
                if score is None:
                    self.misses += 1
                else:
                    self._data.move_to_end(k)
                    self.hits += 1
                out.append(score)
        return out

    def put_many(self, model: str, question: str, passages: Sequence[str], scores: Sequence[float]) -> None:
        if self.capacity == 0:
            return
        with self._lock:
            for p, s in zip(passages, scores):
                k = _key(model, question, p)
                self._data[k] = float(s)
                self._data.move_to_end(k)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0
