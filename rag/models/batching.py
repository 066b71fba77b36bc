"""Length-sorted batches under a token budget, padded per batch.

Why: a transformer's cost grows with the padded batch size, so mixing a 40-token clause with a
500-token one in a batch wastes most of the work. Sorting by length and capping the padded size
(rows x longest row) keeps padding small and memory bounded, whatever the input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Padded tokens per forward batch of the text encoder and the reranker, by device and model width.
#: On CPU a wide model runs fastest in small batches: its matrix products are already efficient at a
#: few hundred rows, while a batch's activations (an XLM-R large layer's 4,096-wide feed-forward, its
#: attention scores) outgrow the caches as it grows. Measured on a 2-core AMD EPYC (bench/encode.py's
#: 48 CUAD passages, bench/reranker.py's 20 pairs): 512 tokens ran BGE-M3 1.3x as fast as 4,096 in
#: int8 (~810 against ~610 tokens/s), 1.2x in bf16 (~470 against ~400), 1.25x in fp32 (242 against
#: 193), and scored the pairs in 0.80x the time in int8, 0.78x in bf16; 256 and 1,024 were within
#: noise of 512. A narrow model is the other way round: all-MiniLM-L6-v2 (384 wide, 6 layers) ran
#: 9,900 tokens/s at 4,096 against 8,100 at 512, its per-batch overhead being the larger cost. Widths
#: between the two are not measured and keep the old 4,096.
CPU_TOKENS_PER_BATCH_WIDE = 512
CPU_TOKENS_PER_BATCH = 4096
CUDA_TOKENS_PER_BATCH = 32768
#: hidden size from which a model counts as wide (XLM-R large and BGE-M3: 1,024)
WIDE_HIDDEN_SIZE = 1024


def default_tokens_per_batch(device: str, hidden_size: int | None = None) -> int:
    """The padded-token budget per forward batch for ``device`` ("cpu", "cuda", "cuda:1", ...) and a
    model ``hidden_size`` wide (None: unknown, treated as narrow). The model factory is its one caller
    for the encoder and the reranker, so the rule lives here and nowhere else."""
    if device != "cpu":
        return CUDA_TOKENS_PER_BATCH
    return CPU_TOKENS_PER_BATCH_WIDE if (hidden_size or 0) >= WIDE_HIDDEN_SIZE else CPU_TOKENS_PER_BATCH


def plan_batches(lengths: Sequence[int], *, max_tokens: int, max_batch: int | None = None) -> list[list[int]]:
    """Group input indices into batches, longest first.

    Each batch's padded size (rows x its longest length) stays within ``max_tokens`` unless a single
    row is longer than that (it then goes alone); ``max_batch`` caps the rows per batch. The caller
    restores input order from the returned indices.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    if max_batch is not None and max_batch < 1:
        raise ValueError(f"batch_size must be positive, got {max_batch}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        n = lengths[i]
        width = max(longest, n)
        full = max_batch is not None and len(current) >= max_batch
        if current and (full or width * (len(current) + 1) > max_tokens):
            batches.append(current)
            current, width = [], n
        current.append(i)
        longest = width
    if current:
        batches.append(current)
    return batches


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """Right-pad token id rows into ``(input_ids, attention_mask)`` int64 tensors."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for j, r in enumerate(rows):
        ids[j, : len(r)] = torch.as_tensor(r, dtype=torch.long)
        mask[j, : len(r)] = 1
    return ids, mask
