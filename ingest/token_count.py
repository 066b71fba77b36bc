"""Counting a text's model tokens, and langchain's recursive splitter sized in them (chunking's tools).

Chunk sizes are measured in the encoder's tokens. Counting a span must be cheap (the chunker
asks for thousands of spans per document), so one tokenizer pass gives every token's offset and
a span's count is two bisections; the splitter that cuts long clauses measures with the same
tokenizer through a cached length function.
"""

from __future__ import annotations

import bisect
import copy
import functools
import math
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["_TokenCounter", "_backend", "_splitter"]


def _backend(tokenizer: Any) -> Any | None:
    """The Rust ``tokenizers.Tokenizer`` behind a fast Hugging Face tokenizer, without
    truncation or padding (those would cap counts); ``None`` for slow tokenizers."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "encode"):
        return None
    if backend.truncation is not None or backend.padding is not None:
        backend = copy.deepcopy(backend)
        backend.no_truncation()
        backend.no_padding()
    return backend


class _TokenCounter:
    """Token counts of arbitrary spans of one text from a single tokenizer pass.

    A fast tokenizer gives each token's character offsets; the count of a span is then the
    number of tokens starting inside it (two bisections). Tokenizers without offsets count
    span by span. Without a tokenizer a token is 4 characters.
    """

    def __init__(self, text: str, tokenizer: Any | None) -> None:
        self.text = text
        self.tokenizer = tokenizer
        self.starts: list[int] | None = None
        if tokenizer is None:
            return
        backend = _backend(tokenizer)
        if backend is not None:
            offsets = backend.encode(text, add_special_tokens=False).offsets
        else:
            try:
                offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)[
                    "offset_mapping"
                ]
            except (NotImplementedError, TypeError, ValueError):
                return  # a slow tokenizer: count per span
        self.starts = [s for s, e in offsets if e > s]

    def count(self, start: int, end: int) -> int:
        if self.tokenizer is None:
            return math.ceil((end - start) / 4)
        if self.starts is not None:
            return bisect.bisect_left(self.starts, end) - bisect.bisect_left(self.starts, start)
        return len(self.tokenizer.tokenize(self.text[start:end]))


class SplitSizes(Protocol):
    """What the splitter reads of a chunking configuration (``ingest.chunking.ChunkingConfig``),
    named here so that this module does not import the one that imports it."""

    @property
    def target_tokens(self) -> int: ...

    @property
    def split_divisor(self) -> int: ...

    @property
    def separators(self) -> Sequence[str]: ...


def _splitter(tokenizer: Any | None, config: SplitSizes) -> Any:
    """langchain's recursive splitter sized in model tokens.

    For a fast tokenizer the length function counts the same tokens as
    ``from_huggingface_tokenizer`` (``len(tokenizer.tokenize(s))``) straight from its Rust
    backend, with a cache: the splitter measures the same small strings many times and the
    ``transformers`` wrapper costs ~70 µs a call, which made a 150-page contract take seconds.
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    kwargs: dict[str, Any] = dict(
        chunk_size=max(config.target_tokens // config.split_divisor, 8),
        chunk_overlap=0,
        separators=list(config.separators),
        is_separator_regex=True,
        keep_separator="end",
        strip_whitespace=True,
    )
    if tokenizer is None:
        return RecursiveCharacterTextSplitter(length_function=lambda s: math.ceil(len(s) / 4), **kwargs)
    backend = _backend(tokenizer)
    if backend is None:
        return RecursiveCharacterTextSplitter.from_huggingface_tokenizer(tokenizer, **kwargs)

    @functools.lru_cache(maxsize=1 << 16)
    def n_tokens(s: str) -> int:
        return len(backend.encode(s, add_special_tokens=False).ids)

    return RecursiveCharacterTextSplitter(length_function=n_tokens, **kwargs)
