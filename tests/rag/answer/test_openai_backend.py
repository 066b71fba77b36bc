"""The OpenAI-compatible backend against a real local HTTP server, through the real openai client."""

from __future__ import annotations

import logging

import pytest

from rag.answer import LLMError, LLMOptions, answer, make_llm
from rag.answer.llm import ChatLLM
from rag.config import Settings
from tests.fake_openai_server import FakeOpenAIServer, Reply, unused_port
from tests.rag.answer.helpers import API_KEY, FAST, openai_settings


def test_streams_pieces_and_sends_the_configured_request(fake_openai: FakeOpenAIServer, contract_hits) -> None:
    fake_openai.queue(Reply(text="Either party may terminate on 90 days' notice [1].", piece_delay_s=0.01))
    llm = make_llm(
        openai_settings(fake_openai), options=LLMOptions(temperature=0.3, max_tokens=77, timeout_s=5, max_retries=0)
    )
    stream = answer("Can we terminate for convenience?", contract_hits, llm)
    pieces = list(stream)
    result = stream.result

    assert len(pieces) > 3  # streamed piece by piece, not in one block
    assert "".join(pieces) == result.text == "Either party may terminate on 90 days' notice [1]."
    assert result.error is None and result.issues == [] and result.ok
    assert result.backend == "openai" and result.model == "fake-model" and result.finish_reason == "stop"
    assert [c.n for c in result.citations] == [1, 2, 3]
    assert [c.cited for c in result.citations] == [True, False, False]
    assert result.hits == contract_hits

    (req,) = fake_openai.chat_requests
    assert req.body["model"] == "fake-model"
    assert req.body["stream"] is True
    assert req.body["temperature"] == 0.3
    assert req.body["max_tokens"] == 77
    assert req.headers["authorization"] == f"Bearer {API_KEY}"


def test_citations_are_available_before_streaming(openai_llm, contract_hits) -> None:
    stream = answer("Can we terminate?", contract_hits, openai_llm)
    assert [(c.n, c.hit.chunk.clause, c.cited) for c in stream.citations] == [
        (1, "12.3", False),
        (2, "9.1", False),
        (3, "18", False),
    ]
    with pytest.raises(RuntimeError, match="not finished"):
        _ = stream.result
    list(stream)


def test_wrong_citation_and_made_up_quote_are_flagged(fake_openai: FakeOpenAIServer, openai_llm, contract_hits) -> None:
    fake_openai.queue(
        Reply(
            text=(
                "Either party may terminate \u201cupon ninety (90) days' prior written notice\u201d [1]. "
                'The Customer must also pay "a termination fee of 50,000 dollars" [1]. '
                "Disputes go to arbitration in London [7]."
            )
        )
    )
    stream = answer("How can the agreement be terminated?", contract_hits, openai_llm)
    list(stream)
    result = stream.result

    kinds = sorted(i.kind for i in result.issues)
    assert kinds == ["quote_not_in_cited_block", "unknown_block"]
    unknown = next(i for i in result.issues if i.kind == "unknown_block")
    assert unknown.n == 7 and "[7]" in unknown.message
    made_up = next(i for i in result.issues if i.kind == "quote_not_in_cited_block")
    assert made_up.quote == "a termination fee of 50,000 dollars"
    assert not result.ok and result.error is None
    assert result.citations[0].cited


@pytest.mark.parametrize(
    ("reply", "kind", "status", "words"),
    [
        (Reply(status=429, headers={"retry-after-ms": "10"}), "rate_limit", 429, ["rate-limiting", "429"]),
        (Reply(status=500), "server", 500, ["HTTP 500", "error while processing"]),
        (Reply(status=503), "server", 503, ["HTTP 503"]),
        (
            Reply(status=400, error="This model's maximum context length is 4096 tokens"),
            "bad_request",
            400,
            ["maximum context length"],
        ),
        (Reply(delay_s=3.0), "timeout", None, ["did not answer within 1 s"]),
        (Reply(text="one two three four five", cut_after=2), "stream", None, ["stopped midway", "connection closed"]),
        (
            Reply(text="one two three four five", end_after=3),
            "stream",
            None,
            ["stopped midway", "without a finish reason"],
        ),
        (Reply(text="one two three four five", error_event_after=2), "stream", None, ["model crashed"]),
        (Reply(text="one two three", piece_delay_s=3.0), "timeout", None, ["stalled", "no data for 1 s"]),
    ],
    ids=["429", "500", "503", "400", "timeout", "cut", "no-finish", "error-event", "stall"],
)
def test_server_failures_end_the_stream_cleanly(
    fake_openai, openai_llm, contract_hits, reply, kind, status, words
) -> None:
    fake_openai.queue(reply)
    stream = answer("Can we terminate?", contract_hits, openai_llm)
    text = "".join(stream)  # must not raise
    result = stream.result

    assert result.error is not None and result.error_kind == kind
    for word in words:
        assert word in result.error
    assert fake_openai.base_url in result.error
    assert len(result.citations) == 3 and result.hits == contract_hits  # sources survive the failure
    assert result.text == text
    if kind == "stream" and reply.text.startswith("one"):
        assert text.startswith("one ")  # what arrived before the failure is kept
    assert API_KEY not in result.error


