"""What every backend returns: an iterator of text pieces plus metadata filled in as it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass


@dataclass
class GenerationInfo:
    """Final metadata of one generation; complete once the pieces are exhausted."""

    model: str = ""
    #: "stop", "length" (cut at the token limit), ... as the backend reports it.
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Generation(Iterator[str]):
    """Streamed text pieces; ``info`` is final after iteration, ``close()`` stops early."""

    def __init__(
        self,
        pieces: Iterable[str],
        info: GenerationInfo | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._pieces = iter(pieces)
        self.info = info if info is not None else GenerationInfo()
        self._on_close = on_close
        self._closed = False

    def __iter__(self) -> Generation:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def text(self) -> str:
        """Consume the rest of the pieces and return them joined."""
        return "".join(self)

    def close(self) -> None:
        """Stop generating (frees the connection or the generating thread); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()
        if self._on_close is not None:
            self._on_close()


_OPEN, _CLOSE = "<think>", "</think>"


def strip_thinking(pieces: Iterable[str]) -> Iterator[str]:
    """Drop a leading ``<think>…</think>`` block that reasoning models put before the answer.

    Models such as Qwen3 or DeepSeek-R1 behind vLLM/Ollama often send their reasoning inline;
    it is not part of the answer and must not be checked as one. Only a block at the very
    start (after whitespace) is removed; pieces may split the tags anywhere.
    """
    buf = ""
    state = "start"  # start -> (thinking -> after ->) passthrough
    for piece in pieces:
        if state == "passthrough":
            yield piece
            continue
        if state == "after":  # skip the blank lines between the reasoning and the answer
            piece = piece.lstrip()
            if piece:
                state = "passthrough"
                yield piece
            continue
        buf += piece
        if state == "start":
            head = buf.lstrip()
            if head.startswith(_OPEN):
                state = "thinking"
            elif _OPEN.startswith(head):
                continue  # could still become "<think>"
            else:
                state = "passthrough"
                yield buf
                buf = ""
                continue
        if state == "thinking":
            end = buf.find(_CLOSE)
            if end < 0:
                continue
            rest = buf[end + len(_CLOSE) :].lstrip()
            buf = ""
            state = "passthrough" if rest else "after"
            if rest:
                yield rest
    if state == "start" and buf:
        yield buf
