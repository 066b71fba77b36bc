"""Length-sorted batches under a token budget, padded per batch.

Why: a transformer's cost grows with the padded batch size, so mixing a 40-token clause with a
500-token one in a batch wastes most of the work. Sorting by length and capping the padded size
(rows x longest row) keeps padding small and memory bounded, whatever the input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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
