"""Generation plumbing: reasoning blocks removed from streams, early close."""

from __future__ import annotations

import pytest

from rag.answer import Generation
from rag.answer.generation import strip_thinking


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["Hello ", "world"], "Hello world"),
        (["<think>", "plan", "</think>", "Answer [1]."], "Answer [1]."),
        (["  <th", "ink>a</th", "ink>\n", "\n", "Answer"], "Answer"),
        (["<thinking is fun"], "<thinking is fun"),  # not a reasoning block
        (["<", "b>bold</b>"], "<b>bold</b>"),
        (["Answer <think>inline</think> stays"], "Answer <think>inline</think> stays"),
        (["<think>never closed"], ""),
        (["<"], "<"),
    ],
)
def test_strip_thinking(pieces: list[str], expected: str) -> None:
    assert "".join(strip_thinking(pieces)) == expected


def test_strip_thinking_streams_after_the_block() -> None:
    out = list(strip_thinking(["<think>x</think>", "a", "b", "c"]))
    assert out == ["a", "b", "c"]


def test_close_runs_the_hook_once() -> None:
    calls: list[int] = []
    gen = Generation(iter(["a", "b"]), on_close=lambda: calls.append(1))
    assert next(gen) == "a"
    gen.close()
    gen.close()
    assert calls == [1]
    assert gen.info.finish_reason is None