def test_connection_refused_names_the_endpoint(contract_hits) -> None:
    url = f"http://127.0.0.1:{unused_port()}/v1"
    llm = make_llm(Settings(llm_base_url=url, llm_model="m", llm_api_key=API_KEY), options=FAST)
    stream = answer("Can we terminate?", contract_hits, llm)
    assert list(stream) == []
    assert stream.result.error == f"LLM endpoint refused the connection at {url} (is the server running?)"
    assert stream.result.error_kind == "connection"
    assert len(stream.result.citations) == 3


def test_unknown_model_is_a_clear_404(fake_openai, contract_hits) -> None:
    llm = make_llm(openai_settings(fake_openai, llm_model="llama-9000"), options=FAST)
    stream = answer("Can we terminate?", contract_hits, llm)
    list(stream)
    error = stream.result.error
    assert stream.result.error_kind == "not_found"
    assert "'llama-9000' was not found" in error and "HTTP 404" in error and "/v1" in error


def test_wrong_key_is_rejected_and_never_shown(fake_openai, contract_hits, caplog) -> None:
    wrong = "sk-wrong-key-do-not-show-0000"
    llm = make_llm(openai_settings(fake_openai, llm_api_key=wrong), options=FAST)
    with caplog.at_level(logging.DEBUG):
        stream = answer("Can we terminate?", contract_hits, llm)
        list(stream)
    result = stream.result
    assert result.error_kind == "auth" and "HTTP 401" in result.error and "RAG_LLM_API_KEY" in result.error
    # the fake server echoes the key it received in its error body; it must be scrubbed everywhere
    assert "Incorrect API key provided" in result.error
    assert wrong not in result.error and "do-not-show" not in result.error
    assert wrong not in caplog.text and "do-not-show" not in caplog.text


def test_retries_follow_the_options(fake_openai, contract_hits) -> None:
    fake_openai.queue(Reply(status=500, headers={"retry-after-ms": "10"}), Reply(text="Recovered [1]."))
    llm = make_llm(openai_settings(fake_openai), options=LLMOptions(timeout_s=2, max_retries=1))
    stream = answer("Can we terminate?", contract_hits, llm)
    assert "".join(stream) == "Recovered [1]."
    assert stream.result.error is None
    assert len(fake_openai.chat_requests) == 2


def test_closing_early_keeps_the_partial_result(fake_openai, openai_llm, contract_hits) -> None:
    fake_openai.queue(Reply(text="one two three four five six [1]."))
    stream = answer("Can we terminate?", contract_hits, openai_llm)
    first = next(stream)
    stream.close()
    assert stream.result.text == first and stream.result.error is None


def test_reasoning_block_is_not_part_of_the_answer(fake_openai, openai_llm, contract_hits) -> None:
    fake_openai.queue(Reply(pieces=["<thi", 'nk>The user asks about [9] "made up"', "</think>\n\n", "Yes [1]."]))
    stream = answer("Can we terminate?", contract_hits, openai_llm)
    assert "".join(stream) == "Yes [1]."
    assert stream.result.issues == []


def test_complete_is_one_non_streamed_call(fake_openai, openai_llm) -> None:
    fake_openai.queue(Reply(text="a whole completion"))
    assert isinstance(openai_llm, ChatLLM)
    assert (
        openai_llm.complete([{"role": "user", "content": "hi"}], max_tokens=5, temperature=0.0) == "a whole completion"
    )
    (req,) = fake_openai.chat_requests
    assert req.body["stream"] is False and req.body["max_tokens"] == 5


def test_complete_errors_raise_llm_error(fake_openai, openai_llm) -> None:
    fake_openai.queue(Reply(status=500))
    with pytest.raises(LLMError, match="HTTP 500") as info:
        openai_llm.complete([{"role": "user", "content": "hi"}])
    assert info.value.kind == "server" and info.value.status == 500


def test_missing_model_is_a_config_error() -> None:
    with pytest.raises(LLMError, match="RAG_LLM_MODEL") as info:
        make_llm(Settings(llm_base_url="http://127.0.0.1:1/v1"), backend="openai")
    assert info.value.kind == "config"


def test_credentials_in_the_base_url_are_not_shown(contract_hits) -> None:
    port = unused_port()
    llm = make_llm(Settings(llm_base_url=f"http://user:hunter2@127.0.0.1:{port}/v1", llm_model="m"), options=FAST)
    stream = answer("q", contract_hits, llm)
    list(stream)
    assert "hunter2" not in stream.result.error and f"127.0.0.1:{port}/v1" in stream.result.error
