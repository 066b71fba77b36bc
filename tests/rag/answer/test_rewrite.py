"""Follow-up questions made standalone with one non-streamed LLM call."""

from __future__ import annotations

import pytest

from rag.answer import rewrite_question
from tests.fake_openai_server import FakeOpenAIServer, Reply

HISTORY = [
    ("user", "Can the Customer terminate the MSA for convenience?"),
    ("assistant", "Yes, on ninety (90) days' prior written notice [1]."),
]


def test_rewrites_with_one_non_streamed_call(fake_openai: FakeOpenAIServer, openai_llm) -> None:
    fake_openai.queue(Reply(text="What notice period applies when the Customer terminates the MSA for convenience?"))
    out = rewrite_question("And what is the notice period?", HISTORY, openai_llm)
    assert out == "What notice period applies when the Customer terminates the MSA for convenience?"

    (req,) = fake_openai.chat_requests
    assert req.body["stream"] is False and req.body["temperature"] == 0.0 and req.body["max_tokens"] == 200
    system, user = req.message_text("system"), req.message_text("user")
    assert "standalone question" in system and "Do not answer it" in system and "language of the follow-up" in system
    assert "User: Can the Customer terminate the MSA for convenience?" in user
    assert "Assistant: Yes, on ninety (90) days' prior written notice [1]." in user
    assert user.endswith("Follow-up question: And what is the notice period?\n\nStandalone question:")


def test_without_history_nothing_is_sent(fake_openai, openai_llm) -> None:
    assert rewrite_question("What is the term?", [], openai_llm) == "What is the term?"
    assert fake_openai.chat_requests == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            'Standalone question: "What is the notice period for termination?"',
            "What is the notice period for termination?",
        ),
        (
            "<think>They mean the MSA.</think>\nWhat is the MSA's notice period?\nExtra line",
            "What is the MSA's notice period?",
        ),
        ("「终止的通知期是多久？」", "终止的通知期是多久？"),
    ],
)
def test_output_is_cleaned(fake_openai, openai_llm, raw, expected) -> None:
    fake_openai.queue(Reply(text=raw))
    assert rewrite_question("And the notice?", HISTORY, openai_llm) == expected


@pytest.mark.parametrize(
    "reply", [Reply(status=500), Reply(text=""), Reply(text="x" * 5000)], ids=["error", "empty", "rambling"]
)
def test_failures_fall_back_to_the_joined_questions(fake_openai, openai_llm, reply, caplog) -> None:
    fake_openai.queue(reply)
    out = rewrite_question("And the notice?", HISTORY, openai_llm)
    assert out == "Can the Customer terminate the MSA for convenience? And the notice?"
    assert "rewriting" in caplog.text
