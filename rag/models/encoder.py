"""The encoding loop every family shares: tokenize, length-sorted batches, forward, outputs in order.

Families differ only in what they read off the last hidden state (:meth:`Encoder._emit`): BGE-M3
adds sparse and ColBERT heads (:mod:`rag.models.bge_m3`), BGE v1 and sentence-transformers folders
pool one dense vector (:mod:`rag.models.dense`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.models.batching import pad_batch, plan_batches


@dataclass
class Encoded:
    """Outputs of :meth:`Encoder.encode`, in input order; outputs not requested are ``None``.

    ``dense``: ``[n, dim]`` float32, L2-normalised where the family normalises.
    ``sparse``: one ``{token_id: weight}`` per text (positive weights only).
    ``colbert``: one ``[tokens_i, colbert_dim]`` float32 array per text (all tokens but CLS).
    """

    dense: np.ndarray | None = None
    sparse: list[dict[int, float]] | None = None
    colbert: list[np.ndarray] | None = None


class Encoder(ABC):
    """A loaded text encoder. Build it with :func:`rag.models.load_encoder`.

    Capabilities: ``name``, ``family``, ``dim``, ``has_sparse``, ``has_colbert``, ``max_length``,
    ``tokenizer`` (the HF tokenizer), ``device``, ``dtype``, ``query_instruction``.
    """

    family: str = ""
    has_sparse: bool = False
    has_colbert: bool = False

    def __init__(
        self,
        *,
        name: str,
        folder: Path,
        model: Any,
        tokenizer: Any,
        device: str,
        dtype: str,
        dim: int,
        max_length: int,
        tokens_per_batch: int,
        query_instruction: str = "",
    ) -> None:
        self.name = name
        self.folder = folder
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.dtype = dtype
        self.dim = dim
        self.max_length = max_length
        self.query_instruction = query_instruction
        #: padded tokens per forward batch; the factory picks it for the device and the model's width
        #: (rag.models.batching.default_tokens_per_batch)
        self.tokens_per_batch = tokens_per_batch
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, family={self.family!r}, dim={self.dim}, "
            f"sparse={self.has_sparse}, colbert={self.has_colbert}, max_length={self.max_length}, "
            f"device={self.device!r}, dtype={self.dtype!r})"
        )

    # -- public -------------------------------------------------------------------------------
    def encode(
        self,
        texts: Sequence[str],
        dense: bool = True,
        sparse: bool = True,
        colbert: bool = False,
        *,
        query: bool = False,
        batch_size: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Encoded:
        """Encode ``texts``; computes only the outputs asked for.

        ``query=True`` prepends the family's query instruction (BGE v1) before tokenizing.
        ``batch_size`` caps texts per forward pass (batches also keep to ``tokens_per_batch``);
        ``progress(done, total)`` is called after each batch.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not a single str (wrap it in a list)")
        if not (dense or sparse or colbert):
            raise ValueError("nothing to compute: set at least one of dense, sparse, colbert")
        self._check_capabilities(sparse=sparse, colbert=colbert)
        texts = [self._prepare(t, query) for t in texts]
        n = len(texts)
        out = Encoded(
            dense=np.zeros((n, self.dim), dtype=np.float32) if dense else None,
            sparse=[{} for _ in range(n)] if sparse else None,
            colbert=[np.zeros((0, self.colbert_dim), dtype=np.float32) for _ in range(n)] if colbert else None,
        )
        if n == 0:
            return out
        import torch

        rows = self.tokenize(texts)
        done = 0
        with torch.inference_mode():
            for batch in plan_batches([len(r) for r in rows], max_tokens=self.tokens_per_batch, max_batch=batch_size):
                ids, mask = pad_batch([rows[i] for i in batch], self._pad_id)
                ids, mask = ids.to(self.device), mask.to(self.device)
                hidden = self._forward(ids, mask)
                self._emit(batch, hidden, ids, mask, out)
                done += len(batch)
                if progress is not None:
                    progress(done, n)
        return out

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with special tokens, truncated to ``max_length`` (what the model will see)."""
        enc = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            add_special_tokens=True,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return enc["input_ids"]

    @property
    def colbert_dim(self) -> int:
        return 0

    # -- for subclasses ------------------------------------------------------------------------
    def _prepare(self, text: str, query: bool) -> str:
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {type(text).__name__}")
        return self.query_instruction + text if query and self.query_instruction else text

    def _check_capabilities(self, *, sparse: bool, colbert: bool) -> None:
        for want, has, what in ((sparse, self.has_sparse, "sparse"), (colbert, self.has_colbert, "colbert")):
            if want and not has:
                raise ValueError(
                    f"{self.name} ({self.family}) has no {what} output; pass {what}=False "
                    f"(check enc.has_{what} before asking)"
                )

    def _forward(self, ids: Any, mask: Any) -> Any:
        """Last hidden state ``[B, L, H]`` in the weights' dtype; called under inference mode."""
        return self.model(input_ids=ids, attention_mask=mask).last_hidden_state

    @abstractmethod
    def _emit(self, batch: list[int], hidden: Any, ids: Any, mask: Any, out: Encoded) -> None:
        """Write the requested outputs of rows ``batch`` (input indices) into ``out``."""
